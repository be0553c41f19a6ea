require ["fileinto", "variables"];
if address :localpart :is "from" "john.doe" { fileinto "Local"; }
if address :domain :is "from" "example.org" { fileinto "Domain"; }
if address :all :is "from" "john.doe@example.org" { fileinto "All"; }
