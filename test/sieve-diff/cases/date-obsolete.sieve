require ["date", "fileinto", "variables"];
if date :originalzone :matches "x-old-date" "iso8601" "*" { fileinto "Old-${1}"; }
