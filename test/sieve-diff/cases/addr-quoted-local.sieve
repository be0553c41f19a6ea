require ["fileinto", "variables"];
if address :localpart :matches "from" "*" { fileinto "Local[${1}]"; }
if address :all :is "to" "odd@example.com" { fileinto "CommaInName"; }
if address :domain :is "to" "EXAMPLE.COM" { fileinto "DomainCasemap"; }
