# A number that does not fit in 64 bits is an error (Pigeonhole: "number exceeds integer limits").
if size :over 99999999999999999999 { discard; }
