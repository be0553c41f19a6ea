/**
 * The capability explainer: for every keyword postbode advertises (SMTP EHLO, POP3 CAPA, IMAP
 * CAPABILITY, the ManageSieve greeting and the Sieve extensions of its SIEVE capability) its RFC, a
 * one-line summary, what it changes in the dialogue and a short example.
 *
 * Invariants:
 * - `explainCapabilities` keeps the advertised order and never throws: an unknown keyword gets a
 *   generic entry (its `rfc` is empty), so a new keyword shows up instead of breaking the page.
 * - Parameters stay in `keyword` as advertised (`SIZE 26214400`, `AUTH=PLAIN`, `SASL PLAIN LOGIN`);
 *   the entry is found by the keyword's name (`SIZE`, `AUTH=`, `SASL`).
 * - `probeAdvertised` is the only I/O here: it asks the server's own plaintext listeners, before TLS
 *   and before login, so it shows what any client sees first.
 */
import net from 'node:net';
import type { CapabilitiesResponse, Capability } from '../api-types.js';
import { rfcUrl } from './rfc.js';

type Entry = Omit<Capability, 'keyword' | 'url'> & { url?: string; section?: string };
/** The protocols, and `sieve`: the Sieve extensions of ManageSieve's SIEVE capability. */
type Proto = 'smtp' | 'pop3' | 'imap' | 'managesieve' | 'sieve';

const SMTP: Record<string, Entry> = {
  PIPELINING: {
    rfc: 'RFC 2920',
    summary: 'The client may send several commands without waiting for each reply',
    effect:
      'MAIL, RCPT and DATA can go out in one batch; the replies come back in the same order, so the client matches them up one by one. This saves round trips on slow links.',
    example: [
      'C: MAIL FROM:<a@example.org>',
      'C: RCPT TO:<b@example.test>',
      'C: DATA',
      'S: 250 2.1.0 Sender OK',
      'S: 250 2.1.5 Recipient OK',
      'S: 354 Start mail input',
    ],
  },
  SIZE: {
    rfc: 'RFC 1870',
    summary: 'The largest message the server accepts, in bytes',
    effect:
      'The client can declare the size up front with MAIL FROM:<…> SIZE=n and learn at once (552 or 452) that a message is too big, instead of after sending it all.',
    example: [
      'S: 250-SIZE 26214400',
      'C: MAIL FROM:<a@example.org> SIZE=40000000',
      'S: 552 5.3.4 Message size exceeds fixed maximum message size',
    ],
  },
  '8BITMIME': {
    rfc: 'RFC 6152',
    summary: 'Message bodies may contain 8-bit bytes (e.g. UTF-8 text) without encoding',
    effect:
      'The client may send BODY=8BITMIME with MAIL FROM and send 8-bit text as is instead of quoted-printable or base64.',
    example: ['C: MAIL FROM:<a@example.org> BODY=8BITMIME', 'S: 250 2.1.0 Sender OK'],
  },
  SMTPUTF8: {
    rfc: 'RFC 6531',
    summary: 'Addresses and header fields may be in UTF-8 (internationalised email)',
    effect: 'With MAIL FROM:<…> SMTPUTF8 the client may use addresses such as jörg@example.test and UTF-8 headers.',
    example: ['C: MAIL FROM:<jörg@example.test> SMTPUTF8', 'S: 250 2.1.0 Sender OK'],
  },
  ENHANCEDSTATUSCODES: {
    rfc: 'RFC 2034',
    summary: 'Replies carry an enhanced status code (RFC 3463) after the basic code',
    effect:
      'Each reply line starts with class.subject.detail, e.g. 5.1.1 for “bad destination mailbox”, which says more precisely what happened than the three-digit code.',
    example: ['C: RCPT TO:<nobody@example.test>', 'S: 550 5.1.1 No such user here'],
  },
  CHUNKING: {
    rfc: 'RFC 3030',
    summary: 'The message may be sent in counted chunks with BDAT instead of DATA',
    effect:
      'BDAT n sends exactly n bytes, no dot-stuffing and no end-of-data line; the last chunk says LAST. Each chunk gets its own reply.',
    example: ['C: BDAT 86 LAST', 'C: (86 bytes of message)', 'S: 250 2.6.0 Queued mail for delivery'],
  },
  BINARYMIME: {
    rfc: 'RFC 3030',
    summary: 'Message bodies may contain binary data (with BDAT only)',
    effect: 'MAIL FROM:<…> BODY=BINARYMIME, then the message in BDAT chunks, without base64 encoding.',
    example: ['C: MAIL FROM:<a@example.org> BODY=BINARYMIME', 'S: 250 2.1.0 Sender OK', 'C: BDAT 5000 LAST'],
  },
  DSN: {
    rfc: 'RFC 3461',
    summary: 'Delivery status notifications: the sender chooses which delivery reports it gets',
    effect:
      'RCPT TO:<…> NOTIFY=SUCCESS,FAILURE asks for reports; MAIL FROM:<…> RET=HDRS ENVID=… says what the report returns and how to recognise it.',
    example: [
      'C: MAIL FROM:<a@example.org> RET=HDRS ENVID=msg42',
      'S: 250 2.1.0 Sender OK',
      'C: RCPT TO:<b@example.test> NOTIFY=SUCCESS,FAILURE',
      'S: 250 2.1.5 Recipient OK',
    ],
  },
  STARTTLS: {
    rfc: 'RFC 3207',
    summary: 'The connection can be switched to TLS encryption',
    effect:
      'After STARTTLS and the 220 reply both sides run a TLS handshake; then the client starts over with EHLO. The extension list may change (AUTH usually appears only after STARTTLS).',
    example: ['C: STARTTLS', 'S: 220 2.0.0 Ready to start TLS', '(TLS handshake)', 'C: EHLO client.example.org'],
  },
  AUTH: {
    rfc: 'RFC 4954',
    summary: 'The client may log in with one of the listed SASL mechanisms',
    effect:
      'AUTH PLAIN sends the user name and password base64-encoded (readable by anyone on the wire without TLS); AUTH LOGIN asks for them in two 334 steps. Submission (port 587) needs a login before MAIL.',
    example: ['C: AUTH PLAIN AGx1ZG9AZXhhbXBsZS50ZXN0AHNlY3JldA==', 'S: 235 2.7.0 Authentication successful'],
  },
  HELP: {
    rfc: 'RFC 5321',
    section: '4.1.1.8',
    summary: 'The server answers HELP with a list of commands',
    effect: 'HELP or HELP <command> returns 214 lines of text meant for people typing SMTP by hand.',
    example: ['C: HELP', 'S: 214-Commands:', 'S: 214 HELO EHLO MAIL RCPT DATA …'],
  },
  VRFY: {
    rfc: 'RFC 5321',
    section: '4.1.1.6',
    summary: 'The server answers VRFY (verify a user name)',
    effect: 'Most servers answer 252 without saying whether the user exists, against address harvesting.',
    example: ['C: VRFY ludo', 'S: 252 2.5.0 Cannot VRFY user'],
  },
  REQUIRETLS: {
    rfc: 'RFC 8689',
    summary: 'The sender can require TLS on every hop of the message',
    effect: 'MAIL FROM:<…> REQUIRETLS: every server on the way must use verified TLS, or the message bounces.',
    example: ['C: MAIL FROM:<a@example.org> REQUIRETLS', 'S: 250 2.1.0 Sender OK'],
  },
};

