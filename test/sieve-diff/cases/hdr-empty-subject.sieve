require ["fileinto", "variables"];
if header :is "subject" "" { fileinto "EmptySubject"; }
if header :matches "subject" "*" { fileinto "Sub[${1}]"; }
if not exists "date" { fileinto "NoDate"; }
