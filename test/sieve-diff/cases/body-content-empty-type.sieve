# :content "" matches every part.
require ["body", "fileinto"];
if body :content "" :contains "tangerine" { fileinto "Anywhere"; }
if body :content "message/rfc822" :contains "launch" { fileinto "InMessage"; }
