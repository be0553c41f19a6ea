require "fileinto";
if header :matches "subject" "Meeting tomorro?" { fileinto "OneChar"; }
if header :matches "subject" "Meeting tomorrow?" { fileinto "TooMany"; }
if header :matches "subject" "????????????????" { fileinto "Sixteen"; }
if header :matches "subject" "*" { fileinto "Star"; }
