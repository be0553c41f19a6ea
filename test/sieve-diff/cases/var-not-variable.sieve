# Strings that are not variable references stay literal (RFC 5229 §3).
require ["variables", "fileinto"];
fileinto "${}${ a}${1a}${a b}$${}{x}";
