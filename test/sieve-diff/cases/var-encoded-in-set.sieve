require ["variables", "encoded-character", "fileinto"];
set "x" "${hex:41 42}${unicode:263A}";
fileinto "${x}";
