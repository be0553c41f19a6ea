/**
 * What reply codes mean: SMTP basic codes (RFC 5321 §4.2), enhanced status codes (RFC 3463 and the
 * IANA registry of RFC 5248), POP3 response codes (RFC 2449 §8, RFC 3206) and IMAP response codes
 * (RFC 9051 §7.1 and extensions). Data only; annotate.ts decides which entry a line needs.
 */
import { type RfcRef, rfc } from './rfc.js';

// ---------------------------------------------------------------------------------------------
// SMTP basic reply codes (RFC 5321 §4.2.1: first digit = class, second = category).

export const SMTP_CLASS: Record<string, string> = {
  '2': 'Positive completion: the requested action has been done',
  '3': 'Positive intermediate: the command was accepted, send more information',
  '4': 'Transient negative completion: not done this time, the same command may work later',
  '5': 'Permanent negative completion: not done, and repeating the same command will not help',
};

export const SMTP_CATEGORY: Record<string, string> = {
  '0': 'syntax',
  '1': 'information',
  '2': 'connections (the transmission channel)',
  '3': 'unspecified',
  '4': 'unspecified',
  '5': 'mail system (the state of the receiver for the requested transfer)',
};

interface CodeInfo {
  text: string;
  rfc: RfcRef;
}

const S5321 = rfc(5321, '4.2.3');
const S4954 = rfc(4954, '6');

/** The meaning of each basic code, as the RFC that defines it words it. */
export const SMTP_CODES: Record<number, CodeInfo> = {
  211: { text: 'System status, or system help reply', rfc: S5321 },
  214: { text: 'Help message: how to use the receiver or the meaning of a non-standard command', rfc: S5321 },
  220: { text: 'Service ready', rfc: S5321 },
  221: { text: 'Service closing transmission channel', rfc: S5321 },
  235: { text: 'Authentication successful', rfc: S4954 },
  250: { text: 'Requested mail action okay, completed', rfc: S5321 },
  251: { text: 'User not local; will forward', rfc: S5321 },
  252: { text: 'Cannot VRFY user, but will accept the message and attempt delivery', rfc: S5321 },
  334: { text: 'Server challenge: send the next SASL response (base64)', rfc: rfc(4954, '4') },
  354: { text: 'Start mail input; end with <CRLF>.<CRLF>', rfc: S5321 },
  421: { text: 'Service not available, closing transmission channel', rfc: S5321 },
  432: { text: 'A password transition is needed', rfc: S4954 },
  450: { text: 'Requested mail action not taken: mailbox unavailable (e.g. busy or blocked for policy)', rfc: S5321 },
  451: { text: 'Requested action aborted: local error in processing', rfc: S5321 },
  452: { text: 'Requested action not taken: insufficient system storage (or too many recipients)', rfc: S5321 },
  454: { text: 'Temporary authentication failure (or TLS not available for a temporary reason)', rfc: S4954 },
  455: { text: 'Server unable to accommodate parameters', rfc: S5321 },
  500: { text: 'Syntax error, command unrecognized (or a command line too long)', rfc: S5321 },
  501: { text: 'Syntax error in parameters or arguments', rfc: S5321 },
  502: { text: 'Command not implemented', rfc: S5321 },
  503: { text: 'Bad sequence of commands', rfc: S5321 },
  504: { text: 'Command parameter not implemented', rfc: S5321 },
  521: { text: 'Host does not accept mail', rfc: rfc(7504, '3') },
  530: { text: 'Authentication required', rfc: S4954 },
  534: { text: 'Authentication mechanism is too weak', rfc: S4954 },
  535: { text: 'Authentication credentials invalid', rfc: S4954 },
  538: { text: 'Encryption required for requested authentication mechanism', rfc: S4954 },
  550: {
    text: 'Requested action not taken: mailbox unavailable (not found, no access, or refused by policy)',
    rfc: S5321,
  },
  551: { text: 'User not local; please try <forward-path>', rfc: S5321 },
  552: { text: 'Requested mail action aborted: exceeded storage allocation', rfc: S5321 },
  553: { text: 'Requested action not taken: mailbox name not allowed (e.g. bad syntax)', rfc: S5321 },
  554: { text: 'Transaction failed (or, as a greeting, no SMTP service here)', rfc: S5321 },
  555: { text: 'MAIL FROM/RCPT TO parameters not recognized or not implemented', rfc: S5321 },
  556: { text: 'Domain does not accept mail', rfc: rfc(7504, '3') },
};

/**
 * What a code means as the answer to one particular command (`VERB code`), where that says more than
 * the generic text. `END` is the end of the message data (the `.` line after DATA, or BDAT LAST).
 */