const POP3: Record<string, Entry> = {
  TOP: {
    rfc: 'RFC 1939',
    section: '7',
    summary: 'TOP returns a message’s header and its first n body lines',
    effect: 'A client can show a list of messages (From, Subject) without downloading them whole.',
    example: ['C: TOP 1 0', 'S: +OK', 'S: Subject: hello', 'S: ', 'S: .'],
  },
  UIDL: {
    rfc: 'RFC 1939',
    section: '7',
    summary: 'UIDL gives each message a permanent unique id',
    effect:
      'Message numbers change between sessions; the unique id does not, so “leave mail on server” clients know what they already downloaded.',
    example: ['C: UIDL', 'S: +OK', 'S: 1 a3f9c0', 'S: .'],
  },
  'RESP-CODES': {
    rfc: 'RFC 2449',
    section: '6.4',
    summary: 'Error replies may carry a code in brackets, e.g. -ERR [IN-USE]',
    effect:
      'A client can tell “mailbox locked by another session” or “server problem” from “wrong password” by the code, not by the text.',
    example: ['C: PASS secret', 'S: -ERR [IN-USE] Mailbox is locked by another session'],
  },
  'AUTH-RESP-CODE': {
    rfc: 'RFC 3206',
    section: '5',
    summary: 'A failed login says [AUTH] when the credentials are wrong',
    effect:
      'The client knows to ask the user for a new password only when the reply says [AUTH]; [SYS/TEMP] means try again later.',
    example: ['C: PASS wrong', 'S: -ERR [AUTH] Invalid user name or password'],
  },
  PIPELINING: {
    rfc: 'RFC 2449',
    section: '6.6',
    summary: 'The client may send several commands without waiting for each reply',
    effect: 'For example many RETR commands in one batch; the replies come back in order.',
    example: ['C: RETR 1', 'C: RETR 2', 'S: +OK (message 1) …', 'S: +OK (message 2) …'],
  },
  EXPIRE: {
    rfc: 'RFC 2449',
    section: '6.7',
    summary: 'How long the server keeps messages after they are retrieved (NEVER: until deleted)',
    effect:
      'EXPIRE NEVER tells “leave mail on server” clients that the server will not delete retrieved mail by itself.',
    example: ['S: EXPIRE NEVER'],
  },
  'LOGIN-DELAY': {
    rfc: 'RFC 2449',
    section: '6.5',
    summary: 'The minimum number of seconds between two logins',
    effect: 'A client should not poll more often than this.',
    example: ['S: LOGIN-DELAY 900'],
  },
  USER: {
    rfc: 'RFC 2449',
    section: '6.8',
    summary: 'USER and PASS may be used to log in (the password travels as typed)',
    effect: 'Offered only where plain-text logins are allowed (after STLS, on port 995, or on loopback in lab mode).',
    example: ['C: USER ludo@example.test', 'S: +OK', 'C: PASS sdf12345', 'S: +OK ludo@example.test has 1 message'],
  },
  SASL: {
    rfc: 'RFC 2449',
    section: '6.3',
    summary: 'AUTH with the listed SASL mechanisms may be used to log in',
    effect:
      'AUTH PLAIN sends user and password base64-encoded in one line (RFC 5034); the server may ask for more with “+ ” lines.',
    example: ['C: AUTH PLAIN AGx1ZG9AZXhhbXBsZS50ZXN0AHNlY3JldA==', 'S: +OK Logged in'],
  },
  STLS: {
    rfc: 'RFC 2595',
    section: '4',
    summary: 'The connection can be switched to TLS encryption',
    effect:
      'After STLS and +OK both sides run a TLS handshake; the client then asks CAPA again, which may now offer USER and SASL.',
    example: ['C: STLS', 'S: +OK Begin TLS negotiation', '(TLS handshake)', 'C: CAPA'],
  },
  IMPLEMENTATION: {
    rfc: 'RFC 2449',
    section: '6.9',
    summary: 'The server software and its version',
    effect: 'Informational only; clients must not change behaviour because of it.',
    example: ['S: IMPLEMENTATION postbode-0.1.0'],
  },
};

