require ["date", "index", "fileinto", "variables"];
if date :index 1 :zone "+0000" :matches "received" "time" "*" { fileinto "First-${1}"; }
if date :index 3 :zone "+0000" :matches "received" "date" "*" { fileinto "Third-${1}"; }
if date :index 1 :last :zone "+0000" :matches "received" "date" "*" { fileinto "LastIsThird-${1}"; }
if date :index 4 :matches "received" "date" "*" { fileinto "NoFourth"; }