export const SMTP_IN_CONTEXT: Record<string, string> = {
  'CONNECT 220': 'The greeting: the server is ready; the client should now say EHLO (or HELO)',
  'CONNECT 421': 'The server refuses the connection for now (too busy or shutting down); try again later',
  'CONNECT 554': 'The server refuses to talk SMTP with this client; it will only accept QUIT',
  'EHLO 250': 'Hello accepted; the lines after the first list the extensions (keywords) this server supports',
  'HELO 250': 'Hello accepted (HELO: no extension list, so the client may only use basic SMTP)',
  'MAIL 250': 'The sender (reverse-path) is accepted; a mail transaction has begun, now name the recipients',
  'RCPT 250': 'This recipient is accepted; add more with RCPT TO or send the message with DATA',
  'RCPT 251': 'The recipient is not local but the server will forward the message',
  'RCPT 550': 'This recipient is refused; the transaction goes on for the other recipients',
  'RCPT 551': 'The recipient is not local here; the reply names where to send instead',
  'RCPT 553': 'The recipient address is not acceptable (its syntax or domain)',
  'RCPT 452': 'Too many recipients, or no room for now; send the rest in another transaction',
  'RCPT 450': 'The mailbox cannot take mail right now; try again later',
  'DATA 354': 'Go ahead: send the message (header, blank line, body) and end it with a line holding only "."',
  'DATA 554': 'No valid recipients, so there is nothing to send the message to',
  'END 250': 'The message is accepted: from now on the server is responsible for delivering it',
  'END 552': 'The message is too big (or over quota); nothing was stored',
  'END 554': 'The message was refused; nothing was stored',
  'END 451': 'The server failed while storing the message; the client must send it again later',
  'BDAT 250': 'The chunk is received; with LAST, the whole message is accepted for delivery',
  'RSET 250': 'The mail transaction (sender, recipients, data) is thrown away; the session stays greeted',
  'NOOP 250': 'Nothing happens: NOOP only checks that the server still answers',
  'QUIT 221': 'Goodbye: the server closes the connection',
  'STARTTLS 220': 'Start the TLS handshake now; afterwards the client must send EHLO again (RFC 3207 §4.2)',
  'STARTTLS 454': 'TLS is not available for a temporary reason',
  'AUTH 235': 'Logged in: the following MAIL commands are sent as this user',
  'AUTH 334': 'A SASL challenge (base64): answer with one base64 line, or "*" to cancel',
  'AUTH 535': 'Wrong user name or password',
  'AUTH 538': 'This mechanism sends the password readable; use STARTTLS first',
  'AUTH 504': 'The server does not know this SASL mechanism; EHLO lists the ones it offers after AUTH',
  'HELP 214': 'The help text',
  'VRFY 252': 'The server will not say whether this user exists (common, against address harvesting)',
};

// ---------------------------------------------------------------------------------------------
// Enhanced status codes (RFC 3463 §2-3, the registry of RFC 5248 at IANA).

export const ENHANCED_CLASS: Record<string, string> = {
  '2': 'Success',
  '4': 'Persistent transient failure',
  '5': 'Permanent failure',
};

export const ENHANCED_SUBJECT: Record<string, string> = {
  '0': 'Other or undefined status',
  '1': 'Addressing status',
  '2': 'Mailbox status',
  '3': 'Mail system status',
  '4': 'Network and routing status',
  '5': 'Mail delivery protocol status',
  '6': 'Message content or media status',
  '7': 'Security or policy status',
};

/** Where a detail code is registered when that is not RFC 3463 itself. */
const IANA = 'https://www.iana.org/assignments/smtp-enhanced-status-codes/smtp-enhanced-status-codes.xhtml';

