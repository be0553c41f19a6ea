# Two modifiers of the same precedence are an error (RFC 5229 §4.1).
require "variables";
set :lower :upper "x" "y";
