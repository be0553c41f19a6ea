require ["copy", "fileinto"];
redirect :copy "carol@example.net";
fileinto :copy "Copy";
