# body :content of a multipart part is its prologue and epilogue; of a message/rfc822 part the
# header of the encapsulated message (RFC 5173 §5.2, as Pigeonhole reads it).
require ["body", "fileinto"];
if body :content "multipart" :contains "multi-part message in MIME format" { fileinto "Prologue"; }
if body :content "message/rfc822" :contains "Subject: original" { fileinto "EncapsulatedHeader"; }
if body :content "message/rfc822" :contains "launch code" { fileinto "EncapsulatedBody"; }
