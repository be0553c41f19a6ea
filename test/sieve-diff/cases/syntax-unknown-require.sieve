require "x-nonexistent-extension";
keep;
