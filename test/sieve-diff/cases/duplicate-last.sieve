require ["duplicate", "fileinto"];
if duplicate :last :seconds 60 :header "message-id" { discard; }
