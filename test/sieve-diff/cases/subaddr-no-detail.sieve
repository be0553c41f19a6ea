# An address without a separator has no detail: :detail matches nothing, not even "" (RFC 5233 §4).
require ["subaddress", "fileinto"];
if address :detail :is "from" "" { fileinto "DetailEmpty"; }
if address :detail :matches "from" "*" { fileinto "DetailStar"; }
if address :user :is "from" "alice" { fileinto "UserAlice"; }
