# Redirecting twice to the same address forwards once.
redirect "carol@example.net";
redirect "Carol@example.net";
redirect "dave@example.net";
