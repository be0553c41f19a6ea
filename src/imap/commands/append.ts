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
import { type JsonValue, type MessageInfo, OverQuotaError, StoreNotFoundError } from '../../store/types.js';
import { compactNumbers } from '../wire/seqset.js';
import { unstorableFlag } from './store.js';
import { AUTHED, command } from './types.js';

export const append = command({
  name: 'APPEND',
  states: AUTHED,
  async run(s, tag, cmd) {
    for (const m of cmd.messages) {
      const bad = unstorableFlag(m.flags);
      if (bad !== null)
        return s.bad(tag, `${bad} cannot be set; flags are \\Seen \\Answered \\Flagged \\Deleted \\Draft or keywords`);
      // RFC 6855 §4: the UTF8 form of APPEND belongs to UTF8=ACCEPT.
      if (m.utf8 && !s.enabled.has('UTF8=ACCEPT'))
        return s.bad(tag, 'APPEND UTF8 (...) needs ENABLE UTF8=ACCEPT first');
    }
    const mailbox = await s.store.mailboxes.get(s.user!.id, cmd.mailbox);
    if (!mailbox) {
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
          flags: m.flags,
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
