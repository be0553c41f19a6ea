# i;ascii-casemap folds only ASCII letters: Ü and ü differ.
require "fileinto";
if header :contains "subject" "ünïcödé" { fileinto "FoldedNonAscii"; }
if header :contains "subject" "ÜNÏCÖDÉ" { fileinto "UpperNonAscii"; }
if header :contains "subject" "Ünïcödé" { fileinto "Exact"; }
