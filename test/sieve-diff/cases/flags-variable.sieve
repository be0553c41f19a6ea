require ["imap4flags", "variables", "fileinto"];
set "myflags" "";
addflag "myflags" ["$A", "$B"];
addflag "myflags" "$A $C";
removeflag "myflags" "$B";
fileinto :flags "${myflags}" "Custom";
