require ["fileinto", "variables"];
if address :all :is "from" "\"John Smith\"@example.org" { fileinto "QuotedAll"; }
if address :all :matches "from" "*" { fileinto "All[${1}]"; }
