# Without "global", a variable of the same name in the included script is another variable.
require ["include", "variables", "fileinto"];
set "box" "FromMain";
include "set-box";
fileinto "Main-${box}";
