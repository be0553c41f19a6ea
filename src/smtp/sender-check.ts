/**
 * `smtp.sender_login_match`: an authenticated session sends only as addresses its account owns
 * (docs/security.md#sender-rules). Postfix's `reject_sender_login_mismatch`, made stricter for postbode,
 * whose users own only local addresses:
 *
 * - Applies to every authenticated session: submission (587/465) and AUTH on port 25. Unauthenticated
 *   port-25 mail (other MTAs, students typing by hand) is inbound mail and is never checked here.
 * - MAIL FROM:<x> is accepted when x is the login's own address or an address the backend says the
 *   login owns (an alias delivering to it); otherwise `553 5.7.1` (RFC 3463 X.7.1), as Postfix.
 *   Addresses at other domains have no owner, so they are refused too (Postfix would let them pass
 *   unless listed in smtpd_sender_login_maps).
 * - The null sender `<>` passes MAIL FROM, as in Postfix (which skips the check for it): MUAs send
 *   MDNs with it (RFC 8098 §2.1). Its From: header is still checked.
 * - At the end of DATA/BDAT LAST every mailbox of every From: field of the top-level header must be
 *   owned the same way, else `550 5.7.1` and nothing is stored. A From: whose address cannot be read
 *   is refused; a message without From: (or with only an empty group) passes, it claims no one.
 */
import { parseAddressList } from '../mail/address.js';
import { collapseWhitespace, fieldValue, scanHeader } from '../mail/header.js';
import { type Reply, reply } from './reply.js';
import type { SmtpSession } from './session.js';

/** The login whose senders are checked, or null when the rule does not apply to this session. */
function checkedLogin(s: SmtpSession): string | null {
  if (s.settings.senderLoginMatch === false) return null;
  return s.authUser;
}

/** Whether `login` may use `address` as a sender. */
async function owns(s: SmtpSession, login: string, address: string): Promise<boolean> {
  const lower = address.toLowerCase();
  const me = login.toLowerCase();
  if (lower === me) return true;
  if (!s.backend.senderOwners) return false;
  return (await s.backend.senderOwners(lower)).includes(me);
}

function advice(login: string): string {
  return `send as ${login} or one of its aliases, or ask the admin to set smtp.sender_login_match = false`;
}

/** The refusal of `MAIL FROM:<address>` for this session, or null when it may proceed. */
export async function senderRefusal(s: SmtpSession, address: string): Promise<Reply | null> {
  const login = checkedLogin(s);
  if (login === null || address === '') return null;
  if (await owns(s, login, address)) return null;
  return reply(553, '5.7.1', `Sender address <${address}> is not owned by user ${login}; ${advice(login)}`);
}

/** One mailbox of a From: field: its address, or the field text when no address could be read. */
export type FromMailbox = { address: string } | { unreadable: string };

/** The mailboxes of every From: field in the message's top-level header (group markers left out). */
export function fromHeaderMailboxes(message: Buffer): FromMailbox[] {
  const out: FromMailbox[] = [];
  for (const field of scanHeader(message).fields) {
    if (field.name.toLowerCase() !== 'from') continue;
    const value = fieldValue(message, field.valueStart, field.valueEnd);
    for (const [, , mailbox, host] of parseAddressList(value)) {
      if (host === null) continue; // the start or end of a group (RFC 5322 §3.4)
      const broken =
        mailbox === null ||
        mailbox === 'MISSING_MAILBOX' ||
        host === 'MISSING_DOMAIN' ||
        host === 'SYNTAX_ERROR' ||
        host === '';
      out.push(broken ? { unreadable: printable(value).slice(0, 100) } : { address: printable(`${mailbox}@${host}`) });
    }
  }
  return out;
}

/** Header text fit for one reply line: whitespace runs as one space, other control characters as '?'. */
function printable(text: string): string {
  return collapseWhitespace(text).replace(/[\x00-\x1f\x7f]/g, '?');
}

/**
 * Checks the From: header of a message about to be delivered. When it names an address the login does
 * not own, answers `550 5.7.1` and returns true: the caller stores nothing and ends the transaction.
 */
export async function refuseForeignFrom(s: SmtpSession, message: Buffer): Promise<boolean> {
  const login = checkedLogin(s);
  if (login === null) return false;
  for (const m of fromHeaderMailboxes(message)) {
    let text: string | null = null;
    if ('unreadable' in m) {
      text = `From: header "${m.unreadable}" holds no address user ${login} owns; ${advice(login)}`;
    } else if (!(await owns(s, login, m.address))) {
      text = `From: address <${m.address}> is not owned by user ${login}; ${advice(login)}`;
    }
    if (text !== null) {
      s.stats.rejected++;
      s.send(reply(550, '5.7.1', text));
      s.conn.trace.state('greeted');
      return true;
    }
  }
  return false;
}
