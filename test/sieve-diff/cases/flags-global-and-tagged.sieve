# :flags on fileinto replaces the internal flags for that action only.
require ["imap4flags", "fileinto"];
addflag "\\Flagged";
fileinto :flags "\\Seen" "Tagged";
fileinto "Untagged";