const IMAP: Record<string, Entry> = {
  IMAP4rev1: {
    rfc: 'RFC 3501',
    summary: 'The server speaks IMAP4rev1 (the version most clients use)',
    effect: 'Clients that do not ENABLE IMAP4rev2 get IMAP4rev1 behaviour: \\Recent, the SEARCH response, LSUB.',
    example: ['C: a1 SEARCH UNSEEN', 'S: * SEARCH 2 5', 'S: a1 OK SEARCH completed'],
  },
  IMAP4rev2: {
    rfc: 'RFC 9051',
    summary: 'The server also speaks IMAP4rev2, the current version of IMAP',
    effect:
      'After ENABLE IMAP4rev2 the server answers SEARCH with ESEARCH, drops \\Recent and uses UTF-8 mailbox names.',
    example: ['C: a1 ENABLE IMAP4rev2', 'S: * ENABLED IMAP4rev2', 'S: a1 OK ENABLE completed'],
  },
  'LITERAL+': {
    rfc: 'RFC 7888',
    summary: 'Non-synchronizing literals: the client may send {n+} data without waiting for “+”',
    effect: 'APPEND and other commands with literals need no round trip for each literal.',
    example: ['C: a1 APPEND INBOX {310+}', 'C: (310 bytes of message)', 'S: a1 OK [APPENDUID 1 7] APPEND completed'],
  },
  'LITERAL-': {
    rfc: 'RFC 7888',
    summary: 'Non-synchronizing literals up to 4096 bytes',
    effect: 'Like LITERAL+, but only small literals may skip the “+” wait.',
    example: ['C: a1 LOGIN {4+}', 'C: ludo {6+}', 'C: secret'],
  },
  'SASL-IR': {
    rfc: 'RFC 4959',
    summary: 'AUTHENTICATE may carry the first SASL response on the command line',
    effect: 'Saves one round trip: AUTHENTICATE PLAIN <base64> instead of waiting for an empty “+” challenge.',
    example: ['C: a1 AUTHENTICATE PLAIN AGx1ZG8Ac2VjcmV0', 'S: a1 OK Logged in'],
  },
  ID: {
    rfc: 'RFC 2971',
    summary: 'Client and server may tell each other their name and version',
    effect: 'Useful in logs and for working around known client bugs; it must not change the protocol.',
    example: ['C: a1 ID ("name" "Thunderbird")', 'S: * ID ("name" "postbode")', 'S: a1 OK ID completed'],
  },
  ENABLE: {
    rfc: 'RFC 5161',
    summary: 'The client switches on extensions that change how the server answers',
    effect: 'Extensions such as CONDSTORE, QRESYNC, UTF8=ACCEPT and IMAP4rev2 only take effect after ENABLE.',
    example: ['C: a1 ENABLE QRESYNC', 'S: * ENABLED QRESYNC', 'S: a1 OK ENABLE completed'],
  },
  IDLE: {
    rfc: 'RFC 2177',
    summary: 'The server pushes mailbox changes while the client waits (push mail)',
    effect:
      'After IDLE and “+ idling” the server sends EXISTS/EXPUNGE/FETCH as they happen, until the client sends DONE; no polling needed.',
    example: ['C: a1 IDLE', 'S: + idling', 'S: * 4 EXISTS', 'C: DONE', 'S: a1 OK IDLE terminated'],
  },
  STARTTLS: {
    rfc: 'RFC 9051',
    section: '6.2.1',
    summary: 'The connection can be switched to TLS encryption',
    effect:
      'After STARTTLS and the tagged OK both sides run a TLS handshake; the client must ask CAPABILITY again (LOGIN may become allowed).',
    example: ['C: a1 STARTTLS', 'S: a1 OK Begin TLS negotiation now', '(TLS handshake)', 'C: a2 CAPABILITY'],
  },
  'AUTH=': {
    rfc: 'RFC 9051',
    section: '6.2.2',
    summary: 'AUTHENTICATE with this SASL mechanism is available',
    effect:
      'AUTH=PLAIN: user and password travel base64-encoded (readable without TLS); AUTH=LOGIN asks for them in two “+” steps.',
    example: ['C: a1 AUTHENTICATE PLAIN', 'S: + ', 'C: AGx1ZG8Ac2VjcmV0', 'S: a1 OK Logged in'],
  },
  LOGINDISABLED: {
    rfc: 'RFC 9051',
    section: '6.2.3',
    summary: 'LOGIN is refused on this connection (it is not encrypted)',
    effect: 'The client must use STARTTLS (or port 993) before it may send a password.',
    example: ['C: a1 LOGIN ludo secret', 'S: a1 NO [PRIVACYREQUIRED] Use STARTTLS first'],
  },
  NAMESPACE: {
    rfc: 'RFC 2342',
    summary: 'The client can ask for the personal, other users’ and shared namespaces',
    effect: 'The client learns the mailbox prefix and hierarchy delimiter to use.',
    example: ['C: a1 NAMESPACE', 'S: * NAMESPACE (("" "/")) NIL NIL', 'S: a1 OK NAMESPACE completed'],
  },
  UNSELECT: {
    rfc: 'RFC 3691',
    summary: 'UNSELECT closes the mailbox without expunging',
    effect: 'Unlike CLOSE, messages flagged \\Deleted stay.',
    example: ['C: a1 UNSELECT', 'S: a1 OK UNSELECT completed'],
  },
  'COMPRESS=DEFLATE': {
    rfc: 'RFC 4978',
    summary: 'The connection can be compressed with DEFLATE',
    effect:
      'After COMPRESS DEFLATE and the OK, both directions are compressed; the lab still shows the lines decompressed.',
    example: ['C: a1 COMPRESS DEFLATE', 'S: a1 OK DEFLATE active'],
  },
  'UTF8=ACCEPT': {
    rfc: 'RFC 6855',
    summary: 'Mailbox names, strings and messages may be in UTF-8 once enabled',
    effect: 'After ENABLE UTF8=ACCEPT names are sent as UTF-8 instead of modified UTF-7.',
    example: ['C: a1 ENABLE UTF8=ACCEPT', 'S: * ENABLED UTF8=ACCEPT', 'C: a2 CREATE "Brèves"'],
  },
  CHILDREN: {
    rfc: 'RFC 3348',
    summary: 'LIST says whether a mailbox has children',
    effect:
      'LIST replies carry \\HasChildren or \\HasNoChildren, so a client can draw a folder tree without more LISTs.',
    example: ['C: a1 LIST "" "*"', 'S: * LIST (\\HasNoChildren) "/" "INBOX"'],
  },
  'SPECIAL-USE': {
    rfc: 'RFC 6154',
    summary: 'LIST marks special mailboxes: \\Sent, \\Drafts, \\Trash, \\Junk, \\Archive',
    effect: 'A client finds the Sent or Trash mailbox whatever its name or language.',
    example: ['C: a1 LIST "" "*"', 'S: * LIST (\\HasNoChildren \\Sent) "/" "Sent"'],
  },
  'CREATE-SPECIAL-USE': {
    rfc: 'RFC 6154',
    section: '3',
    summary: 'CREATE may give a new mailbox a special-use attribute',
    effect: 'The client can create e.g. its Sent mailbox and mark it at once.',
    example: ['C: a1 CREATE "Verzonden" (USE (\\Sent))', 'S: a1 OK CREATE completed'],
  },
  'LIST-EXTENDED': {
    rfc: 'RFC 5258',
    summary: 'LIST takes selection and return options',
    effect: 'E.g. LIST (SUBSCRIBED) "" "*" or RETURN (CHILDREN SPECIAL-USE) in one command.',
    example: ['C: a1 LIST (SUBSCRIBED) "" "*"', 'S: * LIST (\\Subscribed) "/" "INBOX"'],
  },
  'LIST-STATUS': {
    rfc: 'RFC 5819',
    summary: 'LIST can return STATUS counters for each mailbox',
    effect: 'One LIST … RETURN (STATUS (MESSAGES UNSEEN)) replaces a STATUS command per mailbox.',
    example: [
      'C: a1 LIST "" "*" RETURN (STATUS (UNSEEN))',
      'S: * LIST () "/" "INBOX"',
      'S: * STATUS "INBOX" (UNSEEN 2)',
    ],
  },
  'STATUS=SIZE': {
    rfc: 'RFC 8438',
    summary: 'STATUS can report the total size of a mailbox',
    effect: 'STATUS mailbox (SIZE) gives the size in octets without fetching every message size.',
    example: ['C: a1 STATUS INBOX (SIZE)', 'S: * STATUS "INBOX" (SIZE 48210)'],
  },
  QUOTA: {
    rfc: 'RFC 9208',
    summary: 'The client can see the account’s storage quota and usage',
    effect:
      'GETQUOTAROOT INBOX returns the limits that apply and how much is used; a full account answers NO [OVERQUOTA].',
    example: ['C: a1 GETQUOTAROOT INBOX', 'S: * QUOTAROOT INBOX ""', 'S: * QUOTA "" (STORAGE 512 10240)'],
  },
  'QUOTA=RES-STORAGE': {
    rfc: 'RFC 9208',
    section: '5.1',
    summary: 'The quota counts storage (in units of 1024 octets)',
    effect: 'QUOTA responses have a STORAGE resource.',
    example: ['S: * QUOTA "" (STORAGE 512 10240)'],
  },
  ESEARCH: {
    rfc: 'RFC 4731',
    summary: 'SEARCH can return counts, min, max or a compact set instead of a long list',
    effect: 'SEARCH RETURN (COUNT MIN MAX) gives only those; large results come as ranges (1:500).',
    example: ['C: a1 SEARCH RETURN (COUNT) UNSEEN', 'S: * ESEARCH (TAG "a1") COUNT 3'],
  },
  SEARCHRES: {
    rfc: 'RFC 5182',
    summary: 'A SEARCH result can be saved as $ and used in the next command',
    effect: 'SEARCH RETURN (SAVE) … then FETCH $ … works without sending the numbers back.',
    example: ['C: a1 SEARCH RETURN (SAVE) UNSEEN', 'C: a2 FETCH $ (FLAGS)'],
  },
  WITHIN: {
    rfc: 'RFC 5032',
    summary: 'SEARCH OLDER n and YOUNGER n (seconds)',
    effect: 'Find messages received within the last n seconds.',
    example: ['C: a1 SEARCH YOUNGER 3600', 'S: * SEARCH 7 8'],
  },
  SORT: {
    rfc: 'RFC 5256',
    summary: 'The server sorts messages (by date, from, subject, size…)',
    effect:
      'SORT (DATE) UTF-8 ALL returns message numbers in sorted order; the client need not fetch all headers to sort.',
    example: ['C: a1 SORT (REVERSE DATE) UTF-8 ALL', 'S: * SORT 5 3 4 1 2'],
  },
  'SORT=DISPLAY': {
    rfc: 'RFC 5957',
    summary: 'SORT by the displayed name (DISPLAYFROM, DISPLAYTO)',
    effect: 'Sorts by the name a client shows rather than by the address.',
    example: ['C: a1 SORT (DISPLAYFROM) UTF-8 ALL'],
  },
  ESORT: {
    rfc: 'RFC 5267',
    summary: 'SORT can return ESEARCH-style results (counts, min, max, partial)',
    effect: 'SORT RETURN (COUNT) … gives a count instead of the whole list.',
    example: ['C: a1 SORT RETURN (COUNT) (DATE) UTF-8 ALL', 'S: * ESEARCH (TAG "a1") COUNT 12'],
  },
  'THREAD=': {
    rfc: 'RFC 5256',
    summary: 'The server groups messages into conversations with this algorithm',
    effect:
      'THREAD REFERENCES UTF-8 ALL returns trees of message numbers; REFERENCES follows In-Reply-To/References, ORDEREDSUBJECT groups by subject.',
    example: ['C: a1 THREAD REFERENCES UTF-8 ALL', 'S: * THREAD (1 2)(3 (4)(5))'],
  },
  UIDPLUS: {
    rfc: 'RFC 4315',
    summary: 'APPEND, COPY and MOVE report the UIDs of the new messages; UID EXPUNGE',
    effect: 'Replies carry [APPENDUID …] and [COPYUID …], so a client knows the new messages without searching.',
    example: ['C: a1 COPY 1 Archive', 'S: a1 OK [COPYUID 1 4 12] COPY completed'],
  },
  MOVE: {
    rfc: 'RFC 6851',
    summary: 'MOVE moves messages to another mailbox in one step',
    effect: 'Instead of COPY, STORE \\Deleted and EXPUNGE; the source sees EXPUNGE responses.',
    example: ['C: a1 MOVE 1 Archive', 'S: * OK [COPYUID 1 4 13]', 'S: * 1 EXPUNGE', 'S: a1 OK MOVE completed'],
  },
  MULTIAPPEND: {
    rfc: 'RFC 3502',
    summary: 'One APPEND can add several messages at once',
    effect: 'All messages are added, or none.',
    example: ['C: a1 APPEND Sent {300+}', 'C: (message 1) {280+}', 'C: (message 2)'],
  },
  BINARY: {
    rfc: 'RFC 3516',
    summary: 'FETCH BINARY[…] returns a part decoded (no base64), APPEND may send binary',
    effect: 'Saves the client the decoding and 33% of the transfer for base64 attachments.',
    example: ['C: a1 FETCH 1 BINARY.SIZE[2]', 'S: * 1 FETCH (BINARY.SIZE[2] 18200)'],
  },
  CONDSTORE: {
    rfc: 'RFC 7162',
    section: '3.1',
    summary: 'Every change gets a mod-sequence, so a client fetches only what changed',
    effect: 'FETCH … (CHANGEDSINCE n) and STORE (UNCHANGEDSINCE n); SELECT reports [HIGHESTMODSEQ].',
    example: ['C: a1 FETCH 1:* (FLAGS) (CHANGEDSINCE 120)', 'S: * 3 FETCH (FLAGS (\\Seen) MODSEQ (124))'],
  },
  QRESYNC: {
    rfc: 'RFC 7162',
    section: '3.2',
    summary: 'Quick resynchronisation: SELECT reports what changed and what vanished since last time',
    effect:
      'After ENABLE QRESYNC, SELECT … (QRESYNC (uidvalidity modseq)) returns changed FETCH and VANISHED responses; EXPUNGE becomes VANISHED.',
    example: [
      'C: a1 SELECT INBOX (QRESYNC (67890007 120))',
      'S: * VANISHED (EARLIER) 41,43:116',
      'S: * 49 FETCH (UID 117 FLAGS (\\Seen) MODSEQ (127))',
    ],
  },
  OBJECTID: {
    rfc: 'RFC 8474',
    summary: 'Mailboxes and messages have permanent ids (MAILBOXID, EMAILID, THREADID)',
    effect: 'A client recognises a renamed mailbox or a moved message by its id.',
    example: ['C: a1 FETCH 1 (EMAILID)', 'S: * 1 FETCH (EMAILID (M6d99ac3275bb4e))'],
  },
  PREVIEW: {
    rfc: 'RFC 8970',
    summary: 'FETCH PREVIEW returns a short plain-text preview of the message',
    effect: 'A client shows the first words of each message without downloading the body.',
    example: ['C: a1 FETCH 1 (PREVIEW)', 'S: * 1 FETCH (PREVIEW "Hi Ludo, the meeting moves to…")'],
  },
  'APPENDLIMIT=': {
    rfc: 'RFC 7889',
    summary: 'The largest message APPEND accepts, in bytes',
    effect:
      'A client can refuse to upload a too-big message before sending it; APPEND over the limit gets NO [TOOBIG].',
    example: [
      'S: * CAPABILITY … APPENDLIMIT=26214400',
      'C: a1 APPEND INBOX {40000000}',
      'S: a1 NO [TOOBIG] Message too big',
    ],
  },
};

