# RFC 5322 §2.2.3 unfolding removes the CRLF and keeps the TAB after it ("Unfolded"); Dovecot turns
# the line break and the TAB into one space ("NotCollapsed" then matches). See the manifest.
require "fileinto";
if header :is "x-folded" "first part	second part  third part" { fileinto "Unfolded"; }
if header :contains "x-folded" "part second" { fileinto "NotCollapsed"; }
