# i;ascii-casemap and i;octet define a character as one octet (RFC 5228 §2.7.1): "?" matches one
# octet, so the three two-octet letters of "ÄÖÜ" take six.
require "fileinto";
if header :matches "x-upper" "??????" { fileinto "SixOctets"; }
if header :matches "x-upper" "???" { fileinto "ThreeChars"; }
if header :matches :comparator "i;octet" "x-upper" "??????" { fileinto "OctetSix"; }
if header :matches "x-upper" "Ä??Ü" { fileinto "MiddleTwoOctets"; }
