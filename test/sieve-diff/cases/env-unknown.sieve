require ["environment", "fileinto"];
if environment :matches "no-such-item" "*" { fileinto "UnknownMatched"; }
if not environment :is "no-such-item" "" { fileinto "UnknownIsFalse"; }
