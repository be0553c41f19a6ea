require ["imap4flags", "fileinto"];
setflag ["\\Seen", "\\Flagged"];
removeflag ["\\Seen", "\\Flagged"];
fileinto "Cleared";
