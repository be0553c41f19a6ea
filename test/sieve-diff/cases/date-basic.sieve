require ["date", "fileinto", "variables"];
if date :is "date" "year" "2026" { fileinto "Year2026"; }
if date :matches "date" "date" "*" { fileinto "Date-${1}"; }
if date :matches "date" "time" "*" { fileinto "Time-${1}"; }
