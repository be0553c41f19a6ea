require ["date", "fileinto", "variables"];
if date :zone "-0500" :matches "date" "julian" "*" { set "j" "${1}"; }
if date :zone "-0500" :matches "date" "weekday" "*" { set "w" "${1}"; }
if date :zone "-0500" :matches "date" "std11" "*" { set "s" "${1}"; }
if date :zone "-0500" :matches "date" "hour" "*" { set "h" "${1}"; }
if date :zone "-0500" :matches "date" "second" "*" { set "sec" "${1}"; }
fileinto "j=${j} w=${w} h=${h} sec=${sec} s=${s}";
