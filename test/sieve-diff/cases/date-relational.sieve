require ["date", "relational", "fileinto"];
if date :value "ge" :originalzone "date" "date" "2026-03-08" { fileinto "OnOrAfter8th"; }
if date :value "lt" :zone "+0000" "date" "hour" "05" { fileinto "BeforeFiveUtc"; }
