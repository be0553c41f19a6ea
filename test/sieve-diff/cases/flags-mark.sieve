require ["imap4flags", "fileinto"];
if header :contains "subject" "report" {
  addflag "\\Flagged";
  fileinto :flags "\\Seen" "Reports";
}
