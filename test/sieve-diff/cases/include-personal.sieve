require ["include", "fileinto"];
include :personal "filter-lists";
fileinto "AfterInclude";
