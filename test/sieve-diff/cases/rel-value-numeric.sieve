require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :value "gt" :comparator "i;ascii-numeric" "x-priority" "2" { fileinto "PriorityGt2"; }
if header :value "eq" :comparator "i;ascii-numeric" "x-score" "7" { fileinto "ScoreEq7"; }
if header :value "lt" :comparator "i;ascii-numeric" "x-neg" "1" { fileinto "NegLt1"; }
