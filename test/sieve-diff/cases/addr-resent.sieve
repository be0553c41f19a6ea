require "fileinto";
if address :domain :is "resent-from" "example.org" { fileinto "Resent"; }
