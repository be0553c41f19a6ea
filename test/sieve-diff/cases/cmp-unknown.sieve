if header :is :comparator "i;unknown" "subject" "x" { discard; }