/** `subject.detail` → [meaning, RFC number (0: see the IANA registry)]. */
export const ENHANCED_DETAIL: Record<string, [string, number]> = {
  '0.0': ['Other undefined status', 3463],
  '1.0': ['Other address status', 3463],
  '1.1': ['Bad destination mailbox address', 3463],
  '1.2': ['Bad destination system address', 3463],
  '1.3': ['Bad destination mailbox address syntax', 3463],
  '1.4': ['Destination mailbox address ambiguous', 3463],
  '1.5': ['Destination address valid', 3463],
  '1.6': ['Destination mailbox has moved, no forwarding address', 3463],
  '1.7': ["Bad sender's mailbox address syntax", 3463],
  '1.8': ["Bad sender's system address", 3463],
  '1.9': ['Message relayed to non-compliant mailer', 3886],
  '1.10': ['Recipient address has null MX', 7505],
  '2.0': ['Other or undefined mailbox status', 3463],
  '2.1': ['Mailbox disabled, not accepting messages', 3463],
  '2.2': ['Mailbox full', 3463],
  '2.3': ['Message length exceeds administrative limit', 3463],
  '2.4': ['Mailing list expansion problem', 3463],
  '3.0': ['Other or undefined mail system status', 3463],
  '3.1': ['Mail system full', 3463],
  '3.2': ['System not accepting network messages', 3463],
  '3.3': ['System not capable of selected features', 3463],
  '3.4': ['Message too big for system', 3463],
  '3.5': ['System incorrectly configured', 3463],
  '3.6': ['Requested priority was changed', 6710],
  '4.0': ['Other or undefined network or routing status', 3463],
  '4.1': ['No answer from host', 3463],
  '4.2': ['Bad connection', 3463],
  '4.3': ['Directory server failure', 3463],
  '4.4': ['Unable to route', 3463],
  '4.5': ['Mail system congestion', 3463],
  '4.6': ['Routing loop detected', 3463],
  '4.7': ['Delivery time expired', 3463],
  '5.0': ['Other or undefined protocol status', 3463],
  '5.1': ['Invalid command', 3463],
  '5.2': ['Syntax error', 3463],
  '5.3': ['Too many recipients', 3463],
  '5.4': ['Invalid command arguments', 3463],
  '5.5': ['Wrong protocol version', 3463],
  '5.6': ['Authentication exchange line is too long', 4954],
  '6.0': ['Other or undefined media error', 3463],
  '6.1': ['Media not supported', 3463],
  '6.2': ['Conversion required and prohibited', 3463],
  '6.3': ['Conversion required but not supported', 3463],
  '6.4': ['Conversion with loss performed', 3463],
  '6.5': ['Conversion failed', 3463],
  '6.6': ['Message content not available', 4468],
  '6.7': ['Non-ASCII addresses not permitted for that sender/recipient', 6531],
  '6.8': ['UTF-8 string reply is required, but not permitted by the SMTP client', 6531],
  '6.9': [
    'UTF-8 header message cannot be transferred to one or more recipients, so the message must be rejected',
    6531,
  ],
  '6.10': ['Duplicate of X.6.8 (deprecated)', 6531],
  '7.0': ['Other or undefined security status', 3463],
  '7.1': ['Delivery not authorized, message refused', 3463],
  '7.2': ['Mailing list expansion prohibited', 3463],
  '7.3': ['Security conversion required but not possible', 3463],
  '7.4': ['Security features not supported', 3463],
  '7.5': ['Cryptographic failure', 3463],
  '7.6': ['Cryptographic algorithm not supported', 3463],
  '7.7': ['Message integrity failure', 3463],
  '7.8': ['Authentication credentials invalid', 4954],
  '7.9': ['Authentication mechanism is too weak', 4954],
  '7.10': ['Encryption needed', 5248],
  '7.11': ['Encryption required for requested authentication mechanism', 4954],
  '7.12': ['A password transition is needed', 4954],
  '7.13': ['User account disabled', 5248],
  '7.14': ['Trust relationship required', 5248],
  '7.15': ['Priority level is too low', 6710],
  '7.16': ['Message is too big for the specified priority', 6710],
  '7.17': ['Mailbox owner has changed', 7293],
  '7.18': ['Domain owner has changed', 7293],
  '7.19': ['RRVS test cannot be completed', 7293],
  '7.20': ['No passing DKIM signature found', 7372],
  '7.21': ['No acceptable DKIM signature found', 7372],
  '7.22': ['No valid author-matched DKIM signature found', 7372],
  '7.23': ['SPF validation failed', 7372],
  '7.24': ['SPF validation error', 7372],
  '7.25': ['Reverse DNS validation failed', 7372],
  '7.26': ['Multiple authentication checks failed', 7372],
  '7.27': ['Sender address has null MX', 7505],
  '7.28': ['Mail flood detected', 0],
  '7.29': ['ARC validation failure', 8617],
  '7.30': ['REQUIRETLS support required', 8689],
};

export interface EnhancedExplanation {
  code: string;
  /** `Permanent failure · Addressing status · Bad destination mailbox address`. */
  text: string;
  /** Where the detail code is defined. */
  source: string;
  url: string;
}

