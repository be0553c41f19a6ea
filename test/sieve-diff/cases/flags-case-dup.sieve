require "imap4flags";
addflag ["\\SEEN", "\\seen", "$Foo", "$foo"];