/** ManageSieve capabilities (RFC 5804 §1.7), as `NAME value` (the greeting's `"NAME" "value"` unquoted). */
const MANAGESIEVE: Record<string, Entry> = {
  IMPLEMENTATION: {
    rfc: 'RFC 5804',
    section: '1.7',
    summary: 'The server software and its version',
    effect: 'Informational only; clients must not change behaviour because of it.',
    example: ['S: "IMPLEMENTATION" "postbode 0.1.0"'],
  },
  SASL: {
    rfc: 'RFC 5804',
    section: '1.7',
    summary: 'The SASL mechanisms AUTHENTICATE accepts (may be empty before STARTTLS)',
    effect:
      'AUTHENTICATE "PLAIN" with the base64 of NUL user NUL password logs in (readable by anyone on the wire without TLS). An empty list before TLS means: send STARTTLS first.',
    example: ['C: AUTHENTICATE "PLAIN" "AGx1ZG9AZXhhbXBsZS50ZXN0AHNlY3JldA=="', 'S: OK "Logged in."'],
  },
  SIEVE: {
    rfc: 'RFC 5804',
    section: '1.7',
    summary: 'The Sieve extensions a script may `require` (each explained in the Sieve section)',
    effect:
      'A script that requires an extension not listed here is refused by PUTSCRIPT and CHECKSCRIPT with NO and the line of the require.',
    example: ['S: "SIEVE" "fileinto vacation imap4flags"', 'C: PUTSCRIPT "x" {23+}', 'C: require "fileinto";', 'S: OK'],
  },
  STARTTLS: {
    rfc: 'RFC 5804',
    section: '2.2',
    summary: 'The connection can be switched to TLS encryption',
    effect:
      'After STARTTLS and OK both sides run a TLS handshake; the server then sends its capabilities again by itself, now with the SASL mechanisms that need TLS.',
    example: ['C: STARTTLS', 'S: OK', '(TLS handshake)', 'S: "IMPLEMENTATION" "postbode 0.1.0"', 'S: …', 'S: OK'],
  },
  VERSION: {
    rfc: 'RFC 5804',
    section: '1.7',
    summary: 'The protocol version: "1.0" is RFC 5804 (with CHECKSCRIPT, RENAMESCRIPT, NOOP, UNAUTHENTICATE)',
    effect: 'A server without VERSION speaks an older draft, where those commands may be missing.',
    example: ['S: "VERSION" "1.0"'],
  },
  MAXREDIRECTS: {
    rfc: 'RFC 5804',
    section: '1.7',
    summary: 'The most redirect actions one script run may take',
    effect: 'A script with more redirects fails at delivery; the message is then kept in INBOX (RFC 5228 §2.10.6).',
    example: ['S: "MAXREDIRECTS" "4"'],
  },
  NOTIFY: {
    rfc: 'RFC 5804',
    section: '1.7',
    summary: 'The notification methods of the enotify extension (RFC 5435), e.g. mailto',
    effect: 'Listed only when the server supports "enotify".',
    example: ['S: "NOTIFY" "mailto"'],
  },
  UNAUTHENTICATE: {
    rfc: 'RFC 5804',
    section: '2.14',
    summary: 'UNAUTHENTICATE logs out but keeps the connection',
    effect: 'A client can log in again as someone else without a new connection (and TLS handshake).',
    example: ['C: UNAUTHENTICATE', 'S: OK', 'C: AUTHENTICATE "PLAIN" "…"'],
  },
  OWNER: {
    rfc: 'RFC 5804',
    section: '1.7',
    summary: 'Whose scripts this session manages (after login)',
    effect: 'Sent only in the capabilities after AUTHENTICATE, e.g. when the client asks CAPABILITY again.',
    example: ['C: CAPABILITY', 'S: "OWNER" "ludo@example.test"'],
  },
  LANGUAGE: {
    rfc: 'RFC 5804',
    section: '1.7',
    summary: 'The language of the human-readable texts in responses',
    effect: 'Informational; "i-default" is the default.',
    example: ['S: "LANGUAGE" "en"'],
  },
};

