require ["body", "fileinto"];
if body :text :contains "tangerine" { fileinto "NestedText"; }
if body :content "text/plain" :contains "launch code" { fileinto "NestedPlain"; }
