/**
 * What the server advertises (RFC 9051 §7.2.2), derived from the session's state and the commands
 * that are implemented. An extension is listed only when it is complete.
 */
import type { ImapSession } from './session.js';

/**
 * Extensions available once logged in (RFC 9051 §6.1.1: the list may change after login).
 * One per line: add a name only when the extension is complete and tested.
 */
const AUTHENTICATED: string[] = [
  'NAMESPACE', // RFC 2342
  'UNSELECT', // RFC 3691
  'COMPRESS=DEFLATE', // RFC 4978
];

export function capabilities(s: ImapSession): string[] {
  const caps = ['IMAP4rev1', 'IMAP4rev2', 'LITERAL+', 'SASL-IR', 'ID', 'ENABLE', 'IDLE'];
  if (s.state === 'not-authenticated') {
    if (!s.conn.secure && s.settings.tlsContext) caps.push('STARTTLS');
    if (s.backend.auth.plaintextAllowed(s.conn)) caps.push('AUTH=PLAIN', 'AUTH=LOGIN');
    else caps.push('LOGINDISABLED');
    return caps;
  }
  for (const c of AUTHENTICATED) if (!caps.includes(c)) caps.push(c);
  caps.push(`APPENDLIMIT=${s.settings.maxMessageSize}`);
  return caps;
}
