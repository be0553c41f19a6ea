require ["fileinto", "relational", "comparator-i;ascii-numeric"];
if header :is "subject" "Second subject" { fileinto "SecondSeen"; }
if header :count "eq" :comparator "i;ascii-numeric" "subject" "2" { fileinto "TwoSubjects"; }
