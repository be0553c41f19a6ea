# A header name with a colon names no field that can exist: the test is false. Pigeonhole warns at
# compile time and runs the script.
if header :is "sub:ject" "x" { discard; }
