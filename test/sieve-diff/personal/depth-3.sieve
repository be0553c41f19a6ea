require "include";
include "depth-4";
