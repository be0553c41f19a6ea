require ["index", "fileinto", "variables"];
if header :index 2 :matches "x-tag" "*" { fileinto "Second-${1}"; }
if header :index 1 :last :matches "received" "from *.example.net*" { fileinto "Origin-${1}"; }
if address :index 2 :is "to" "carol@example.com" { fileinto "SecondAddressOfFirstTo"; }
