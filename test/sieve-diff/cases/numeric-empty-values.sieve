require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :value "eq" :comparator "i;ascii-numeric" "x-empty" "" { fileinto "EmptyEqEmpty"; }
if header :value "lt" :comparator "i;ascii-numeric" "x-count" "" { fileinto "NumberLtInfinity"; }
if header :value "le" :comparator "i;ascii-numeric" "x-count" "2" { fileinto "SomeCountLe2"; }
