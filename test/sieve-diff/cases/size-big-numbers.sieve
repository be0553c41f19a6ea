# 4G is far inside both limits; 2^53 + 1 too: both take numbers up to 2^64 - 1.
require "fileinto";
if size :under 4G { fileinto "Under4G"; }
if size :over 9007199254740993 { fileinto "OverHuge"; }
