# Match variables beyond the last group are empty; a failed match keeps the old ones.
require ["variables", "fileinto"];
if header :matches "subject" "*" { set "s" "${1}"; }
if header :matches "subject" "no match at all *" { set "t" "x"; }
fileinto "${1}|${2}|${9}";