/** Sieve extensions (the words of the SIEVE capability), with the RFC that defines each. */
const SIEVE: Record<string, Entry> = {
  fileinto: {
    rfc: 'RFC 5228',
    section: '4.1',
    summary: 'fileinto stores the message in another folder instead of INBOX',
    effect: 'The message is filed there and not kept in INBOX (unless keep or :copy says so).',
    example: ['require "fileinto";', 'if header :contains "list-id" "lab" { fileinto "Lists/Lab"; }'],
  },
  reject: {
    rfc: 'RFC 5429',
    section: '2.2',
    summary: 'reject refuses the message with a reason the sender gets back',
    effect:
      'At SMTP time the server answers 550 with the reason when it can; otherwise the sender gets a bounce (an MDN).',
    example: ['require "reject";', 'if size :over 10M { reject "Too big; send a link instead."; }'],
  },
  ereject: {
    rfc: 'RFC 5429',
    section: '2.1',
    summary: 'ereject refuses the message in the SMTP dialogue itself (550), not with a bounce',
    effect: 'The sending server sees the refusal at once; no bounce is sent to a possibly forged sender.',
    example: ['require "ereject";', 'if header :contains "subject" "casino" { ereject "No thanks."; }'],
  },
  envelope: {
    rfc: 'RFC 5228',
    section: '5.4',
    summary: 'envelope tests the SMTP envelope (MAIL FROM, RCPT TO) instead of the header',
    effect: 'The envelope says who really sent and to whom it was delivered, e.g. for mail to an alias or a BCC.',
    example: ['require "envelope";', 'if envelope :is "to" "ludo+lists@example.test" { fileinto "Lists"; }'],
  },
  'encoded-character': {
    rfc: 'RFC 5228',
    section: '2.4.2.4',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Sieve's own ${…} syntax, not a template
    summary: 'Strings may contain ${hex:…} and ${unicode:…} for characters hard to type',
    effect: 'Lets a script name a byte or character by its number, e.g. a non-breaking space.',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Sieve's own ${…} syntax, not a template
    example: ['require "encoded-character";', 'if header :contains "subject" "${unicode:2764}" { keep; }'],
  },
  copy: {
    rfc: 'RFC 3894',
    summary: ':copy on fileinto and redirect keeps the message where it would have gone too',
    effect: 'fileinto :copy or redirect :copy does not cancel the implicit keep: INBOX gets the message as well.',
    example: ['require ["copy", "fileinto"];', 'fileinto :copy "Archive";'],
  },
  imap4flags: {
    rfc: 'RFC 5232',
    summary: 'Scripts set IMAP flags (\\Seen, \\Flagged, keywords) on the message they keep or file',
    effect:
      'addflag/setflag/removeflag change the flags for later actions; :flags gives one action its own; hasflag tests.',
    example: ['require "imap4flags";', 'if address :is "from" "boss@example.test" { addflag "\\\\Flagged"; }'],
  },
  body: {
    rfc: 'RFC 5173',
    summary: 'The body test looks at the message text, not only the header',
    effect: ':text tests the decoded text parts, :raw the undecoded body, :content the parts of given types.',
    example: ['require "body";', 'if body :text :contains "unsubscribe" { fileinto "Bulk"; }'],
  },
  variables: {
    rfc: 'RFC 5229',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Sieve's own ${…} syntax, not a template
    summary: 'Variables: set, ${name} in strings, and the parts a :matches wildcard matched (${1})',
    effect: 'With :matches a script can reuse what matched, e.g. file by the list name or the +detail.',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Sieve's own ${…} syntax, not a template
    example: ['require ["variables", "fileinto"];', 'if header :matches "list-id" "*<*.*>" { fileinto "Lists/${2}"; }'],
  },
  relational: {
    rfc: 'RFC 5231',
    summary: ':value and :count compare with gt, ge, lt, le, eq, ne instead of only equality',
    effect: 'Compares strings, or numbers with the i;ascii-numeric comparator, and counts header fields.',
    example: [
      'require "relational";',
      'if header :value "ge" :comparator "i;ascii-numeric" "x-spam-score" "5" { discard; }',
    ],
  },
  'comparator-i;ascii-numeric': {
    rfc: 'RFC 4790',
    section: '9.1',
    summary: 'The comparator that compares strings as decimal numbers',
    effect:
      'With relational, "10" is greater than "9" (as text it is not). Strings not starting with a digit count as infinity.',
    example: ['require ["relational", "comparator-i;ascii-numeric"];'],
  },
  date: {
    rfc: 'RFC 5260',
    section: '4',
    summary: 'date tests a date header, currentdate the time of delivery, by part (date, hour, weekday…)',
    effect: 'Lets a vacation reply or a rule work only in a period, or on weekends.',
    example: [
      'require ["date", "relational", "vacation"];',
      'if currentdate :value "ge" "date" "2026-12-20" { vacation "Away until January."; }',
    ],
  },
  index: {
    rfc: 'RFC 5260',
    section: '6',
    summary: ':index n picks the nth occurrence of a header field (:last counts from the end)',
    effect: 'For example the first Received: field, the one your own server added.',
    example: ['require ["date", "index"];', 'if date :index 1 :value "ge" "received" "hour" "18" { … }'],
  },
  subaddress: {
    rfc: 'RFC 5233',
    summary: ':user and :detail test the parts of user+detail@domain',
    effect: 'Mail to ludo+shop@example.test is delivered to ludo and the script can file it by "shop".',
    example: [
      'require ["subaddress", "envelope", "fileinto"];',
      'if envelope :detail "to" "shop" { fileinto "Shopping"; }',
    ],
  },
  vacation: {
    rfc: 'RFC 5230',
    summary: 'vacation answers automatically, once per sender in a period (:days, 7 by default)',
    effect:
      'No reply to lists, bulk mail, auto-replies, the null sender or mail not addressed to you (§4.5). The reply has Auto-Submitted: auto-replied.',
    example: ['require "vacation";', 'vacation :days 1 :subject "Away" "Back on Monday.";'],
  },
  'vacation-seconds': {
    rfc: 'RFC 6131',
    summary: 'vacation :seconds gives the period in seconds instead of days',
    effect: 'For short periods, e.g. answering at most once an hour (:seconds 3600).',
    example: ['require "vacation-seconds";', 'vacation :seconds 3600 "In a meeting.";'],
  },
  include: {
    rfc: 'RFC 6609',
    summary: 'include runs another script of the user (:personal) or of the server (:global)',
    effect: 'Shared rules live in one script; return ends an included script early.',
    example: ['require "include";', 'include :personal "spam-rules";'],
  },
  mailbox: {
    rfc: 'RFC 5490',
    section: '3',
    summary: 'mailboxexists tests for a folder, and fileinto :create makes a missing one',
    effect: 'Without :create, fileinto to a folder that does not exist fails and the message is kept in INBOX.',
    example: ['require ["fileinto", "mailbox"];', 'fileinto :create "Lists/New";'],
  },
  environment: {
    rfc: 'RFC 5183',
    summary: 'environment tests facts about the server: its domain, host, name, version, remote-ip…',
    effect: 'A script can behave differently per server or on the client address that delivered the mail.',
    example: ['require "environment";', 'if environment :is "name" "postbode" { keep; }'],
  },
  duplicate: {
    rfc: 'RFC 7352',
    summary: 'duplicate is true for a message (Message-ID, or a :uniqueid) seen before in a period',
    effect: 'Drops copies that arrive twice, e.g. through a list and directly.',
    example: ['require "duplicate";', 'if duplicate { discard; }'],
  },
  editheader: {
    rfc: 'RFC 5293',
    summary: 'addheader and deleteheader change the header of the message',
    effect: 'Not offered by postbode.',
    example: ['require "editheader";', 'addheader "X-Filtered" "yes";'],
  },
  enotify: {
    rfc: 'RFC 5435',
    summary: 'notify sends a notification (e.g. a short mail) about a message',
    effect: 'Not offered by postbode.',
    example: ['require "enotify";', 'notify "mailto:me@example.test";'],
  },
};

