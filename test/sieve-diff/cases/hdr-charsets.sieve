require ["fileinto", "variables"];
if header :matches "x-latin1" "*" { fileinto "L[${1}]"; }
if header :matches "x-inword" "*" { fileinto "W[${1}]"; }
if header :contains "x-unknown-charset" "abc" { fileinto "UnknownCharsetReadable"; }
if header :contains "from" "Zoë" { fileinto "QName"; }
