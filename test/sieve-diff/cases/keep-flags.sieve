require "imap4flags";
keep :flags ["\\Seen", "$Kept"];