const TABLES: Record<Proto, Record<string, Entry>> = {
  smtp: SMTP,
  pop3: POP3,
  imap: IMAP,
  managesieve: MANAGESIEVE,
  sieve: SIEVE,
};

/** The table key for an advertised keyword: `SIZE 1000` → SIZE, `AUTH=PLAIN` → AUTH=. */
function keyOf(proto: Proto, advertised: string): string[] {
  const word = advertised.trim().split(/\s+/)[0] ?? '';
  const upper = word.toUpperCase();
  const keys = [word, upper];
  const eq = word.indexOf('=');
  if (eq > 0) keys.push(upper.slice(0, eq + 1));
  if (proto === 'imap') keys.push(...Object.keys(IMAP).filter((k) => k.toUpperCase() === upper));
  return keys;
}

/** The entry for one advertised keyword, or null when the lab does not know it. */
export function lookupCapability(proto: Proto, advertised: string): Capability | null {
  const table = TABLES[proto];
  for (const key of keyOf(proto, advertised)) {
    const entry = Object.hasOwn(table, key) ? table[key] : undefined;
    if (entry) return toCapability(advertised.trim(), entry);
  }
  return null;
}

function toCapability(keyword: string, e: Entry): Capability {
  const num = Number(e.rfc.replace(/^RFC /, ''));
  const parameter = parameterNote(keyword);
  return {
    keyword,
    rfc: e.section ? `${e.rfc} §${e.section}` : e.rfc,
    url: e.url ?? rfcUrl(num, e.section ?? null),
    summary: e.summary,
    effect: parameter ? `${e.effect} ${parameter}` : e.effect,
    example: e.example,
  };
}

