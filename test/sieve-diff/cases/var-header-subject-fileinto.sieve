require ["variables", "fileinto"];
if header :matches "list-id" "*<*>*" { fileinto "list/${2}"; }
