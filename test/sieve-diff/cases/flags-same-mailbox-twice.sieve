# Two stores into one mailbox are one action; its flags are those of the last.
require ["fileinto", "imap4flags"];
fileinto :flags "\\Seen" "Twice";
fileinto :flags "\\Flagged" "Twice";
