# :text decodes quoted-printable and base64 text parts and converts the charset.
require ["body", "fileinto"];
if body :text :contains "Café crème" { fileinto "Decoded"; }
if body :text :contains "the word discount" { fileinto "SoftBreakJoined"; }
if body :text :contains "Unsubscribe here" { fileinto "HtmlPart"; }
