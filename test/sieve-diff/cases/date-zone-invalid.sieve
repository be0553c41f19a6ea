require "date";
if date :zone "+25:00" "date" "year" "2026" { discard; }
