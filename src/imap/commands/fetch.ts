/**
 * FETCH and UID FETCH (RFC 9051 §6.4.5, §6.4.9), with CONDSTORE/QRESYNC modifiers (RFC 7162 §3.1.4,
 * §3.2.6), BINARY (RFC 3516), OBJECTID (RFC 8474) and PREVIEW (RFC 8970) items.
 *
 * Invariants:
 * - Sequence sets resolve against the session's view (src/imap/search/saved.ts): a message number
 *   beyond it, or `*` in an empty mailbox, is BAD (RFC 9051 §9 `seq-number`); UIDs that do not exist
 *   are skipped silently (RFC 9051 §6.4.9).
 * - An implicit \Seen goes through the store first, in one write for the whole command; the messages
 *   it changed get FLAGS in their response (RFC 9051 §6.4.5) and the session's own echo is dropped.
 * - Content is loaded in batches (one store call for metas, one for bytes) and each batch's responses
 *   are written and drained before the next is loaded, so a large FETCH holds one batch in memory.
 * - EXPUNGE is never sent during FETCH; UID FETCH may send it (RFC 9051 §7.4.1). A message another
 *   session expunged keeps its number until then; when its content is needed and gone, it is left
 *   out and the tagged reply is `OK [EXPUNGEISSUED]` (RFC 5530 §3), the others being answered.
 */

import { loadContents, type MessageContent } from '../fetch/content.js';
import { bytesNeeded, planFetch, renderFetch } from '../fetch/render.js';
import { sendVanished } from '../fetch/vanished.js';
import { beyondMailbox, selectMessages } from '../search/saved.js';
import type { SelectedMessage } from '../selected.js';
import { MAX_NUMBER, resolveSequenceSet } from '../wire/seqset.js';
import { command, SELECTED } from './types.js';

/**
 * Messages per batch (when content is loaded; without content, e.g. FETCH 1:* (FLAGS), more), and the
 * bytes (by RFC822.SIZE) after which a batch is cut.
 */
const BATCH_MESSAGES = 64;
const BATCH_FLAGS = 1024;
const BATCH_BYTES = 4 * 1024 * 1024;

