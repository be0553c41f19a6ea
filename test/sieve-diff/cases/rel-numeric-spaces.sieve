# Leading white space is removed from header values before comparing (RFC 5228 §5.7).
require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :value "eq" :comparator "i;ascii-numeric" "x-spaces" "42" { fileinto "SpacesEq42"; }
if header :is "x-spaces" "42" { fileinto "SpacesIs42"; }
