require "fileinto";
if header :contains "subject" "meeting" {
  fileinto "Meetings";
  stop;
}
fileinto "Other";
