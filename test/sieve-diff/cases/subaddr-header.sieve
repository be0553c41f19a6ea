require ["subaddress", "fileinto", "variables"];
if address :detail :is "to" "shopping" { fileinto "ToShopping"; }
if address :detail :is "cc" "a+b" { fileinto "DetailWithPlus"; }
if address :user :is "cc" "" { fileinto "EmptyUser"; }
if address :detail :matches "cc" "*" { fileinto "AnyDetail-${1}"; }
