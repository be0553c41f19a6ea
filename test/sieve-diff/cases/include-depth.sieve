# Eleven levels of include, one more than both allow (Pigeonhole's sieve_include_max_nesting_depth
# and postbode's maxIncludeDepth are 10).
require "include";
include "depth-1";
