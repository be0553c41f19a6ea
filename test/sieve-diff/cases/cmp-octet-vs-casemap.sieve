require "fileinto";
if header :is "subject" "MEETING TOMORROW" { fileinto "Casemap"; }
if header :is :comparator "i;octet" "subject" "MEETING TOMORROW" { fileinto "OctetUpper"; }
if header :is :comparator "i;octet" "subject" "Meeting tomorrow" { fileinto "OctetExact"; }
