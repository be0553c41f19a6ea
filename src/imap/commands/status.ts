/**
 * STATUS (RFC 9051 §6.3.11) with SIZE (RFC 8438), HIGHESTMODSEQ (RFC 7162 §3.1.7),
 * APPENDLIMIT (RFC 7889), MAILBOXID (RFC 8474), DELETED-STORAGE (RFC 9208 §4.1.4). `statusResponse` is
 * shared with LIST RETURN (STATUS ...) (RFC 5819).
 *
 * - STATUS of the selected mailbox is allowed (RFC 9051 §6.3.11: servers MUST be able to do it); the
 *   session first announces pending changes, so the counts agree with what the client was told.
 * - Items come back in the order asked, each once. RECENT counts the messages no read-write session
 *   has claimed as \Recent yet (RFC 3501 §6.3.10, src/imap/recent.ts); for the selected mailbox, the
 *   messages \Recent in this session (what its SELECT and RECENT responses said).
 * - MAILBOXID is `M` + the store's mailbox id: stable across RENAME, never reused (RFC 8474 §4).
 */
import { type Mailbox, type MessageInfo, StoreNotFoundError } from '../../store/types.js';
import { usageKiB } from '../quota.js';
import { RecentClaims } from '../recent.js';
import type { ImapSession } from '../session.js';
import { type ParseContext, printable } from '../wire/commands.js';
import type { ResponseBuilder } from '../wire/encoder.js';
import type { Reader } from '../wire/reader.js';
import { mailboxArg } from './grammar.js';
import { AUTHED, command } from './types.js';

/**
 * RFC 8474 §4: the object id of a mailbox. It is built from the UIDVALIDITY, which the store hands out
 * once per mailbox creation across the whole database and keeps across RENAME, so an id is never given
 * to another mailbox (a row id could be, after a delete).
 */
export function mailboxObjectId(mailbox: Mailbox): string {
  return `M${mailbox.uidValidity}`;
}

/**
 * `* STATUS name (item value ...)` for one mailbox, or null when the mailbox disappeared meanwhile.
 * RFC 9051 §7.3.3 (STATUS response).
 */
export async function statusResponse(
  s: ImapSession,
  mailbox: Mailbox,
  requested: readonly StatusItem[],
): Promise<ResponseBuilder | null> {
  const items = [...new Set(requested)];
  // RFC 7162 §3.1: STATUS (HIGHESTMODSEQ) is a CONDSTORE enabling command.
  if (items.includes('HIGHESTMODSEQ')) s.enable('CONDSTORE');
  let st: Awaited<ReturnType<typeof s.store.mailboxes.status>>;
  try {
    st = await s.store.mailboxes.status(mailbox.id);
  } catch (err) {
    if (err instanceof StoreNotFoundError) return null;
    throw err;
  }
  let deleted: MessageInfo[] = [];
  if (items.includes('DELETED') || items.includes('DELETED-STORAGE')) {
    // The store's status() has no \Deleted counts (see the report); one pass over the message list.
    deleted = (await s.store.messages.list(mailbox.id)).filter((m) => m.flags.includes('\\Deleted'));
  }
  let recent = 0;
  const sel = s.selected;
  if (items.includes('RECENT') && sel && sel.mailbox.id === mailbox.id && sel.mailbox.uidValidity === st.uidValidity) {
    // The selected mailbox (its changes were announced first): the messages \Recent in this session,
    // as SELECT and RECENT responses count them (RFC 3501 §2.3.2, §6.3.10).
    recent = sel.recentCount;
  } else if (items.includes('RECENT')) {
    const claimed = RecentClaims.of(s.store).claimed({ id: mailbox.id, uidValidity: st.uidValidity });
    if (claimed < st.uidNext - 1)
      recent = (await s.store.messages.list(mailbox.id)).filter((m) => m.uid > claimed).length;
  }
  const w = s.builder().untagged().raw('STATUS ').mailbox(mailbox.name).raw(' (');
  items.forEach((item, i) => {
    if (i > 0) w.sp();
    w.raw(`${item} `);
    switch (item) {
      case 'MESSAGES':
        w.number(st.messages);
        break;
      case 'UIDNEXT':
        w.number(st.uidNext);
        break;
      case 'UIDVALIDITY':
        w.number(st.uidValidity);
        break;
      case 'UNSEEN':
        w.number(st.unseen);
        break;
      case 'DELETED': // RFC 9051 §6.3.11: messages with \Deleted
        w.number(deleted.length);
        break;
      case 'SIZE': // RFC 8438: total octets (the sum of RFC822.SIZE)
        w.number(st.size);
        break;
      case 'HIGHESTMODSEQ': // RFC 7162 §3.1.7
        w.number(st.highestModseq);
        break;
      case 'RECENT': // RFC 3501 §6.3.10
        w.number(recent);
        break;
      case 'APPENDLIMIT': // RFC 7889: the largest message APPEND accepts into this mailbox
        w.number(s.settings.maxMessageSize);
        break;
      case 'MAILBOXID': // RFC 8474 §4
        w.raw(`(${mailboxObjectId(mailbox)})`);
        break;
      case 'DELETED-STORAGE': // RFC 9208 §4.1.4: what EXPUNGE would free, in units of 1024 octets
        w.number(usageKiB(deleted.reduce((sum, m) => sum + m.size, 0)));
        break;
      default: {
        const never: never = item;
        throw new Error(`unhandled STATUS item ${never}`);
      }
    }
  });
  return w.raw(')').crlf();
}

