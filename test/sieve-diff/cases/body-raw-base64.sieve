require ["body", "fileinto"];
if body :raw :contains "VGhlIHNlY3JldCB3b3Jk" { fileinto "RawSeesBase64"; }
if body :content "text/plain" :contains "secret word" { fileinto "ContentDecodes"; }
