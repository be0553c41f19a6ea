# RFC 5228 §4.2: the address is an RFC 5322 mailbox; a display name is allowed.
redirect "Carol <carol@example.net>";
