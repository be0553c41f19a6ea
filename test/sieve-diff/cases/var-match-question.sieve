require ["variables", "fileinto"];
if header :matches "subject" "?eeting*" { fileinto "${1}${2}"; }
if header :matches "subject" "M??ting *o*" { fileinto "A=${1}B=${2}C=${3}D=${4}E=${5}"; }
