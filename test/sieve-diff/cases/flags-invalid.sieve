# Flags that are not valid IMAP flags or keywords.
require ["imap4flags", "fileinto"];
addflag ["\\Recent", "\\Custom", "$ok", "bad(flag", "\\Seen"];
fileinto "Flags";
