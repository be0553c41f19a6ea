require "imap4flags";
addflag "\\Flagged";
keep;
removeflag "\\Flagged";
