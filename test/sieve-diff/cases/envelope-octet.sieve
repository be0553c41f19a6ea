require ["envelope", "fileinto"];
if envelope :comparator "i;octet" :is "from" "alice@example.org" { fileinto "OctetExact"; }
if envelope :comparator "i;octet" :is "from" "Alice@example.org" { fileinto "OctetUpper"; }
if envelope :localpart :comparator "i;octet" :contains "to" "bob" { fileinto "OctetLocal"; }
