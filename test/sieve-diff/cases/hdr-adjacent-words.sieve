# White space between two encoded words disappears (RFC 2047 §6.2); other spaces stay.
require ["fileinto", "variables"];
if header :matches "subject" "*" { fileinto "S[${1}]"; }
