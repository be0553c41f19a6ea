require ["variables", "fileinto"];
set :quotewildcard "q" "a*b?c\\d";
set :length "n" "héllo";
set :length "z" "";
fileinto "${q}|${n}|${z}";
