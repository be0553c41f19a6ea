# Unfolding removes the CRLF but keeps the white space after it (RFC 5322 §2.2.3).
require "fileinto";
if header :is "x-folded" "first part	second part  third part" { fileinto "Unfolded"; }
if header :contains "x-folded" "part second" { fileinto "NotCollapsed"; }
