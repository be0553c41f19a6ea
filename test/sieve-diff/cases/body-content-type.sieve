require ["body", "fileinto"];
if body :content "text/html" :contains "20% off" { fileinto "HtmlOffer"; }
if body :content "text" :contains "report" { fileinto "TextReport"; }
if body :content "application/pdf" :contains "invoice" { fileinto "PdfInvoice"; }
if body :content "multipart" :contains "quarterly" { fileinto "MultipartPrologue"; }