/** Says what the parameter of an advertised keyword means here. */
function parameterNote(keyword: string): string {
  const [word, ...params] = keyword.split(/\s+/);
  const upper = word.toUpperCase();
  if (upper === 'SIZE' && params[0]) return `This server: ${Number(params[0]).toLocaleString('en')} bytes.`;
  if ((upper === 'AUTH' || upper === 'SASL') && params.length) return `Mechanisms offered here: ${params.join(', ')}.`;
  if (upper.startsWith('AUTH=')) return `Mechanism: ${word.slice(5)}.`;
  if (upper.startsWith('THREAD=')) return `Algorithm: ${word.slice(7)}.`;
  if (upper.startsWith('APPENDLIMIT=')) return `This server: ${Number(word.slice(12)).toLocaleString('en')} bytes.`;
  if (upper === 'IMPLEMENTATION' && params.length) return `Here: ${params.join(' ')}.`;
  if (upper === 'EXPIRE' && params.length) return `Here: ${params.join(' ')}.`;
  if (upper === 'SIEVE' && params.length) return `This server: ${params.length} extensions, listed below.`;
  if ((upper === 'MAXREDIRECTS' || upper === 'VERSION' || upper === 'OWNER') && params.length)
    return `Here: ${params.join(' ')}.`;
  return '';
}

function generic(proto: Proto, keyword: string): Capability {
  const where = {
    smtp: 'EHLO reply',
    pop3: 'CAPA list',
    imap: 'CAPABILITY list',
    managesieve: 'ManageSieve capabilities',
    sieve: 'SIEVE capability (ManageSieve)',
  }[proto];
  const registry = proto === 'sieve' ? 'Sieve' : proto === 'managesieve' ? 'ManageSieve' : proto.toUpperCase();
  return {
    keyword,
    rfc: '',
    url: 'https://www.iana.org/protocols',
    summary: `An extension keyword the lab has no explanation for yet`,
    effect: `The server lists “${keyword}” in its ${where}; look it up in the IANA registry of ${registry} extensions.`,
    example: [],
  };
}

/**
 * Every advertised keyword explained, per protocol; `sieve` has one entry per Sieve extension of the
 * ManageSieve SIEVE capability.
 */
