require ["vacation", "fileinto"];
fileinto "Away";
vacation "Away, your mail is filed.";
