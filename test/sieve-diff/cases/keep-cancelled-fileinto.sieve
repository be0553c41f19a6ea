# fileinto cancels the implicit keep.
require "fileinto";
if header :contains "from" "alice" { fileinto "Alice"; }
