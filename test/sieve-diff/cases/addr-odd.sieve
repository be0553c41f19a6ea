require ["fileinto", "variables"];
if address :domain :matches "resent-to" "[*]" { fileinto "Literal-${1}"; }
if address :localpart :is "resent-to" "q" { fileinto "QuotedDisplay"; }
if address :is "reply-to" "reply+ticket-42@support.example.org" { fileinto "AngleOnly"; }
