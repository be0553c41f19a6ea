require "relational";
if header :value "eq" :comparator "i;ascii-numeric" "x-score" "7" { discard; }
