require ["body", "fileinto"];
if body :contains "agenda" { fileinto "Agenda"; }
