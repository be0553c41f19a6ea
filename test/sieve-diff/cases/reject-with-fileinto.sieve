# reject and fileinto conflict (RFC 5429 §2.1): a runtime error, the message goes to INBOX.
require ["reject", "fileinto"];
fileinto "Box";
reject "no";
