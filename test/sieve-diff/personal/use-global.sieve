require ["include", "variables", "fileinto"];
global "folder";
fileinto "Inc-${folder}";
set "folder" "ChangedByInclude";
