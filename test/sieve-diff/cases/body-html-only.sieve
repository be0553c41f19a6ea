require ["body", "fileinto"];
if body :text :contains "INV-2026-03" { fileinto "Invoice"; }
if body :text :contains "<b>" { fileinto "MarkupVisible"; }
