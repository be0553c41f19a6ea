# A value longer than the variable size limit (4096 octets in both) is cut.
require ["variables", "fileinto"];
set "a" "0123456789abcdef";
set "a" "${a}${a}"; set "a" "${a}${a}"; set "a" "${a}${a}"; set "a" "${a}${a}";
set "a" "${a}${a}"; set "a" "${a}${a}"; set "a" "${a}${a}"; set "a" "${a}${a}";
set :length "n" "${a}";
fileinto "n=${n}";
