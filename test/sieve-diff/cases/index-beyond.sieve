require ["index", "fileinto"];
if header :index 9 :matches "x-tag" "*" { fileinto "NinthTag"; }
if header :index 3 :last :is "x-tag" "red" { fileinto "ThirdFromEndIsRed"; }
