require ["relational", "fileinto"];
if header :value "gt" "subject" "M" { fileinto "AfterM"; }
if header :value "lt" :comparator "i;octet" "subject" "a" { fileinto "OctetBeforeLowerA"; }
if header :value "ne" "subject" "meeting tomorrow" { fileinto "NeCasemap"; }
