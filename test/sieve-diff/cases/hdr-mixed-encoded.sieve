require "fileinto";
if header :is "x-mixed" "plain café text" { fileinto "MixedDecoded"; }
if header :is "x-bad-encoding" "=?UTF-8?X?invalid?=" { fileinto "InvalidLeft"; }
