require "fileinto";
if size :over 6K { fileinto "Over6K"; }
if size :under 7K { fileinto "Under7K"; }
if size :over 0 { fileinto "OverZero"; }
