# address on a header that is not an address field (RFC 5228 §5.1).
require "fileinto";
if address :contains "subject" "Addresses" { fileinto "SubjectAsAddress"; }
