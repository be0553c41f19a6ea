require ["variables", "fileinto"];
fileinto "Inc-${box}";
set "box" "FromInclude";
