require "fileinto";
if header :is "subject" "Nothing like this" {
  fileinto "A";
} elsif address :domain :is "from" "example.org" {
  fileinto "B";
} else {
  fileinto "C";
}
