# fileinto takes the flags as they are when it runs; the implicit keep the flags at the end.
require ["imap4flags", "fileinto", "copy"];
setflag "\\Seen";
fileinto :copy "A";
addflag "\\Flagged";
fileinto :copy "B";
removeflag "\\Seen";
