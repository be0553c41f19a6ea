# Malformed encodings stay as they are (RFC 5228 §2.4.2.4); the name "hex" is case-insensitive.
require ["encoded-character", "fileinto"];
fileinto "${hex:zz}-${hex:}-${unicode:}-${HEX:41}-${hex:4g}-${hex: 42 43 }";