export const fetch = command({
  name: 'FETCH',
  states: SELECTED,
  async run(s, tag, cmd) {
    const sel = s.selected!;
    const mods = cmd.modifiers;
    const name = cmd.uid ? 'UID FETCH' : 'FETCH';
    if (beyondMailbox(sel, cmd.set, cmd.uid)) {
      return s.bad(tag, `${name}: no such message (the mailbox has ${sel.exists}); sequence numbers go up to EXISTS`);
    }
    if (mods.partial) return s.bad(tag, 'The PARTIAL modifier (RFC 9394) is not supported');
    // RFC 7162 §3.2.6: VANISHED is a QRESYNC modifier.
    if (mods.vanished && !s.qresync) return s.bad(tag, 'VANISHED needs ENABLE QRESYNC first (RFC 7162 §3.2.6)');
    const plan = planFetch(cmd.items);
    const changedSince = mods.changedSince === undefined ? null : toNumber(mods.changedSince);
    // RFC 7162 §3.1: FETCH MODSEQ and CHANGEDSINCE are CONDSTORE-enabling.
    if (plan.modseq || changedSince !== null) s.enableCondstore();
    // CHANGEDSINCE compares modseqs: bring the view up to date first (UID FETCH may apply expunges).
    if (changedSince !== null) await s.announce(cmd.uid);

    let indices = selectMessages(sel, cmd.set, cmd.uid);
    if (changedSince !== null) {
      // RFC 7162 §3.1.4.1: only messages with a mod-sequence greater than CHANGEDSINCE.
      indices = indices.filter((i) => sel.messages[i].modseq > changedSince);
      if (mods.vanished && cmd.set.kind === 'set') {
        // RFC 7162 §3.2.6: UIDs in the set expunged after CHANGEDSINCE, first. `*` reaches past the last
        // existing UID here, so trailing expunged messages are reported too (as Dovecot does).
        const set = resolveSequenceSet(cmd.set, MAX_NUMBER);
        const gone = (await s.store.messages.expungedSince(sel.mailbox.id, changedSince)).filter(
          (uid) => uid < sel.uidNext && set.contains(uid) && sel.seqOf(uid) === 0,
        );
        sendVanished(s, gone, true);
      }
    }

    // RFC 9051 §6.4.5: BODY[...], BINARY[...], RFC822 and RFC822.TEXT set \Seen (not in a read-only mailbox).
    let seenSet: Set<number> | null = null;
    if (plan.setsSeen && !sel.readOnly) {
      const unseen = indices.map((i) => sel.messages[i]).filter((m) => !m.flags.includes('\\Seen'));
      if (unseen.length > 0) {
        const changed = await s.store.messages.setFlags({
          mailboxId: sel.mailbox.id,
          uids: unseen.map((m) => m.uid),
          op: 'add',
          flags: ['\\Seen'],
        });
        if (changed.length > 0) {
          sel.updateOwnFlags(changed);
          sel.forget('flags', changed[0].modseq);
          seenSet = new Set(changed.map((m) => m.uid));
        }
      }
    }

    const base = {
      utf8: s.utf8,
      rev2: s.rev2,
      // Mox's reading of RFC 7162 §3.2.4: with QRESYNC, every UID FETCH response carries MODSEQ.
      modseqAlways: changedSince !== null || (s.qresync && cmd.uid),
    };
    let unknownCte: string | null = null;
    let expungeIssued = false;
    for (let at = 0; at < indices.length; ) {
      const batch: { seq: number; m: SelectedMessage }[] = [];
      let bytes = 0;
      const most = plan.meta || plan.bytes ? BATCH_MESSAGES : BATCH_FLAGS;
      while (at < indices.length && batch.length < most && (batch.length === 0 || bytes < BATCH_BYTES)) {
        const i = indices[at++];
        const m = sel.messages[i];
        batch.push({ seq: i + 1, m });
        bytes += m.size;
      }
      let contents: Map<number, MessageContent> | null = null;
      if (plan.meta || plan.bytes) {
        contents = await loadContents(
          s.store,
          sel,
          batch.map((b) => b.m),
          { meta: plan.meta, end: (m, meta) => (plan.bytes ? bytesNeeded(plan, m, meta) : 0) },
        );
      }
      // RFC 3501 §7.2.6: keywords new to the client are announced by FLAGS before a FETCH shows them.
      if (seenSet || plan.items.some((it) => it.kind === 'flags')) for (const b of batch) s.noteKeywords(b.m.flags);
      // One builder per batch: its text and the literal buffers go out in one corked write.
      const w = s.builder();
      for (const { seq, m } of batch) {
        const content = contents?.get(m.uid);
        if (contents && !content) {
          // Expunged by another session and not announced yet (RFC 9051 §7.4.1 keeps its number valid).
          expungeIssued = true;
          continue;
        }
        const seen = seenSet?.has(m.uid) ?? false;
        const r = renderFetch(w, seq, m, plan, content, {
          utf8: base.utf8,
          rev2: base.rev2,
          // RFC 9051 §6.4.9: UID FETCH always answers UID. RFC 7162 §3.1: with CONDSTORE, a FETCH that
          // set \Seen reports UID and MODSEQ with the new flags.
          uid: cmd.uid || (seen && s.condstore),
          flags: seen,
          modseq: base.modseqAlways || (seen && s.condstore),
          recent: !s.rev2,
        });
        if (r.unknownCte) unknownCte = r.unknownCte;
        s.stats.fetched++;
      }
      s.send(w);
      await s.conn.drain();
    }

    await s.announce(cmd.uid);
    if (unknownCte !== null) {
      // RFC 3516 §4.3 (RFC 9051 §7.1): a transfer encoding the server cannot decode.
      return s.no(tag, `Unknown Content-Transfer-Encoding "${unknownCte}"; fetch BODY[...] instead`, 'UNKNOWN-CTE');
    }
    if (expungeIssued) {
      // RFC 5530 §3 EXPUNGEISSUED: the others were answered, so the command succeeded: OK with the
      // code, as Dovecot answers (its text too); NOOP brings the EXPUNGE.
      return s.ok(tag, 'Some messages were already expunged', 'EXPUNGEISSUED');
    }
    s.ok(tag, `${name} completed`);
  },
});

function toNumber(n: bigint): number {
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}
