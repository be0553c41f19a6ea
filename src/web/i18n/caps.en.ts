/**
 * The capability explainer's texts in English, the reference (src/web/i18n/index.ts): for every keyword
 * in src/web/lab/capabilities.ts, `cap.<protocol>.<keyword>.summary` (one line) and `.effect` (what it
 * changes in the dialogue). Keywords, commands and RFC names stay as they are in every language; the
 * examples are protocol text and stay in capabilities.ts. Dutch and French: caps.nl.ts, caps.fr.ts; the
 * explainer's own sentences around them (parameters, unknown keywords) are in lab.*.ts.
 */
export const capsEn = {
  'cap.smtp.PIPELINING.summary': 'The client may send several commands without waiting for each reply',
  'cap.smtp.PIPELINING.effect':
    'MAIL, RCPT and DATA can go out in one batch; the replies come back in the same order, so the client matches them up one by one. This saves round trips on slow links.',
  'cap.smtp.SIZE.summary': 'The largest message the server accepts, in bytes',
  'cap.smtp.SIZE.effect':
    'The client can declare the size up front with MAIL FROM:<…> SIZE=n and learn at once (552 or 452) that a message is too big, instead of after sending it all.',
  'cap.smtp.8BITMIME.summary': 'Message bodies may contain 8-bit bytes (e.g. UTF-8 text) without encoding',
  'cap.smtp.8BITMIME.effect':
    'The client may send BODY=8BITMIME with MAIL FROM and send 8-bit text as is instead of quoted-printable or base64.',
  'cap.smtp.SMTPUTF8.summary': 'Addresses and header fields may be in UTF-8 (internationalised email)',
  'cap.smtp.SMTPUTF8.effect':
    'With MAIL FROM:<…> SMTPUTF8 the client may use addresses such as jörg@example.test and UTF-8 headers.',
  'cap.smtp.ENHANCEDSTATUSCODES.summary': 'Replies carry an enhanced status code (RFC 3463) after the basic code',
  'cap.smtp.ENHANCEDSTATUSCODES.effect':
    'Each reply line starts with class.subject.detail, e.g. 5.1.1 for “bad destination mailbox”, which says more precisely what happened than the three-digit code.',
  'cap.smtp.CHUNKING.summary': 'The message may be sent in counted chunks with BDAT instead of DATA',
  'cap.smtp.CHUNKING.effect':
    'BDAT n sends exactly n bytes, no dot-stuffing and no end-of-data line; the last chunk says LAST. Each chunk gets its own reply.',
  'cap.smtp.BINARYMIME.summary': 'Message bodies may contain binary data (with BDAT only)',
  'cap.smtp.BINARYMIME.effect':
    'MAIL FROM:<…> BODY=BINARYMIME, then the message in BDAT chunks, without base64 encoding.',
  'cap.smtp.DSN.summary': 'Delivery status notifications: the sender chooses which delivery reports it gets',
  'cap.smtp.DSN.effect':
    'RCPT TO:<…> NOTIFY=SUCCESS,FAILURE asks for reports; MAIL FROM:<…> RET=HDRS ENVID=… says what the report returns and how to recognise it.',
  'cap.smtp.STARTTLS.summary': 'The connection can be switched to TLS encryption',
  'cap.smtp.STARTTLS.effect':
    'After STARTTLS and the 220 reply both sides run a TLS handshake; then the client starts over with EHLO. The extension list may change (AUTH usually appears only after STARTTLS).',
  'cap.smtp.AUTH.summary': 'The client may log in with one of the listed SASL mechanisms',
  'cap.smtp.AUTH.effect':
    'AUTH PLAIN sends the user name and password base64-encoded (readable by anyone on the wire without TLS); AUTH LOGIN asks for them in two 334 steps. Submission (port 587) needs a login before MAIL.',
  'cap.smtp.HELP.summary': 'The server answers HELP with a list of commands',
  'cap.smtp.HELP.effect': 'HELP or HELP <command> returns 214 lines of text meant for people typing SMTP by hand.',
  'cap.smtp.VRFY.summary': 'The server answers VRFY (verify a user name)',
  'cap.smtp.VRFY.effect': 'Most servers answer 252 without saying whether the user exists, against address harvesting.',
  'cap.smtp.REQUIRETLS.summary': 'The sender can require TLS on every hop of the message',
  'cap.smtp.REQUIRETLS.effect':
    'MAIL FROM:<…> REQUIRETLS: every server on the way must use verified TLS, or the message bounces.',
  'cap.pop3.TOP.summary': 'TOP returns a message’s header and its first n body lines',
  'cap.pop3.TOP.effect': 'A client can show a list of messages (From, Subject) without downloading them whole.',
  'cap.pop3.UIDL.summary': 'UIDL gives each message a permanent unique id',
  'cap.pop3.UIDL.effect':
    'Message numbers change between sessions; the unique id does not, so “leave mail on server” clients know what they already downloaded.',
  'cap.pop3.RESP-CODES.summary': 'Error replies may carry a code in brackets, e.g. -ERR [IN-USE]',
  'cap.pop3.RESP-CODES.effect':
    'A client can tell “mailbox locked by another session” or “server problem” from “wrong password” by the code, not by the text.',
  'cap.pop3.AUTH-RESP-CODE.summary': 'A failed login says [AUTH] when the credentials are wrong',
  'cap.pop3.AUTH-RESP-CODE.effect':
    'The client knows to ask the user for a new password only when the reply says [AUTH]; [SYS/TEMP] means try again later.',
  'cap.pop3.PIPELINING.summary': 'The client may send several commands without waiting for each reply',
  'cap.pop3.PIPELINING.effect': 'For example many RETR commands in one batch; the replies come back in order.',
  'cap.pop3.EXPIRE.summary': 'How long the server keeps messages after they are retrieved (NEVER: until deleted)',
  'cap.pop3.EXPIRE.effect':
    'EXPIRE NEVER tells “leave mail on server” clients that the server will not delete retrieved mail by itself.',
  'cap.pop3.LOGIN-DELAY.summary': 'The minimum number of seconds between two logins',
  'cap.pop3.LOGIN-DELAY.effect': 'A client should not poll more often than this.',
  'cap.pop3.USER.summary': 'USER and PASS may be used to log in (the password travels as typed)',
  'cap.pop3.USER.effect':
    'Offered only where plain-text logins are allowed (after STLS, on port 995, or on loopback in lab mode).',
  'cap.pop3.SASL.summary': 'AUTH with the listed SASL mechanisms may be used to log in',
  'cap.pop3.SASL.effect':
    'AUTH PLAIN sends user and password base64-encoded in one line (RFC 5034); the server may ask for more with “+ ” lines.',
  'cap.pop3.STLS.summary': 'The connection can be switched to TLS encryption',
  'cap.pop3.STLS.effect':
    'After STLS and +OK both sides run a TLS handshake; the client then asks CAPA again, which may now offer USER and SASL.',
  'cap.pop3.IMPLEMENTATION.summary': 'The server software and its version',
  'cap.pop3.IMPLEMENTATION.effect': 'Informational only; clients must not change behaviour because of it.',
  'cap.imap.IMAP4rev1.summary': 'The server speaks IMAP4rev1 (the version most clients use)',
  'cap.imap.IMAP4rev1.effect':
    'Clients that do not ENABLE IMAP4rev2 get IMAP4rev1 behaviour: \\Recent, the SEARCH response, LSUB.',
  'cap.imap.IMAP4rev2.summary': 'The server also speaks IMAP4rev2, the current version of IMAP',
  'cap.imap.IMAP4rev2.effect':
    'After ENABLE IMAP4rev2 the server answers SEARCH with ESEARCH, drops \\Recent and uses UTF-8 mailbox names.',
  'cap.imap.LITERAL+.summary': 'Non-synchronizing literals: the client may send {n+} data without waiting for “+”',
  'cap.imap.LITERAL+.effect': 'APPEND and other commands with literals need no round trip for each literal.',
  'cap.imap.LITERAL-.summary': 'Non-synchronizing literals up to 4096 bytes',
  'cap.imap.LITERAL-.effect': 'Like LITERAL+, but only small literals may skip the “+” wait.',
  'cap.imap.SASL-IR.summary': 'AUTHENTICATE may carry the first SASL response on the command line',
  'cap.imap.SASL-IR.effect':
    'Saves one round trip: AUTHENTICATE PLAIN <base64> instead of waiting for an empty “+” challenge.',
  'cap.imap.ID.summary': 'Client and server may tell each other their name and version',
  'cap.imap.ID.effect': 'Useful in logs and for working around known client bugs; it must not change the protocol.',
  'cap.imap.ENABLE.summary': 'The client switches on extensions that change how the server answers',
  'cap.imap.ENABLE.effect':
    'Extensions such as CONDSTORE, QRESYNC, UTF8=ACCEPT and IMAP4rev2 only take effect after ENABLE.',
  'cap.imap.IDLE.summary': 'The server pushes mailbox changes while the client waits (push mail)',
  'cap.imap.IDLE.effect':
    'After IDLE and “+ idling” the server sends EXISTS/EXPUNGE/FETCH as they happen, until the client sends DONE; no polling needed.',
  'cap.imap.STARTTLS.summary': 'The connection can be switched to TLS encryption',
  'cap.imap.STARTTLS.effect':
    'After STARTTLS and the tagged OK both sides run a TLS handshake; the client must ask CAPABILITY again (LOGIN may become allowed).',
  'cap.imap.AUTH=.summary': 'AUTHENTICATE with this SASL mechanism is available',
  'cap.imap.AUTH=.effect':
    'AUTH=PLAIN: user and password travel base64-encoded (readable without TLS); AUTH=LOGIN asks for them in two “+” steps.',
  'cap.imap.LOGINDISABLED.summary': 'LOGIN is refused on this connection (it is not encrypted)',
  'cap.imap.LOGINDISABLED.effect': 'The client must use STARTTLS (or port 993) before it may send a password.',
  'cap.imap.NAMESPACE.summary': 'The client can ask for the personal, other users’ and shared namespaces',
  'cap.imap.NAMESPACE.effect': 'The client learns the mailbox prefix and hierarchy delimiter to use.',
  'cap.imap.UNSELECT.summary': 'UNSELECT closes the mailbox without expunging',
  'cap.imap.UNSELECT.effect': 'Unlike CLOSE, messages flagged \\Deleted stay.',
  'cap.imap.COMPRESS=DEFLATE.summary': 'The connection can be compressed with DEFLATE',
  'cap.imap.COMPRESS=DEFLATE.effect':
    'After COMPRESS DEFLATE and the OK, both directions are compressed; the lab still shows the lines decompressed.',
  'cap.imap.UTF8=ACCEPT.summary': 'Mailbox names, strings and messages may be in UTF-8 once enabled',
  'cap.imap.UTF8=ACCEPT.effect': 'After ENABLE UTF8=ACCEPT names are sent as UTF-8 instead of modified UTF-7.',
  'cap.imap.CHILDREN.summary': 'LIST says whether a mailbox has children',
  'cap.imap.CHILDREN.effect':
    'LIST replies carry \\HasChildren or \\HasNoChildren, so a client can draw a folder tree without more LISTs.',
  'cap.imap.SPECIAL-USE.summary': 'LIST marks special mailboxes: \\Sent, \\Drafts, \\Trash, \\Junk, \\Archive',
  'cap.imap.SPECIAL-USE.effect': 'A client finds the Sent or Trash mailbox whatever its name or language.',
  'cap.imap.CREATE-SPECIAL-USE.summary': 'CREATE may give a new mailbox a special-use attribute',
  'cap.imap.CREATE-SPECIAL-USE.effect': 'The client can create e.g. its Sent mailbox and mark it at once.',
  'cap.imap.LIST-EXTENDED.summary': 'LIST takes selection and return options',
  'cap.imap.LIST-EXTENDED.effect': 'E.g. LIST (SUBSCRIBED) "" "*" or RETURN (CHILDREN SPECIAL-USE) in one command.',
  'cap.imap.LIST-STATUS.summary': 'LIST can return STATUS counters for each mailbox',
  'cap.imap.LIST-STATUS.effect': 'One LIST … RETURN (STATUS (MESSAGES UNSEEN)) replaces a STATUS command per mailbox.',
  'cap.imap.STATUS=SIZE.summary': 'STATUS can report the total size of a mailbox',
  'cap.imap.STATUS=SIZE.effect': 'STATUS mailbox (SIZE) gives the size in octets without fetching every message size.',
  'cap.imap.QUOTA.summary': 'The client can see the account’s storage quota and usage',
  'cap.imap.QUOTA.effect':
    'GETQUOTAROOT INBOX returns the limits that apply and how much is used; a full account answers NO [OVERQUOTA].',
  'cap.imap.QUOTA=RES-STORAGE.summary': 'The quota counts storage (in units of 1024 octets)',
  'cap.imap.QUOTA=RES-STORAGE.effect': 'QUOTA responses have a STORAGE resource.',
  'cap.imap.ESEARCH.summary': 'SEARCH can return counts, min, max or a compact set instead of a long list',
  'cap.imap.ESEARCH.effect': 'SEARCH RETURN (COUNT MIN MAX) gives only those; large results come as ranges (1:500).',
  'cap.imap.SEARCHRES.summary': 'A SEARCH result can be saved as $ and used in the next command',
  'cap.imap.SEARCHRES.effect': 'SEARCH RETURN (SAVE) … then FETCH $ … works without sending the numbers back.',
  'cap.imap.WITHIN.summary': 'SEARCH OLDER n and YOUNGER n (seconds)',
  'cap.imap.WITHIN.effect': 'Find messages received within the last n seconds.',
  'cap.imap.SORT.summary': 'The server sorts messages (by date, from, subject, size…)',
  'cap.imap.SORT.effect':
    'SORT (DATE) UTF-8 ALL returns message numbers in sorted order; the client need not fetch all headers to sort.',
  'cap.imap.SORT=DISPLAY.summary': 'SORT by the displayed name (DISPLAYFROM, DISPLAYTO)',
  'cap.imap.SORT=DISPLAY.effect': 'Sorts by the name a client shows rather than by the address.',
  'cap.imap.ESORT.summary': 'SORT can return ESEARCH-style results (counts, min, max, partial)',
  'cap.imap.ESORT.effect': 'SORT RETURN (COUNT) … gives a count instead of the whole list.',
  'cap.imap.THREAD=.summary': 'The server groups messages into conversations with this algorithm',
  'cap.imap.THREAD=.effect':
    'THREAD REFERENCES UTF-8 ALL returns trees of message numbers; REFERENCES follows In-Reply-To/References, ORDEREDSUBJECT groups by subject.',
  'cap.imap.UIDPLUS.summary': 'APPEND, COPY and MOVE report the UIDs of the new messages; UID EXPUNGE',
  'cap.imap.UIDPLUS.effect':
    'Replies carry [APPENDUID …] and [COPYUID …], so a client knows the new messages without searching.',
  'cap.imap.MOVE.summary': 'MOVE moves messages to another mailbox in one step',
  'cap.imap.MOVE.effect': 'Instead of COPY, STORE \\Deleted and EXPUNGE; the source sees EXPUNGE responses.',
  'cap.imap.MULTIAPPEND.summary': 'One APPEND can add several messages at once',
  'cap.imap.MULTIAPPEND.effect': 'All messages are added, or none.',
  'cap.imap.BINARY.summary': 'FETCH BINARY[…] returns a part decoded (no base64), APPEND may send binary',
  'cap.imap.BINARY.effect': 'Saves the client the decoding and 33% of the transfer for base64 attachments.',
  'cap.imap.CONDSTORE.summary': 'Every change gets a mod-sequence, so a client fetches only what changed',
  'cap.imap.CONDSTORE.effect': 'FETCH … (CHANGEDSINCE n) and STORE (UNCHANGEDSINCE n); SELECT reports [HIGHESTMODSEQ].',
  'cap.imap.QRESYNC.summary': 'Quick resynchronisation: SELECT reports what changed and what vanished since last time',
  'cap.imap.QRESYNC.effect':
    'After ENABLE QRESYNC, SELECT … (QRESYNC (uidvalidity modseq)) returns changed FETCH and VANISHED responses; EXPUNGE becomes VANISHED.',
  'cap.imap.OBJECTID.summary': 'Mailboxes and messages have permanent ids (MAILBOXID, EMAILID, THREADID)',
  'cap.imap.OBJECTID.effect': 'A client recognises a renamed mailbox or a moved message by its id.',
  'cap.imap.PREVIEW.summary': 'FETCH PREVIEW returns a short plain-text preview of the message',
  'cap.imap.PREVIEW.effect': 'A client shows the first words of each message without downloading the body.',
  'cap.imap.APPENDLIMIT=.summary': 'The largest message APPEND accepts, in bytes',
  'cap.imap.APPENDLIMIT=.effect':
    'A client can refuse to upload a too-big message before sending it; APPEND over the limit gets NO [TOOBIG].',
  'cap.managesieve.IMPLEMENTATION.summary': 'The server software and its version',
  'cap.managesieve.IMPLEMENTATION.effect': 'Informational only; clients must not change behaviour because of it.',
  'cap.managesieve.SASL.summary': 'The SASL mechanisms AUTHENTICATE accepts (may be empty before STARTTLS)',
  'cap.managesieve.SASL.effect':
    'AUTHENTICATE "PLAIN" with the base64 of NUL user NUL password logs in (readable by anyone on the wire without TLS). An empty list before TLS means: send STARTTLS first.',
  'cap.managesieve.SIEVE.summary': 'The Sieve extensions a script may `require` (each explained in the Sieve section)',
  'cap.managesieve.SIEVE.effect':
    'A script that requires an extension not listed here is refused by PUTSCRIPT and CHECKSCRIPT with NO and the line of the require.',
  'cap.managesieve.STARTTLS.summary': 'The connection can be switched to TLS encryption',
  'cap.managesieve.STARTTLS.effect':
    'After STARTTLS and OK both sides run a TLS handshake; the server then sends its capabilities again by itself, now with the SASL mechanisms that need TLS.',
  'cap.managesieve.VERSION.summary':
    'The protocol version: "1.0" is RFC 5804 (with CHECKSCRIPT, RENAMESCRIPT, NOOP, UNAUTHENTICATE)',
  'cap.managesieve.VERSION.effect':
    'A server without VERSION speaks an older draft, where those commands may be missing.',
  'cap.managesieve.MAXREDIRECTS.summary': 'The most redirect actions one script run may take',
  'cap.managesieve.MAXREDIRECTS.effect':
    'A script with more redirects fails at delivery; the message is then kept in INBOX (RFC 5228 §2.10.6).',
  'cap.managesieve.NOTIFY.summary': 'The notification methods of the enotify extension (RFC 5435), e.g. mailto',
  'cap.managesieve.NOTIFY.effect': 'Listed only when the server supports "enotify".',
  'cap.managesieve.UNAUTHENTICATE.summary': 'UNAUTHENTICATE logs out but keeps the connection',
  'cap.managesieve.UNAUTHENTICATE.effect':
    'A client can log in again as someone else without a new connection (and TLS handshake).',
  'cap.managesieve.OWNER.summary': 'Whose scripts this session manages (after login)',
  'cap.managesieve.OWNER.effect':
    'Sent only in the capabilities after AUTHENTICATE, e.g. when the client asks CAPABILITY again.',
  'cap.managesieve.LANGUAGE.summary': 'The language of the human-readable texts in responses',
  'cap.managesieve.LANGUAGE.effect': 'Informational; "i-default" is the default.',
  'cap.sieve.fileinto.summary': 'fileinto stores the message in another folder instead of INBOX',
  'cap.sieve.fileinto.effect': 'The message is filed there and not kept in INBOX (unless keep or :copy says so).',
  'cap.sieve.reject.summary': 'reject refuses the message with a reason the sender gets back',
  'cap.sieve.reject.effect':
    'At SMTP time the server answers 550 with the reason when it can; otherwise the sender gets a bounce (an MDN).',
  'cap.sieve.ereject.summary': 'ereject refuses the message in the SMTP dialogue itself (550), not with a bounce',
  'cap.sieve.ereject.effect':
    'The sending server sees the refusal at once; no bounce is sent to a possibly forged sender.',
  'cap.sieve.envelope.summary': 'envelope tests the SMTP envelope (MAIL FROM, RCPT TO) instead of the header',
  'cap.sieve.envelope.effect':
    'The envelope says who really sent and to whom it was delivered, e.g. for mail to an alias or a BCC.',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Sieve syntax, not a template
  'cap.sieve.encoded-character.summary': 'Strings may contain ${hex:…} and ${unicode:…} for characters hard to type',
  'cap.sieve.encoded-character.effect':
    'Lets a script name a byte or character by its number, e.g. a non-breaking space.',
  'cap.sieve.copy.summary': ':copy on fileinto and redirect keeps the message where it would have gone too',
  'cap.sieve.copy.effect':
    'fileinto :copy or redirect :copy does not cancel the implicit keep: INBOX gets the message as well.',
  'cap.sieve.imap4flags.summary':
    'Scripts set IMAP flags (\\Seen, \\Flagged, keywords) on the message they keep or file',
  'cap.sieve.imap4flags.effect':
    'addflag/setflag/removeflag change the flags for later actions; :flags gives one action its own; hasflag tests.',
  'cap.sieve.body.summary': 'The body test looks at the message text, not only the header',
  'cap.sieve.body.effect':
    ':text tests the decoded text parts, :raw the undecoded body, :content the parts of given types.',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Sieve syntax, not a template
  'cap.sieve.variables.summary': 'Variables: set, ${name} in strings, and the parts a :matches wildcard matched (${1})',
  'cap.sieve.variables.effect':
    'With :matches a script can reuse what matched, e.g. file by the list name or the +detail.',
  'cap.sieve.relational.summary': ':value and :count compare with gt, ge, lt, le, eq, ne instead of only equality',
  'cap.sieve.relational.effect':
    'Compares strings, or numbers with the i;ascii-numeric comparator, and counts header fields.',
  'cap.sieve.comparator-i;ascii-numeric.summary': 'The comparator that compares strings as decimal numbers',
  'cap.sieve.comparator-i;ascii-numeric.effect':
    'With relational, "10" is greater than "9" (as text it is not). Strings not starting with a digit count as infinity.',
  'cap.sieve.date.summary':
    'date tests a date header, currentdate the time of delivery, by part (date, hour, weekday…)',
  'cap.sieve.date.effect': 'Lets a vacation reply or a rule work only in a period, or on weekends.',
  'cap.sieve.index.summary': ':index n picks the nth occurrence of a header field (:last counts from the end)',
  'cap.sieve.index.effect': 'For example the first Received: field, the one your own server added.',
  'cap.sieve.subaddress.summary': ':user and :detail test the parts of user+detail@domain',
  'cap.sieve.subaddress.effect':
    'Mail to ludo+shop@example.test is delivered to ludo and the script can file it by "shop".',
  'cap.sieve.vacation.summary': 'vacation answers automatically, once per sender in a period (:days, 7 by default)',
  'cap.sieve.vacation.effect':
    'No reply to lists, bulk mail, auto-replies, the null sender or mail not addressed to you (§4.5). The reply has Auto-Submitted: auto-replied.',
  'cap.sieve.vacation-seconds.summary': 'vacation :seconds gives the period in seconds instead of days',
  'cap.sieve.vacation-seconds.effect': 'For short periods, e.g. answering at most once an hour (:seconds 3600).',
  'cap.sieve.include.summary': 'include runs another script of the user (:personal) or of the server (:global)',
  'cap.sieve.include.effect': 'Shared rules live in one script; return ends an included script early.',
  'cap.sieve.mailbox.summary': 'mailboxexists tests for a folder, and fileinto :create makes a missing one',
  'cap.sieve.mailbox.effect':
    'Without :create, fileinto to a folder that does not exist fails and the message is kept in INBOX.',
  'cap.sieve.environment.summary':
    'environment tests facts about the server: its domain, host, name, version, remote-ip…',
  'cap.sieve.environment.effect':
    'A script can behave differently per server or on the client address that delivered the mail.',
  'cap.sieve.duplicate.summary': 'duplicate is true for a message (Message-ID, or a :uniqueid) seen before in a period',
  'cap.sieve.duplicate.effect': 'Drops copies that arrive twice, e.g. through a list and directly.',
  'cap.sieve.editheader.summary': 'addheader and deleteheader change the header of the message',
  'cap.sieve.editheader.effect': 'Not offered by postbode.',
  'cap.sieve.enotify.summary': 'notify sends a notification (e.g. a short mail) about a message',
  'cap.sieve.enotify.effect': 'Not offered by postbode.',
} as const;
