# 4G is far inside both limits; 2^53 + 1 is beyond postbode's (see the manifest).
require "fileinto";
if size :under 4G { fileinto "Under4G"; }
if size :over 9007199254740993 { fileinto "OverHuge"; }
