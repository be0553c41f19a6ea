/** What each client command asks for, and where its RFC defines it. Data only. */
import { type RfcRef, rfc } from './rfc.js';

export interface CommandInfo {
  summary: string;
  rfc: RfcRef;
}

export const SMTP_COMMANDS: Record<string, CommandInfo> = {
  EHLO: { summary: 'Says hello with the client’s name and asks for the list of extensions', rfc: rfc(5321, '4.1.1.1') },
  HELO: { summary: 'Says hello with the client’s name (plain SMTP, no extensions)', rfc: rfc(5321, '4.1.1.1') },
  MAIL: {
    summary: 'Starts a mail transaction and gives the sender (reverse-path, used for bounces)',
    rfc: rfc(5321, '4.1.1.2'),
  },
  RCPT: { summary: 'Names one recipient (forward-path); repeat for each recipient', rfc: rfc(5321, '4.1.1.3') },
  DATA: { summary: 'Asks to send the message itself (header and body)', rfc: rfc(5321, '4.1.1.4') },
  RSET: { summary: 'Aborts the current mail transaction', rfc: rfc(5321, '4.1.1.5') },
  VRFY: { summary: 'Asks whether a user or mailbox exists', rfc: rfc(5321, '4.1.1.6') },
  EXPN: { summary: 'Asks for the members of a mailing list', rfc: rfc(5321, '4.1.1.7') },
  HELP: { summary: 'Asks for help text', rfc: rfc(5321, '4.1.1.8') },
  NOOP: { summary: 'Does nothing; checks that the server answers', rfc: rfc(5321, '4.1.1.9') },
  QUIT: { summary: 'Ends the session', rfc: rfc(5321, '4.1.1.10') },
  STARTTLS: { summary: 'Asks to switch this connection to TLS', rfc: rfc(3207, '4') },
  AUTH: { summary: 'Starts a SASL login with the named mechanism', rfc: rfc(4954, '4') },
  BDAT: { summary: 'Sends the next chunk of the message as a counted number of bytes (CHUNKING)', rfc: rfc(3030, '2') },
};

export const POP3_COMMANDS: Record<string, CommandInfo> = {
  USER: { summary: 'Gives the user name (the password follows with PASS)', rfc: rfc(1939, '7') },
  PASS: { summary: 'Gives the password for the USER name', rfc: rfc(1939, '7') },
  APOP: { summary: 'Logs in with an MD5 digest of the greeting’s timestamp and a shared secret', rfc: rfc(1939, '7') },
  AUTH: { summary: 'Starts a SASL login with the named mechanism', rfc: rfc(5034, '4') },
  STAT: { summary: 'Asks for the number of messages and their total size', rfc: rfc(1939, '5') },
  LIST: { summary: 'Asks for the size of each message (or of one message)', rfc: rfc(1939, '5') },
  RETR: { summary: 'Asks for one whole message', rfc: rfc(1939, '5') },
  DELE: { summary: 'Marks one message for deletion (done at QUIT, in the UPDATE state)', rfc: rfc(1939, '5') },
  NOOP: { summary: 'Does nothing; checks that the server answers', rfc: rfc(1939, '5') },
  RSET: { summary: 'Unmarks all messages marked for deletion', rfc: rfc(1939, '5') },
  QUIT: {
    summary: 'Ends the session; in TRANSACTION it first deletes the marked messages (UPDATE)',
    rfc: rfc(1939, '6'),
  },
  TOP: { summary: 'Asks for the header and the first n body lines of a message', rfc: rfc(1939, '7') },
  UIDL: { summary: 'Asks for the unique, permanent id of each message', rfc: rfc(1939, '7') },
  CAPA: { summary: 'Asks for the list of capabilities', rfc: rfc(2449, '5') },
  STLS: { summary: 'Asks to switch this connection to TLS', rfc: rfc(2595, '4') },
};

const r9 = (section: string) => rfc(9051, section);

