require ["body", "fileinto"];
if body :text :contains "pineapple" { fileinto "DecodedBase64"; }
if body :raw :contains "pineapple" { fileinto "RawBase64"; }
if body :text :contains "Zürich" { fileinto "Utf8Decoded"; }
