require "fileinto";
# A header test matches any occurrence of a repeated field.
if header :is "x-tag" "green" { fileinto "Green"; }
if header :is "to" "dave@example.com" { fileinto "SecondTo"; }
