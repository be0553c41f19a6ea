require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :count "eq" :comparator "i;ascii-numeric" "x-missing" "0" { fileinto "ZeroMissing"; }
if header :count "eq" :comparator "i;ascii-numeric" "x-empty" "1" { fileinto "EmptyCountsOne"; }
