require "index";
if header :index 0 :contains "x-tag" "red" { discard; }
