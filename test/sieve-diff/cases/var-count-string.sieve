require ["variables", "fileinto", "relational", "comparator-i;ascii-numeric"];
set "a" "";
set "b" "x";
if string :count "eq" :comparator "i;ascii-numeric" ["${a}", "${b}", "${undefined}"] "1" { fileinto "OneNonEmpty"; }
if string :value "gt" :comparator "i;ascii-numeric" "10" "9" { fileinto "NumericTenGtNine"; }
if string :value "gt" "10" "9" { fileinto "CasemapTenGtNine"; }
