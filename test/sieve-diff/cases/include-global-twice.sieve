require ["include", "fileinto"];
include :global "spam-rules";
include :personal "filter-lists";
