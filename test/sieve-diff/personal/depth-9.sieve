require "include";
include "depth-10";