export function explainCapabilities(advertised: {
  smtp: string[];
  pop3: string[];
  imap: string[];
  managesieve?: string[];
}): CapabilitiesResponse {
  const one = (proto: Proto, list: string[]): Capability[] => {
    const out = list.map((k) => lookupCapability(proto, k) ?? generic(proto, k.trim()));
    // ManageSieve lists "SASL" even when it offers nothing (an empty value, RFC 5804 §1.7).
    const auth = out.find(
      (c) =>
        /^AUTH\b|^SASL\s+\S|^USER$|^AUTH=/i.test(c.keyword) || (proto !== 'managesieve' && /^SASL$/i.test(c.keyword)),
    );
    const tls = out.find((c) => /^(STARTTLS|STLS)$/i.test(c.keyword));
    if (tls && !auth) {
      const logins = { smtp: 'AUTH', pop3: 'USER, SASL', imap: 'AUTH=', managesieve: 'SASL', sieve: '' }[proto];
      tls.effect += ` Logins (${logins}) are offered only after it: this list was read before TLS.`;
    }
    return out;
  };
  const managesieve = advertised.managesieve ?? [];
  const extensions = managesieve
    .find((k) => /^SIEVE(\s|$)/i.test(k))
    ?.trim()
    .split(/\s+/)
    .slice(1);
  return {
    smtp: one('smtp', advertised.smtp),
    pop3: one('pop3', advertised.pop3),
    imap: one('imap', advertised.imap),
    managesieve: one('managesieve', managesieve),
    sieve: one('sieve', extensions ?? []),
  };
}

/** Whether the lab has a real explanation for a keyword (used by the tests). */
export function isExplained(proto: Proto, keyword: string): boolean {
  return lookupCapability(proto, keyword) !== null;
}

// ---------------------------------------------------------------------------------------------
// Asking the running server.

const PROBE_TIMEOUT_MS = 5000;

/**
 * Connects to the server's own plaintext listeners and reads what they advertise before TLS and
 * before login: the EHLO keywords (from `smtp`, else `submission`), the POP3 CAPA list, the IMAP
 * CAPABILITY list and the ManageSieve greeting (as `NAME value`). A listener bound to 0.0.0.0 or :: is reached on loopback. A protocol without a
 * reachable plaintext listener gives an empty list.
 */
export async function probeAdvertised(
  listeners: { name: string; host: string; port: number }[],
): Promise<{ smtp: string[]; pop3: string[]; imap: string[]; managesieve: string[] }> {
  const find = (...names: string[]) => {
    for (const n of names) {
      const l = listeners.find((x) => x.name === n && x.port > 0);
      if (l) return { host: loopback(l.host), port: l.port };
    }
    return null;
  };
  const smtpAt = find('smtp', 'submission');
  const pop3At = find('pop3');
  const imapAt = find('imap');
  const sieveAt = find('managesieve');
  const [smtp, pop3, imap, managesieve] = await Promise.all([
    smtpAt ? probeSmtp(smtpAt).catch(() => []) : [],
    pop3At ? probePop3(pop3At).catch(() => []) : [],
    imapAt ? probeImap(imapAt).catch(() => []) : [],
    sieveAt ? probeManageSieve(sieveAt).catch(() => []) : [],
  ]);
  return { smtp, pop3, imap, managesieve };
}

function loopback(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host.replace(/^\[|\]$/g, '');
}

/** A tiny line conversation: `step` gets each line and returns lines to send, or null when done. */
function converse(at: { host: string; port: number }, step: (line: string) => string[] | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: at.host, port: at.port });
    let buf = '';
    const timer = setTimeout(
      () => finish(new Error(`no answer from ${at.host}:${at.port} in ${PROBE_TIMEOUT_MS} ms`)),
      PROBE_TIMEOUT_MS,
    );
    const finish = (err?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    socket.setEncoding('utf8');
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new Error('connection closed before the answer was complete')));
    socket.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        const send = step(line);
        if (send === null) {
          socket.end();
          return finish();
        }
        for (const s of send) socket.write(`${s}\r\n`);
      }
    });
  });
}

async function probeSmtp(at: { host: string; port: number }): Promise<string[]> {
  const keywords: string[] = [];
  let sentEhlo = false;
  await converse(at, (line) => {
    if (!sentEhlo) {
      if (/^220 /.test(line)) {
        sentEhlo = true;
        return ['EHLO lab.postbode'];
      }
      return /^\d{3} /.test(line) ? null : []; // refused, or more greeting lines
    }
    const m = /^250([ -])(.*)$/.exec(line);
    if (!m) return null;
    if (keywords.length > 0 || m[1] === ' ') keywords.push(m[2].trim());
    else keywords.push(''); // the first line is the greeting, not a keyword
    if (m[1] === ' ') return null;
    return [];
  });
  return keywords.slice(1).filter(Boolean);
}

async function probePop3(at: { host: string; port: number }): Promise<string[]> {
  const caps: string[] = [];
  let phase: 'greeting' | 'status' | 'list' = 'greeting';
  await converse(at, (line) => {
    if (phase === 'greeting') {
      phase = 'status';
      return line.startsWith('+OK') ? ['CAPA'] : null;
    }
    if (phase === 'status') {
      if (!line.startsWith('+OK')) return null;
      phase = 'list';
      return [];
    }
    if (line === '.') return null;
    caps.push(line);
    return [];
  });
  return caps;
}

async function probeImap(at: { host: string; port: number }): Promise<string[]> {
  let caps: string[] = [];
  let asked = false;
  await converse(at, (line) => {
    if (!asked) {
      asked = true;
      return ['p1 CAPABILITY'];
    }
    const m = /^\* CAPABILITY (.*)$/i.exec(line);
    if (m) caps = m[1].trim().split(/\s+/);
    if (line.startsWith('p1 ')) return null;
    return [];
  });
  return caps;
}

/** RFC 5804 §1.7: the greeting is `"NAME" ["value"]` lines ending with OK; read them and LOGOUT. */
async function probeManageSieve(at: { host: string; port: number }): Promise<string[]> {
  const caps: string[] = [];
  await converse(at, (line) => {
    if (/^(OK|NO|BYE)\b/i.test(line)) {
      return null;
    }
    const m = /^"([^"]*)"(?: "((?:[^"\\]|\\.)*)")?$/.exec(line);
    if (m) caps.push(m[2] ? `${m[1]} ${m[2].replace(/\\(.)/g, '$1')}` : m[1]);
    return [];
  });
  return caps;
}
