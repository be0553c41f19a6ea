require ["encoded-character", "fileinto"];
if header :contains "subject" "${unicode:dc}ber" { fileinto "Unicode-${unicode: 00e9 }"; }
