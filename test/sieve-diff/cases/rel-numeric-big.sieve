require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :value "gt" :comparator "i;ascii-numeric" "x-big" "18446744073709551616" { fileinto "BigGt"; }
if header :value "eq" :comparator "i;ascii-numeric" "x-big" "018446744073709551617" { fileinto "BigEqLeadingZero"; }
