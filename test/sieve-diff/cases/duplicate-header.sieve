require ["duplicate", "fileinto"];
if duplicate :header "list-id" :seconds 3600 { discard; }
if duplicate :handle "other" :uniqueid "fixed" { fileinto "Dup2"; }
