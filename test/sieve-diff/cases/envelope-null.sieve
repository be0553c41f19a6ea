# The null sender: envelope "from" is the empty string.
require ["envelope", "fileinto"];
if envelope :is "from" "" { fileinto "NullSender"; }
if envelope :matches "from" "*" { fileinto "MatchesStar"; }
if envelope :matches "from" "?*" { fileinto "NonEmpty"; }
