require ["variables", "fileinto"];
if header :matches "subject" "*" { set :length "n" "${1}"; }
set :length "e" "ÄÖÜ";
fileinto "n=${n} e=${e}";
