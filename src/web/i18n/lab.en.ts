/**
 * The lab's explanations in English, the reference (src/web/i18n/index.ts): the texts the lab modules
 * (src/web/lab) show beside the protocol lines. Protocol keywords, reply codes and RFC names stay as
 * they are in every language. The Dutch and French catalogues have the same keys.
 */
export const labEn = {
  'session.openPlain': 'TCP connection opened in plain text; the server speaks first',
  'session.openTls':
    'TCP connection opened and TLS negotiated at once (implicit TLS): every line is encrypted on the wire',
  'session.tlsDone': 'TLS handshake completed: from here on the lines travel encrypted; the lab shows them decrypted',
  'smtp.continuation': 'Continuation of the multi-line reply',
  'smtp.endOfData': 'End of the message: a line holding only "."',
  'smtp.headerEnd': 'Empty line: the header ends, the body follows',
  'smtp.folded': 'Folded header line (continues the field above)',
  'smtp.dotStuffed': 'Body line starting with ".": the client doubled the dot (dot-stuffing)',
  'smtp.bodyLine': 'Message body line',
  'smtp.reply.CONNECT.220': 'The greeting: the server is ready; the client should now say EHLO (or HELO)',
  'smtp.reply.CONNECT.421': 'The server refuses the connection for now (too busy or shutting down); try again later',
  'smtp.reply.CONNECT.554': 'The server refuses to talk SMTP with this client; it will only accept QUIT',
  'smtp.reply.EHLO.250':
    'Hello accepted; the lines after the first list the extensions (keywords) this server supports',
  'smtp.reply.HELO.250': 'Hello accepted (HELO: no extension list, so the client may only use basic SMTP)',
  'smtp.reply.MAIL.250': 'The sender (reverse-path) is accepted; a mail transaction has begun, now name the recipients',
  'smtp.reply.RCPT.250': 'This recipient is accepted; add more with RCPT TO or send the message with DATA',
  'smtp.reply.RCPT.251': 'The recipient is not local but the server will forward the message',
  'smtp.reply.RCPT.550': 'This recipient is refused; the transaction goes on for the other recipients',
  'smtp.reply.RCPT.551': 'The recipient is not local here; the reply names where to send instead',
  'smtp.reply.RCPT.553': 'The recipient address is not acceptable (its syntax or domain)',
  'smtp.reply.RCPT.452': 'Too many recipients, or no room for now; send the rest in another transaction',
  'smtp.reply.RCPT.450': 'The mailbox cannot take mail right now; try again later',
  'smtp.reply.DATA.354':
    'Go ahead: send the message (header, blank line, body) and end it with a line holding only "."',
  'smtp.reply.DATA.554': 'No valid recipients, so there is nothing to send the message to',
  'smtp.reply.END.250': 'The message is accepted: from now on the server is responsible for delivering it',
  'smtp.reply.END.552': 'The message is too big (or over quota); nothing was stored',
  'smtp.reply.END.554': 'The message was refused; nothing was stored',
  'smtp.reply.END.451': 'The server failed while storing the message; the client must send it again later',
  'smtp.reply.BDAT.250': 'The chunk is received; with LAST, the whole message is accepted for delivery',
  'smtp.reply.RSET.250': 'The mail transaction (sender, recipients, data) is thrown away; the session stays greeted',
  'smtp.reply.NOOP.250': 'Nothing happens: NOOP only checks that the server still answers',
  'smtp.reply.QUIT.221': 'Goodbye: the server closes the connection',
  'smtp.reply.STARTTLS.220': 'Start the TLS handshake now; afterwards the client must send EHLO again (RFC 3207 §4.2)',
  'smtp.reply.STARTTLS.454': 'TLS is not available for a temporary reason',
  'smtp.reply.AUTH.235': 'Logged in: the following MAIL commands are sent as this user',
  'smtp.reply.AUTH.334': 'A SASL challenge (base64): answer with one base64 line, or "*" to cancel',
  'smtp.reply.AUTH.535': 'Wrong user name or password',
  'smtp.reply.AUTH.538': 'This mechanism sends the password readable; use STARTTLS first',
  'smtp.reply.AUTH.504': 'The server does not know this SASL mechanism; EHLO lists the ones it offers after AUTH',
  'smtp.reply.HELP.214': 'The help text',
  'smtp.reply.VRFY.252': 'The server will not say whether this user exists (common, against address harvesting)',
} as const;
