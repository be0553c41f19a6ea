require ["variables", "fileinto"];
set "folder" "Lists";
set "sub" "Dev";
fileinto "${folder}/${sub}";
