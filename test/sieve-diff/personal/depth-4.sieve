require "include";
include "depth-5";
