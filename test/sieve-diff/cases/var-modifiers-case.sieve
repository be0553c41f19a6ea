require ["variables", "fileinto"];
set :lower "a" "MiXeD";
set :upper "b" "MiXeD";
set :lowerfirst "c" "ABC";
set :upperfirst "d" "abc";
set :upperfirst :lower "e" "hELLO";
fileinto "${a}-${b}-${c}-${d}-${e}";
