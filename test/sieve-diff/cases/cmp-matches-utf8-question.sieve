# ? matches one character, not one octet.
require "fileinto";
if header :matches "subject" "?? *" { fileinto "TwoCharsUtf8"; }
if header :matches "x-upper" "???" { fileinto "ThreeUmlauts"; }
if header :matches :comparator "i;octet" "x-upper" "???" { fileinto "OctetThree"; }
