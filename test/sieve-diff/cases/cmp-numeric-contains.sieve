# i;ascii-numeric supports only equality and ordering: :contains is a compile error.
require ["comparator-i;ascii-numeric"];
if header :contains :comparator "i;ascii-numeric" "x-score" "7" { discard; }
