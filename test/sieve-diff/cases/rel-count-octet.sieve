# :count with the default comparator i;ascii-casemap compares the decimal string: "10" < "9".
require ["relational", "fileinto"];
if header :count "lt" "received" "9" { fileinto "CountStringLess"; }
if header :count "gt" "received" "10" { fileinto "CountGt10AsString"; }
