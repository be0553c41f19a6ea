require "include";
include "depth-9";
