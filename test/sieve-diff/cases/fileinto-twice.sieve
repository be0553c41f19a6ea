# The same fileinto twice stores one copy (RFC 5228 §2.10.3).
require "fileinto";
fileinto "Work";
fileinto "Work";
fileinto "Work/Reports";
