# An unknown namespace in set is a compile error.
require "variables";
set "foo.bar" "x";
