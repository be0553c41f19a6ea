require "ereject";
ereject "Mailbox closed";
