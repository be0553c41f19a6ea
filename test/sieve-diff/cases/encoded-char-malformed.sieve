# Malformed encodings stay as they are (RFC 5228 §2.4.2.4).
require ["encoded-character", "fileinto"];
fileinto "${hex:zz}-${hex:}-${unicode:}-${HEX:41}-${hex:4}";
