# A value with wildcards quoted by :quotewildcard matches itself literally.
require ["variables", "fileinto"];
if header :matches "subject" "*" { set :quotewildcard "subj" "${1}"; }
if header :matches "subject" "${subj}" { fileinto "ExactViaQuote"; }
