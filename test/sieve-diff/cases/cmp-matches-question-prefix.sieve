# Keys that start with "?"s, then a literal, then "*". None of these can match "Meeting tomorrow":
# its second and third characters are "e", so "?x*", "??q*" and "?? *" fail (RFC 5228 §2.7.1).
require "fileinto";
if header :matches "subject" "?x*" { fileinto "QX"; }
if header :matches "subject" "??q*" { fileinto "QQQ"; }
if header :matches "subject" "?? *" { fileinto "QQSpace"; }
if header :matches "subject" "?e*" { fileinto "QE"; }
