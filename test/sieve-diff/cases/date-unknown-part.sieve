require "date";
if date "date" "century" "21" { discard; }
