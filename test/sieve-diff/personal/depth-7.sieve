require "include";
include "depth-8";
