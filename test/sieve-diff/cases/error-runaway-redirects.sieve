# More redirects than allowed: a runtime error; the message goes to INBOX.
redirect "r1@example.net";
redirect "r2@example.net";
redirect "r3@example.net";
redirect "r4@example.net";
redirect "r5@example.net";
redirect "r6@example.net";
redirect "r7@example.net";
redirect "r8@example.net";
redirect "r9@example.net";
redirect "r10@example.net";
redirect "r11@example.net";