/** Explains `class.subject.detail`, or null when the text is not an enhanced status code. */
export function explainEnhanced(code: string): EnhancedExplanation | null {
  const m = /^([245])\.(\d{1,3})\.(\d{1,3})$/.exec(code);
  if (!m) return null;
  const [, cls, subject, detail] = m;
  const parts = [ENHANCED_CLASS[cls], ENHANCED_SUBJECT[subject] ?? `Unregistered subject ${subject}`];
  const known = ENHANCED_DETAIL[`${subject}.${detail}`];
  parts.push(known ? known[0] : `Detail ${detail} is not in the registry`);
  const num = known?.[1] ?? 3463;
  return {
    code,
    text: parts.join(' · '),
    source: num === 0 ? 'IANA SMTP Enhanced Status Codes registry' : `RFC ${num}`,
    url: num === 0 ? IANA : `https://www.rfc-editor.org/rfc/rfc${num}`,
  };
}

// ---------------------------------------------------------------------------------------------
// POP3 response codes (RFC 2449 §8, RFC 3206).

export const POP3_RESP_CODES: Record<string, { text: string; rfc: RfcRef }> = {
  'IN-USE': {
    text: 'The maildrop is locked by another session (another client is connected to this mailbox)',
    rfc: rfc(2449, '8.1.1'),
  },
  'LOGIN-DELAY': {
    text: 'The user logged in too recently; wait longer between logins',
    rfc: rfc(2449, '8.1.2'),
  },
  'SYS/TEMP': { text: 'A temporary problem on the server, not the user’s fault; try again later', rfc: rfc(3206, '4') },
  'SYS/PERM': { text: 'A permanent problem on the server; ask its administrator', rfc: rfc(3206, '4') },
  AUTH: { text: 'The credentials are wrong (authentication failed), not a server problem', rfc: rfc(3206, '5') },
};

// ---------------------------------------------------------------------------------------------
// IMAP response codes (RFC 9051 §7.1 unless noted).

const R9051 = rfc(9051, '7.1');

export const IMAP_RESP_CODES: Record<string, { text: string; rfc: RfcRef }> = {
  ALERT: { text: 'A message the client must show to the user', rfc: R9051 },
  ALREADYEXISTS: { text: 'The mailbox (or object) already exists', rfc: R9051 },
  APPENDUID: { text: 'APPEND stored the message: UIDVALIDITY and the new message’s UID', rfc: rfc(4315, '3') },
  AUTHENTICATIONFAILED: { text: 'Wrong user name or password (or the login failed for another reason)', rfc: R9051 },
  AUTHORIZATIONFAILED: { text: 'The credentials are valid but may not be used as this identity', rfc: R9051 },
  BADCHARSET: { text: 'SEARCH with a charset the server does not support; the list follows', rfc: R9051 },
  CANNOT: { text: 'The operation violates a rule of the server and will never succeed', rfc: R9051 },
  CAPABILITY: { text: 'The capability list, so the client needs no separate CAPABILITY command', rfc: R9051 },
  CLIENTBUG: { text: 'The server detected a client bug (the command worked, but was odd)', rfc: R9051 },
  CLOSED: { text: 'The previously selected mailbox is now closed (sent when SELECT switches mailbox)', rfc: R9051 },
  COMPRESSIONACTIVE: { text: 'Compression is already on', rfc: rfc(4978, '3') },
  CONTACTADMIN: { text: 'The user should contact the administrator', rfc: R9051 },
  COPYUID: { text: 'COPY/MOVE result: UIDVALIDITY, source UIDs and their new UIDs', rfc: rfc(4315, '3') },
  CORRUPTION: { text: 'The server found corrupted data', rfc: R9051 },
  EXPIRED: { text: 'The password or account has expired', rfc: R9051 },
  EXPUNGEISSUED: { text: 'Another session expunged messages while this command ran', rfc: R9051 },
  HASCHILDREN: { text: 'The mailbox cannot be deleted because it has child mailboxes', rfc: R9051 },
  HIGHESTMODSEQ: { text: 'The highest mod-sequence of the mailbox (CONDSTORE)', rfc: rfc(7162, '3.1.2.1') },
  INUSE: { text: 'The resource is in use by another session; try again later', rfc: R9051 },
  LIMIT: { text: 'A server limit was reached (too many mailboxes, too long a name, …)', rfc: R9051 },
  MAILBOXID: { text: 'The mailbox’s permanent, unique object ID', rfc: rfc(8474, '4.1') },
  MODIFIED: { text: 'Messages that changed since UNCHANGEDSINCE and were not stored', rfc: rfc(7162, '3.1.3') },
  NOMODSEQ: { text: 'This mailbox does not keep mod-sequences', rfc: rfc(7162, '3.1.2.2') },
  NONEXISTENT: { text: 'The mailbox does not exist', rfc: R9051 },
  NOPERM: { text: 'No permission for this operation on the mailbox', rfc: R9051 },
  NOTSAVED: { text: 'The SEARCH result variable $ was not saved', rfc: rfc(5182, '2.1') },
  OVERQUOTA: { text: 'Over quota: the operation would exceed the account’s storage', rfc: R9051 },
  PARSE: { text: 'A message could not be parsed (e.g. a bad header)', rfc: R9051 },
  PERMANENTFLAGS: {
    text: 'The flags the client may change permanently; \\* means it may create new keywords',
    rfc: R9051,
  },
  PRIVACYREQUIRED: { text: 'The operation needs a private (encrypted) connection', rfc: R9051 },
  'READ-ONLY': { text: 'The mailbox is selected read-only (EXAMINE, or no write permission)', rfc: R9051 },
  'READ-WRITE': { text: 'The mailbox is selected read-write: flags may be changed, messages expunged', rfc: R9051 },
  SERVERBUG: { text: 'The server hit a bug; the problem was logged', rfc: R9051 },
  TOOBIG: { text: 'The message or literal is too big for this server', rfc: rfc(7889, '4') },
  TRYCREATE: { text: 'The target mailbox does not exist; CREATE it, then try again', rfc: R9051 },
  UIDNEXT: { text: 'The UID the next new message will probably get', rfc: R9051 },
  UIDNOTSTICKY: { text: 'The mailbox cannot keep UIDs across sessions', rfc: R9051 },
  UIDVALIDITY: { text: 'The UID validity value: while it stays the same, cached UIDs stay valid', rfc: R9051 },
  UNAVAILABLE: { text: 'A subsystem is temporarily down; try again later', rfc: R9051 },
  'UNKNOWN-CTE': { text: 'A body part has a content-transfer-encoding the server cannot decode', rfc: R9051 },
  UNSEEN: { text: 'The sequence number of the first message without \\Seen (IMAP4rev1)', rfc: rfc(3501, '7.1') },
  USEATTR: { text: 'The special-use attribute is not supported', rfc: rfc(6154, '6') },
};

