require ["include", "variables", "fileinto"];
global "folder";
set "folder" "FromMain";
include "use-global";
fileinto "Main-${folder}";
