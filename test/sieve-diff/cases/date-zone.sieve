require ["date", "fileinto", "variables"];
if date :zone "+0000" :matches "date" "iso8601" "*" { fileinto "Utc-${1}"; }
if date :zone "+0530" :matches "date" "time" "*" { fileinto "India-${1}"; }
if date :originalzone :matches "date" "zone" "*" { fileinto "Orig-${1}"; }
