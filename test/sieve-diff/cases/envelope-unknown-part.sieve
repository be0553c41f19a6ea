require "envelope";
if envelope "cc" "x@example.org" { discard; }
