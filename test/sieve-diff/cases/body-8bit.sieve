require ["body", "fileinto"];
if body :text :contains "Grüße" { fileinto "Umlauts"; }
if body :content "text/calendar" :contains "Quarterly review" { fileinto "Calendar"; }
