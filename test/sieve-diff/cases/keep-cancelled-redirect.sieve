redirect "carol@example.net";
