# Match variables after :is are left as they were.
require ["variables", "fileinto"];
if header :matches "subject" "Meeting *" { set "first" "${1}"; }
if header :is "subject" "Meeting tomorrow" { fileinto "${first}-${1}"; }
