require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :count "eq" :comparator "i;ascii-numeric" "received" "3" { fileinto "ThreeReceived"; }
if address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] "3" { fileinto "ManyRecipients"; }
if header :count "eq" :comparator "i;ascii-numeric" "x-tag" "3" { fileinto "ThreeTags"; }
