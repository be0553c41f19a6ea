require "include";
include "depth-7";