export const status = command({
  name: 'STATUS',
  parse: parseStatus,
  states: AUTHED,
  async run(s, tag, cmd) {
    const mailbox = await s.store.mailboxes.get(s.user!.id, cmd.mailbox);
    if (!mailbox) {
      return s.no(tag, `Mailbox "${cmd.mailbox}" does not exist; LIST "" "*" shows your mailboxes`, 'NONEXISTENT');
    }
    // RFC 9051 §6.3.11: allowed on the selected mailbox; bring the client's view up to date first.
    if (s.selected?.mailbox.id === mailbox.id) await s.announce(true);
    const w = await statusResponse(s, mailbox, cmd.items);
    if (!w) return s.no(tag, `Mailbox "${cmd.mailbox}" was just deleted`, 'NONEXISTENT');
    s.send(w);
    s.ok(tag, 'STATUS completed');
  },
});

/** RFC 9051 §6.3.11: the mailbox and the items asked for, in order (repeats kept). */
export interface StatusCommand {
  name: 'STATUS';
  mailbox: string;
  items: StatusItem[];
}

/** RFC 9051 §6.3.11 and extensions: STATUS items. */
export type StatusItem =
  | 'MESSAGES'
  | 'UIDNEXT'
  | 'UIDVALIDITY'
  | 'UNSEEN'
  | 'DELETED' // RFC 9051
  | 'SIZE' // RFC 8438
  | 'HIGHESTMODSEQ' // RFC 7162 §3.1.8
  | 'RECENT' // RFC 3501 only
  | 'APPENDLIMIT' // RFC 7889 §3
  | 'MAILBOXID' // RFC 8474 §4.2
  | 'DELETED-STORAGE'; // RFC 9208 §4.2.2

const STATUS_ITEMS: readonly StatusItem[] = [
  'MESSAGES',
  'UIDNEXT',
  'UIDVALIDITY',
  'UNSEEN',
  'DELETED',
  'SIZE',
  'HIGHESTMODSEQ',
  'RECENT',
  'APPENDLIMIT',
  'MAILBOXID',
  'DELETED-STORAGE',
];

/** RFC 9051 §9: `"(" status-att *(SP status-att) ")"` (also LIST RETURN (STATUS ...), RFC 5819 §2). */
export function statusItems(r: Reader): StatusItem[] {
  return r.list(
    () => {
      const at = r.pos;
      const item = r.keyword('a STATUS item');
      if (!(STATUS_ITEMS as readonly string[]).includes(item)) r.fail(`unknown STATUS item "${printable(item)}"`, at);
      return item as StatusItem;
    },
    { what: 'the STATUS item list' },
  );
}

/** RFC 9051 §6.3.11: `status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"`. */
function parseStatus(ctx: ParseContext): StatusCommand {
  const mailbox = mailboxArg(ctx);
  ctx.r.sp('after the mailbox name');
  return { name: 'STATUS', mailbox, items: statusItems(ctx.r) };
}
