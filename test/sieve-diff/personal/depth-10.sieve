require "include";
include "depth-11";
