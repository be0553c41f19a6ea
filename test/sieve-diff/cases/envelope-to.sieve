require ["envelope", "fileinto"];
if envelope :is "to" "bob@example.com" { fileinto "ToBob"; }
if envelope :all :contains "to" "shopping" { fileinto "ToShopping"; }
