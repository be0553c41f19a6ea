require ["fileinto", "relational", "comparator-i;ascii-numeric"];
if address :count "eq" :comparator "i;ascii-numeric" "to" "1" { fileinto "OneAddress"; }
if address :all :is "to" "bob@example.com" { fileinto "Bob"; }
