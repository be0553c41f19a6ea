require "fileinto";
fileinto "FromStops";
stop;
