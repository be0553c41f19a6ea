/**
 * APPEND (RFC 9051 §6.3.12), with MULTIAPPEND (RFC 3502), APPENDUID (UIDPLUS, RFC 4315 §3), binary
 * literals (RFC 3516 §4.4) and APPENDLIMIT (RFC 7889).
 *
 * Invariants:
 * - The message bytes are stored exactly as sent (literal or literal8) and parsed once here
 *   (src/mail `parseMessage`) for FETCH; nothing is normalized.
 * - All messages of one APPEND are stored in one atomic store call: all or none (RFC 3502 §3).
 * - The tagged OK is sent only after the store resolved, i.e. after the data is on disk.
 * - Refusals: missing mailbox → NO [TRYCREATE] (RFC 9051 §6.3.12); beyond APPENDLIMIT → NO [TOOBIG]
 *   (RFC 7889 §4; the framing refuses larger literals before they are sent); over quota (the
 *   store's OverQuotaError) → NO [OVERQUOTA] (RFC 9208 §4.3.1); an empty message → NO; \Recent or an unknown system flag → BAD.
 * - Appending to the selected mailbox is announced (EXISTS) before the tagged OK (RFC 9051 §6.3.12).
 */
import { parseMessage } from '../../mail/index.js';
import { checkNewName } from '../../mail/mailbox-name.js';
import { MAX_KEYWORDS } from '../../store/normalize.js';
import { type JsonValue, type MessageInfo, OverQuotaError, StoreNotFoundError } from '../../store/types.js';
import type { ParseContext } from '../wire/commands.js';
import type { ImapDateTime } from '../wire/reader.js';
import { compactNumbers } from '../wire/seqset.js';
import { DQUOTE, LBRACE, LPAREN, mailboxArg, RPAREN, TILDE } from './grammar.js';
import { keywordSet, unstorableFlag } from './store.js';
import { AUTHED, command } from './types.js';

export const append = command({
  name: 'APPEND',
  parse: parseAppend,
  states: AUTHED,
  async run(s, tag, cmd) {
    for (const m of cmd.messages) {
      const bad = unstorableFlag(m.flags);
      if (bad !== null)
        return s.bad(tag, `${bad} cannot be set; flags are \\Seen \\Answered \\Flagged \\Deleted \\Draft or keywords`);
      // RFC 6855 §4: the UTF8 form of APPEND belongs to UTF8=ACCEPT.
      if (m.utf8 && !s.isEnabled('UTF8=ACCEPT')) return s.bad(tag, 'APPEND UTF8 (...) needs ENABLE UTF8=ACCEPT first');
      if (keywordSet(m.flags).size > MAX_KEYWORDS) {
        return s.no(tag, `Too many keywords: a message may have at most ${MAX_KEYWORDS}; use fewer`, 'LIMIT');
      }
    }
    const mailbox = await s.store.mailboxes.get(s.user!.id, cmd.mailbox);
    if (!mailbox) {
      // RFC 9051 §7.1: TRYCREATE only where a CREATE could make the mailbox.
      const check = checkNewName(cmd.mailbox);
      if (!check.ok) return s.no(tag, check.reason, check.limit ? 'LIMIT' : 'CANNOT');
      return s.no(tag, `Mailbox "${cmd.mailbox}" does not exist; CREATE it first`, 'TRYCREATE');
    }
    for (const m of cmd.messages) {
      if (m.data.length === 0) return s.no(tag, 'An empty message cannot be appended');
      // RFC 7889 §4: APPENDLIMIT.
      if (m.data.length > s.settings.maxMessageSize) {
        return s.no(tag, `The message is larger than the limit of ${s.settings.maxMessageSize} bytes`, 'TOOBIG');
      }
    }
    let infos: MessageInfo[];
    try {
      infos = await s.store.messages.appendMany(
        cmd.messages.map((m) => ({
          mailboxId: mailbox.id,
          raw: m.data,
          meta: parseMessage(m.data) as unknown as JsonValue,
          // One spelling per keyword in a mailbox (SelectedMailbox.canonicalFlags), as far as this session knows it.
          flags: s.selected?.mailbox.id === mailbox.id ? s.selected.canonicalFlags(m.flags) : m.flags,
          internalDate: m.internalDate?.date,
        })),
      );
    } catch (err) {
      if (err instanceof StoreNotFoundError) return s.no(tag, `Mailbox "${cmd.mailbox}" does not exist`, 'TRYCREATE');
      // The store decides the quota in the write, atomically with the insert (store/types.ts).
      if (err instanceof OverQuotaError) return s.no(tag, 'The message would exceed your storage quota', 'OVERQUOTA');
      throw err;
    }
    s.stats.appended += infos.length;
    // RFC 9051 §6.3.12: "the server SHOULD notify the client immediately via an untagged EXISTS".
    if (s.selected?.mailbox.id === mailbox.id) await s.announce(true);
    s.ok(tag, 'APPEND completed', {
      code: 'APPENDUID',
      uidValidity: mailbox.uidValidity,
      uids: compactNumbers(infos.map((i) => i.uid)),
    });
  },
});

/** RFC 9051 §6.3.12: the mailbox and the messages (several: MULTIAPPEND, RFC 3502). */
export interface AppendCommand {
  name: 'APPEND';
  mailbox: string;
  messages: AppendMessage[];
}

export interface AppendMessage {
  flags: string[];
  internalDate: ImapDateTime | null;
  /** The message, byte-exact (a view into the command). */
  data: Buffer;
  /** Sent as literal8 `~{n}` (RFC 3516 §4.4): may contain NUL and unencoded binary. */
  binary: boolean;
  /** Sent as `UTF8 (~{n})` (RFC 6855 §4): the message may have UTF-8 headers. */
  utf8: boolean;
}

/**
 * RFC 9051 §6.3.12: `append = "APPEND" SP mailbox 1*append-message` (several: MULTIAPPEND, RFC 3502 §6);
 * `append-message = append-opts SP append-data`; `append-opts = [SP flag-list] [SP date-time]`;
 * `append-data = literal / literal8` (RFC 3516 §4.4) `/ "UTF8" SP "(" literal8 ")"` (RFC 6855 §4).
 */
function parseAppend(ctx: ParseContext): AppendCommand {
  const { r } = ctx;
  const mailbox = mailboxArg(ctx);
  const messages: AppendMessage[] = [];
  do {
    r.sp(messages.length ? 'before the next message' : 'after the mailbox name');
    let flags: string[] = [];
    let internalDate: ImapDateTime | null = null;
    if (r.peek() === LPAREN) {
      flags = r.flagList();
      r.sp('after the flag list');
    }
    if (r.peek() === DQUOTE) {
      internalDate = r.dateTime();
      r.sp('after the date-time');
    }
    let utf8 = false;
    let lit: { data: Buffer; binary: boolean };
    const at = r.pos;
    if (r.tryKeyword('UTF8')) {
      utf8 = true;
      r.sp('after UTF8');
      r.byte(LPAREN, '"(" before the UTF8 message literal');
      lit = r.literal(true);
      r.byte(RPAREN, '")" after the UTF8 message literal');
    } else if (r.tryKeyword('CATENATE')) {
      return r.fail('CATENATE (RFC 4469) is not supported', at);
    } else if (r.peek() === LBRACE || (r.peek() === TILDE && r.peek(1) === LBRACE)) {
      lit = r.literal(true);
    } else {
      return r.expected('the message as a literal {n} or ~{n}');
    }
    messages.push({ flags, internalDate, data: lit.data, binary: lit.binary, utf8 });
  } while (!r.atEnd);
  return { name: 'APPEND', mailbox, messages };
}
