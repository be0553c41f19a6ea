require ["envelope", "fileinto"];
if envelope :is "from" "alice@example.org" { fileinto "FromAlice"; }
if envelope :domain :is "from" "EXAMPLE.ORG" { fileinto "DomainOrg"; }
if envelope :localpart :matches "from" "a*" { fileinto "LocalA"; }