export const IMAP_COMMANDS: Record<string, CommandInfo> = {
  CAPABILITY: { summary: 'Asks for the list of capabilities', rfc: r9('6.1.1') },
  NOOP: { summary: 'Does nothing, but lets the server report changes (new mail, flags)', rfc: r9('6.1.2') },
  LOGOUT: { summary: 'Ends the session', rfc: r9('6.1.3') },
  STARTTLS: { summary: 'Asks to switch this connection to TLS', rfc: r9('6.2.1') },
  AUTHENTICATE: { summary: 'Starts a SASL login with the named mechanism', rfc: r9('6.2.2') },
  LOGIN: { summary: 'Logs in with a user name and a password', rfc: r9('6.2.3') },
  ENABLE: { summary: 'Turns on extensions that change how the server answers', rfc: r9('6.3.1') },
  SELECT: { summary: 'Opens a mailbox read-write; the server reports its size, flags and UIDs', rfc: r9('6.3.2') },
  EXAMINE: { summary: 'Opens a mailbox read-only', rfc: r9('6.3.3') },
  CREATE: { summary: 'Creates a mailbox', rfc: r9('6.3.4') },
  DELETE: { summary: 'Deletes a mailbox', rfc: r9('6.3.5') },
  RENAME: { summary: 'Renames a mailbox', rfc: r9('6.3.6') },
  SUBSCRIBE: { summary: 'Adds a mailbox to the subscribed list', rfc: r9('6.3.7') },
  UNSUBSCRIBE: { summary: 'Removes a mailbox from the subscribed list', rfc: r9('6.3.8') },
  LIST: { summary: 'Lists mailbox names matching a pattern', rfc: r9('6.3.9') },
  LSUB: { summary: 'Lists subscribed mailboxes (IMAP4rev1)', rfc: rfc(3501, '6.3.9') },
  NAMESPACE: { summary: 'Asks for the personal, other users’ and shared namespaces', rfc: r9('6.3.10') },
  STATUS: { summary: 'Asks for counters of a mailbox without selecting it', rfc: r9('6.3.11') },
  APPEND: { summary: 'Stores a new message (sent as a literal) in a mailbox', rfc: r9('6.3.12') },
  IDLE: { summary: 'Waits for the server to report changes as they happen, until DONE', rfc: r9('6.3.13') },
  DONE: { summary: 'Ends IDLE', rfc: r9('6.3.13') },
  CHECK: { summary: 'Requests a checkpoint of the mailbox (IMAP4rev1)', rfc: rfc(3501, '6.4.1') },
  CLOSE: { summary: 'Expunges \\Deleted messages (read-write) and closes the mailbox', rfc: r9('6.4.1') },
  UNSELECT: { summary: 'Closes the mailbox without expunging', rfc: r9('6.4.2') },
  EXPUNGE: { summary: 'Removes all messages flagged \\Deleted', rfc: r9('6.4.3') },
  SEARCH: { summary: 'Finds messages matching criteria', rfc: r9('6.4.4') },
  FETCH: { summary: 'Retrieves data of messages (flags, envelope, body parts…)', rfc: r9('6.4.5') },
  STORE: { summary: 'Changes the flags of messages', rfc: r9('6.4.6') },
  COPY: { summary: 'Copies messages to another mailbox', rfc: r9('6.4.7') },
  MOVE: { summary: 'Moves messages to another mailbox', rfc: r9('6.4.8') },
  UID: { summary: 'The same command with UIDs instead of sequence numbers', rfc: r9('6.4.9') },
  ID: { summary: 'Exchanges client and server identification (name, version)', rfc: rfc(2971, '3.1') },
  COMPRESS: { summary: 'Turns on DEFLATE compression of the connection', rfc: rfc(4978, '3') },
  GETQUOTA: { summary: 'Asks for a quota root’s limits and usage', rfc: rfc(9208, '4.2') },
  GETQUOTAROOT: { summary: 'Asks which quota roots apply to a mailbox, and their usage', rfc: rfc(9208, '4.3') },
  SETQUOTA: { summary: 'Changes a quota (administrators)', rfc: rfc(9208, '4.4') },
  SORT: { summary: 'Searches and returns the messages sorted', rfc: rfc(5256, '3') },
  THREAD: { summary: 'Searches and returns the messages grouped in threads', rfc: rfc(5256, '3') },
};

