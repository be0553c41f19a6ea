# "Sender: root" has no domain.
require ["fileinto", "variables"];
if address :localpart :is "sender" "root" { fileinto "LocalRoot"; }
if address :domain :is "sender" "" { fileinto "EmptyDomain"; }
if address :all :matches "sender" "*" { fileinto "All-${1}"; }
