require "fileinto";
if header :matches "subject" "*50% off\\? \\*really\\** \\\\o/*" { fileinto "Escaped"; }
if header :matches "x-path" "C:\\\\Temp\\\\file\\?.txt" { fileinto "Backslashes"; }
if header :matches "x-star" "\\*" { fileinto "LiteralStar"; }
if header :matches "x-star" "\\?" { fileinto "NotQuestion"; }