export const IMAP_STATUS: Record<string, { text: string; rfc: RfcRef }> = {
  OK: { text: 'Success (tagged), or information (untagged)', rfc: rfc(9051, '7.1.1') },
  NO: { text: 'Operational error: the command was understood but failed', rfc: rfc(9051, '7.1.2') },
  BAD: { text: 'Protocol error: the command (or its state) was not acceptable', rfc: rfc(9051, '7.1.3') },
  PREAUTH: { text: 'Greeting: the connection is already authenticated', rfc: rfc(9051, '7.1.4') },
  BYE: { text: 'The server is about to close the connection', rfc: rfc(9051, '7.1.5') },
};

// ---------------------------------------------------------------------------------------------
// ManageSieve response codes (RFC 5804 §1.3), in parentheses after OK, NO or BYE.

const R5804 = rfc(5804, '1.3');

export const MANAGESIEVE_RESP_CODES: Record<string, { text: string; rfc: RfcRef }> = {
  'AUTH-TOO-WEAK': {
    text: 'The SASL mechanism is too weak for this user; the client must choose a stronger one',
    rfc: R5804,
  },
  'ENCRYPT-NEEDED': { text: 'This needs an encrypted connection: send STARTTLS first', rfc: R5804 },
  QUOTA: { text: 'A quota would be exceeded (no more detail given)', rfc: R5804 },
  'QUOTA/MAXSCRIPTS': { text: 'The account has the most scripts allowed: delete one first', rfc: R5804 },
  'QUOTA/MAXSIZE': { text: 'The script is larger than the server allows', rfc: R5804 },
  REFERRAL: { text: 'The account is served elsewhere: connect to the sieve URL given', rfc: R5804 },
  SASL: { text: 'The last SASL data of the server, sent with the final OK', rfc: R5804 },
  'TRANSITION-NEEDED': {
    text: 'Log in once with PLAIN (over TLS) so the server can prepare the stronger mechanism you asked for',
    rfc: R5804,
  },
  TRYLATER: { text: 'A temporary failure on the server: the same command may work later', rfc: R5804 },
  ACTIVE: { text: 'The script is the active one (it cannot be deleted; activate another first)', rfc: R5804 },
  NONEXISTENT: { text: 'There is no script of that name', rfc: R5804 },
  ALREADYEXISTS: { text: 'A script of that name exists already', rfc: R5804 },
  TAG: { text: 'The tag the client gave NOOP, echoed so it can match the answer', rfc: R5804 },
  WARNINGS: {
    text: 'The script was accepted, but the server has warnings about it (the text says which)',
    rfc: R5804,
  },
};
