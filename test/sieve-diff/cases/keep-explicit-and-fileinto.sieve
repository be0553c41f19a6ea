require "fileinto";
keep;
fileinto "Also";
