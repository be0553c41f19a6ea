# :raw sees the body undecoded, boundaries and all.
require ["body", "fileinto"];
if body :raw :contains "=C3=A9" { fileinto "RawQP"; }
if body :raw :contains "--b1" { fileinto "RawBoundary"; }
if body :raw :contains "Café" { fileinto "RawDecoded"; }
