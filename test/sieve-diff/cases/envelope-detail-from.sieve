require ["envelope", "subaddress", "fileinto", "variables"];
if envelope :detail :matches "from" "*" { fileinto "FromDetail[${1}]"; }
if envelope :user :is "from" "orders" { fileinto "FromUser"; }
if envelope :domain :is "to" "EXAMPLE.COM" { fileinto "ToDomain"; }
