require ["include", "fileinto"];
include "returns-early";
include "returns-early";
fileinto "MainEnd";
