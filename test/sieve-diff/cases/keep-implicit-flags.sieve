# The implicit keep takes the internal flags as they are at the end (RFC 5232 §3).
require "imap4flags";
addflag "\\Seen";
