require ["fileinto", "copy"];
fileinto :copy "Copies";
fileinto "Moved";
