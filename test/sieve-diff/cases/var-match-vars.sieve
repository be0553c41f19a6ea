require ["variables", "fileinto"];
if header :matches "subject" "*tomorrow" { fileinto "M-${1}-"; }
if address :matches "from" "*@*" { fileinto "User-${1}-Domain-${2}-Whole-${0}"; }
