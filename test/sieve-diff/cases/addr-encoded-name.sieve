require ["fileinto", "variables"];
if address :all :is "from" "andre@example.de" { fileinto "Plain"; }
if header :contains "from" "André" { fileinto "DecodedName"; }
if header :contains "to" "Bob Éxample" { fileinto "DecodedTo"; }
