# Modifiers apply in precedence order (RFC 5229 §4.1): :length last, :lower before :quotewildcard.
require ["variables", "fileinto"];
set :length :upper "a" "abc";
set :quotewildcard :upper "b" "x*y";
fileinto "${a}-${b}";
