require ["variables", "fileinto", "relational", "comparator-i;ascii-numeric"];
set "x" "Hello World";
if string :contains "${x}" "World" { fileinto "Contains"; }
if string :is "${nothing}" "" { fileinto "EmptyIs"; }
if string :matches ["a", "${x}"] "*o W*" { fileinto "List"; }
if string :count "eq" :comparator "i;ascii-numeric" ["", "b", "c"] "2" { fileinto "CountSkipsEmpty"; }
