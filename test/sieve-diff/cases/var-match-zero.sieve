require ["variables", "fileinto"];
if header :matches "from" "*<*@*>" { fileinto "${0}|${1}|${2}|${3}"; }
