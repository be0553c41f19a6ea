# A header name with a colon cannot exist; it is an error (Pigeonhole: compile warning or error).
if header :is "sub:ject" "x" { discard; }
