require "fileinto";
if header :is "Subject" "MiXeD CaSe" { fileinto "NameFolded"; }
if header :contains "X-LOWER" "value" { fileinto "LowerField"; }
if address :is "from" "peggy@example.org" { fileinto "AddressCasemap"; }
if address :is :comparator "i;octet" :localpart "from" "PEGGY" { fileinto "OctetLocal"; }
