# A literal that is not an address is a compile error.
redirect "not an address";
