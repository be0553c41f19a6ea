require ["variables", "fileinto", "envelope", "subaddress"];
if envelope :matches :user "to" "*" { set "u" "${1}"; }
if envelope :matches :detail "to" "*" { set "d" "${1}"; }
fileinto "user=${u} detail=${d}";
