require ["fileinto", "mailbox", "copy", "imap4flags"];
fileinto :create :copy :flags ["\\Seen", "$Label1"] "Labelled";
