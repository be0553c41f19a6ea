require ["mailbox", "fileinto"];
if mailboxexists "INBOX" { fileinto "InboxExists"; }
if mailboxexists "Existing" { fileinto "ExistingExists"; }
if mailboxexists ["Existing", "Nope/Never"] { fileinto "NotAllExist"; }
if mailboxexists "Nope/Never" { fileinto "NopeExists"; }
