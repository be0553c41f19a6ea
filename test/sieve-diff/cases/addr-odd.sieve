require ["fileinto", "variables"];
if address :domain :matches "x-address" "[*]" { fileinto "Literal-${1}"; }
if address :localpart :is "x-address" "q" { fileinto "QuotedDisplay"; }
if address :is "reply-to" "reply+ticket-42@support.example.org" { fileinto "AngleOnly"; }
