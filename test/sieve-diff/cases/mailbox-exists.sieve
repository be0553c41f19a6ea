require ["mailbox", "fileinto"];
if mailboxexists "INBOX" { fileinto "InboxExists"; }
if mailboxexists "Nope/Never" { fileinto "NopeExists"; }
