require ["body", "fileinto"];
if body :text :matches "*systems nominal*" { fileinto "Nominal"; }
if body :matches "Hi*" { fileinto "StartsHi"; }
