# A missing or unparsable date makes the test false, never an error.
require ["date", "fileinto"];
if date :matches "x-bad-date" "date" "*" { fileinto "BadDateMatched"; }
if date :matches "x-missing" "date" "*" { fileinto "MissingMatched"; }
if not date :matches "x-bad-date" "year" "*" { fileinto "BadDateFalse"; }
