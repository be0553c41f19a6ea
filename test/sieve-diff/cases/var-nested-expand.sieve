require ["variables", "fileinto"];
set "a" "${b}";
set "b" "value";
set "name" "b";
fileinto "${a}|${${name}}";
