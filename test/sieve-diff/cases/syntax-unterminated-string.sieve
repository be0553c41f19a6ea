require "fileinto";
fileinto "never closed;
