require ["date", "fileinto", "variables"];
if date :zone "+0000" :matches "resent-date" "date" "*" { fileinto "ResentUtc-${1}"; }
