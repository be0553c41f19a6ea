require ["subaddress", "envelope", "fileinto", "variables"];
if envelope :user "to" "bob" { fileinto "UserBob"; }
if envelope :detail "to" "shopping" { fileinto "DetailShopping"; }
if envelope :detail :matches "to" "*" { fileinto "Detail-${1}"; }
