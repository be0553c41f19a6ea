# The first * is as short as possible (RFC 5229 §3.2: leftmost, shortest match).
require ["variables", "fileinto"];
if header :matches "subject" "*e*e*" { fileinto "[${1}][${2}][${3}]"; }
