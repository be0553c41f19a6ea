# An unknown modifier is a syntax error (RFC 5229 §4.1).
require "variables";
set :reverse "x" "y";
