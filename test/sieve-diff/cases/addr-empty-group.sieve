require ["fileinto", "relational", "comparator-i;ascii-numeric"];
if address :count "eq" :comparator "i;ascii-numeric" "cc" "0" { fileinto "EmptyGroupNoAddress"; }
if exists "cc" { fileinto "CcExists"; }
