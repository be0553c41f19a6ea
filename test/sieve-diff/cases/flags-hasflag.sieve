require ["imap4flags", "fileinto", "variables", "relational", "comparator-i;ascii-numeric"];
setflag "\\Seen $Important";
if hasflag :is "\\seen" { fileinto "SeenSet"; }
if hasflag :contains "$imp" { fileinto "ContainsImp"; }
set "v" "a b c";
if hasflag "v" "B" { fileinto "VarHasB"; }
if hasflag :count "ge" :comparator "i;ascii-numeric" "2" { fileinto "TwoOrMore"; }