/** Untagged data responses `* NAME ...` or `* n NAME ...` (RFC 9051 §7 unless noted). */
export const IMAP_UNTAGGED: Record<string, CommandInfo> = {
  CAPABILITY: { summary: 'The capabilities of the server', rfc: r9('7.2.2') },
  ENABLED: { summary: 'The extensions ENABLE has turned on', rfc: r9('7.2.1') },
  LIST: { summary: 'One mailbox: attributes, hierarchy delimiter, name', rfc: r9('7.3.1') },
  LSUB: { summary: 'One subscribed mailbox (IMAP4rev1)', rfc: rfc(3501, '7.2.3') },
  NAMESPACE: { summary: 'The namespaces of the server', rfc: r9('7.3.2') },
  STATUS: { summary: 'The counters of a mailbox', rfc: r9('7.3.3') },
  ESEARCH: { summary: 'The result of a SEARCH (counts, min, max, all as a compact set)', rfc: r9('7.3.4') },
  SEARCH: { summary: 'The message numbers (or UIDs) a SEARCH found (IMAP4rev1)', rfc: rfc(3501, '7.2.5') },
  SORT: { summary: 'The message numbers in sorted order', rfc: rfc(5256, '4') },
  THREAD: { summary: 'The messages as threads (parenthesised trees)', rfc: rfc(5256, '4') },
  FLAGS: { summary: 'The flags defined in the selected mailbox', rfc: r9('7.3.5') },
  EXISTS: { summary: 'The number of messages in the mailbox (sent when it changes)', rfc: r9('7.4.1') },
  RECENT: { summary: 'The number of messages with \\Recent (IMAP4rev1)', rfc: rfc(3501, '7.3.2') },
  EXPUNGE: { summary: 'This message number was removed; higher numbers shift down by one', rfc: r9('7.5.1') },
  FETCH: { summary: 'Data about one message (answer to FETCH/STORE, or a change report)', rfc: r9('7.5.2') },
  VANISHED: { summary: 'These UIDs were removed (QRESYNC, instead of EXPUNGE)', rfc: rfc(7162, '3.2.10') },
  QUOTA: { summary: 'A quota root’s usage and limit', rfc: rfc(9208, '5.1') },
  QUOTAROOT: { summary: 'The quota roots of a mailbox', rfc: rfc(9208, '5.2') },
  ID: { summary: 'The server’s identification', rfc: rfc(2971, '3.2') },
};

const r58 = (section: string) => rfc(5804, section);

/** ManageSieve commands (RFC 5804 §2). */
export const MANAGESIEVE_COMMANDS: Record<string, CommandInfo> = {
  AUTHENTICATE: { summary: 'Starts a SASL login with the named mechanism', rfc: r58('2.1') },
  STARTTLS: { summary: 'Asks to switch this connection to TLS', rfc: r58('2.2') },
  LOGOUT: { summary: 'Ends the session', rfc: r58('2.3') },
  CAPABILITY: { summary: 'Asks for the capabilities again (the server sent them in its greeting)', rfc: r58('2.4') },
  HAVESPACE: {
    summary: 'Asks whether a script of this name and size would fit the quota, before uploading it',
    rfc: r58('2.5'),
  },
  PUTSCRIPT: {
    summary: 'Uploads a script (a string or literal) under a name; the server checks it first',
    rfc: r58('2.6'),
  },
  LISTSCRIPTS: { summary: 'Asks for the names of the scripts, the active one marked ACTIVE', rfc: r58('2.7') },
  SETACTIVE: {
    summary: 'Makes one script the active one, the one run at delivery ("" deactivates all)',
    rfc: r58('2.8'),
  },
  GETSCRIPT: { summary: 'Asks for the source of one script', rfc: r58('2.9') },
  DELETESCRIPT: { summary: 'Deletes a script (not the active one)', rfc: r58('2.10') },
  RENAMESCRIPT: { summary: 'Renames a script; the active one stays active', rfc: r58('2.11') },
  CHECKSCRIPT: { summary: 'Checks a script for errors without storing it', rfc: r58('2.12') },
  NOOP: { summary: 'Does nothing; keeps the connection alive (an optional tag is echoed back)', rfc: r58('2.13') },
  UNAUTHENTICATE: { summary: 'Logs out but keeps the connection, to log in again as someone else', rfc: r58('2.14') },
};
