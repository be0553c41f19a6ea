require "fileinto";
if header :contains ["x-tag", "subject"] ["zzz", "GREEN"] { fileinto "AnyOfList"; }
