require ["comparator-i;ascii-numeric", "fileinto"];
if header :is :comparator "i;ascii-numeric" "x-score" "7" { fileinto "Is7"; }
if header :is :comparator "i;ascii-numeric" "x-score" "0007" { fileinto "Is0007"; }
if header :is :comparator "i;ascii-numeric" "x-priority" "3" { fileinto "Priority3"; }
if header :is :comparator "i;ascii-numeric" "x-text" "x-neg" { fileinto "BothInfinite"; }
