require "fileinto";
if size :under 4G { fileinto "Under4G"; }
if size :over 2147483647 { fileinto "OverMaxInt31"; }
