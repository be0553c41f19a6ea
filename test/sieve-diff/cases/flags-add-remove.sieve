require "imap4flags";
addflag ["\\Flagged", "\\Answered"];
addflag "$Work \\Seen";
removeflag "\\Answered";
removeflag "$Nothing";
