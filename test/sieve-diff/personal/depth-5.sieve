require "include";
include "depth-6";
