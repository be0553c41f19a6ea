# The same address from a variable is only known at run time: a runtime error.
require "variables";
set "to" "not an address";
redirect "${to}";
