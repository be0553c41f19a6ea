require ["environment", "fileinto", "variables"];
if environment :matches "name" "*" { set "n" "${1}"; }
if environment :matches "location" "*" { set "l" "${1}"; }
if environment :matches "phase" "*" { set "p" "${1}"; }
if environment :matches "domain" "*" { set "d" "${1}"; }
fileinto "name=${n} location=${l} phase=${p} domain=${d}";
