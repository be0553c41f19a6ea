require ["body", "fileinto"];
if body :content "message/delivery-status" :contains "5.1.1" { fileinto "StatusPart"; }
if body :text :contains "could not be delivered" { fileinto "TextPart"; }
if body :content "multipart/report" :contains "delivery" { fileinto "ReportContainer"; }
