/**
 * What the server advertises (RFC 9051 §7.2.2), derived from the session's state and the commands
 * that are implemented. An extension is listed only when it is complete.
 */
import { advertisedMechanisms } from '../auth/sasl.js';
import type { ImapSession } from './session.js';

/**
 * Extensions available once logged in (RFC 9051 §6.1.1: the list may change after login).
 * One per line: add a name only when the extension is complete and tested.
 */
export const AUTHENTICATED_CAPABILITIES: readonly string[] = [
  'NAMESPACE', // RFC 2342
  'UNSELECT', // RFC 3691
  'COMPRESS=DEFLATE', // RFC 4978
  'UTF8=ACCEPT', // RFC 6855: UTF-8 mailbox names, strings and APPEND UTF8 once enabled
  'CHILDREN', // RFC 3348
  'SPECIAL-USE', // RFC 6154
  'CREATE-SPECIAL-USE', // RFC 6154 §3
  'LIST-EXTENDED', // RFC 5258
  'LIST-STATUS', // RFC 5819
  'STATUS=SIZE', // RFC 8438
  'QUOTA', // RFC 9208
  'QUOTA=RES-STORAGE', // RFC 9208 §5.1
  'ESEARCH', // RFC 4731
  'SEARCHRES', // RFC 5182
  'WITHIN', // RFC 5032
  'SORT', // RFC 5256
  'SORT=DISPLAY', // RFC 5957
  'ESORT', // RFC 5267 §3 (RETURN options of SORT; not CONTEXT)
  'THREAD=ORDEREDSUBJECT', // RFC 5256
  'THREAD=REFERENCES', // RFC 5256
  'UIDPLUS', // RFC 4315
  'MOVE', // RFC 6851
  'MULTIAPPEND', // RFC 3502
  'BINARY', // RFC 3516
  'CONDSTORE', // RFC 7162 §3.1
  'QRESYNC', // RFC 7162 §3.2
  'OBJECTID', // RFC 8474
  'PREVIEW', // RFC 8970
];

export function capabilities(s: ImapSession): string[] {
  const caps = ['IMAP4rev1', 'IMAP4rev2', 'LITERAL+', 'SASL-IR', 'ID', 'ENABLE', 'IDLE'];
  if (s.state === 'not-authenticated') {
    if (!s.conn.secure && s.settings.tlsContext) caps.push('STARTTLS');
    if (s.backend.auth.plaintextAllowed(s.conn))
      for (const mech of advertisedMechanisms(s.backend.auth, s.conn)) caps.push(`AUTH=${mech}`);
    else caps.push('LOGINDISABLED');
    return caps;
  }
  for (const c of AUTHENTICATED_CAPABILITIES) if (!caps.includes(c)) caps.push(c);
  caps.push(`APPENDLIMIT=${s.settings.maxMessageSize}`);
  return caps;
}
