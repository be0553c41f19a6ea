# i;ascii-numeric: a value that does not start with a digit is positive infinity (RFC 4790 §9.1).
require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :value "gt" :comparator "i;ascii-numeric" "x-text" "99999" { fileinto "TextIsInfinity"; }
if header :value "eq" :comparator "i;ascii-numeric" "x-text" "x-neg" { fileinto "TwoInfinities"; }
if header :value "ge" :comparator "i;ascii-numeric" "x-empty" "0" { fileinto "EmptyIsInfinity"; }
