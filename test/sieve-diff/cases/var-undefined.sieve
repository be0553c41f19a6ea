require ["variables", "fileinto"];
fileinto "pre${undefined}post${also.not}";
