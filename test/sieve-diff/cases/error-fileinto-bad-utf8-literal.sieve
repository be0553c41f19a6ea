# A mailbox name that is not valid UTF-8 cannot come from a UTF-8 script; an encoded NUL is rejected.
require ["fileinto", "encoded-character"];
fileinto "bad${hex:00}name";
