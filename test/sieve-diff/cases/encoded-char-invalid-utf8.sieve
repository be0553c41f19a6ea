# ${hex:} that makes a byte sequence which is not UTF-8.
require ["encoded-character", "fileinto"];
fileinto "bad-${hex:C3}-name";
