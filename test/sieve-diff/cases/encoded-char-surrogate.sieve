# A surrogate code point is an error (RFC 5228 §2.4.2.4).
require ["encoded-character", "fileinto"];
fileinto "${unicode:D800}";
