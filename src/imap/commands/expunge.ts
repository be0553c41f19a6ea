/**
 * EXPUNGE (RFC 9051 §6.4.3), UID EXPUNGE (RFC 4315 §2.1, RFC 9051 §6.4.9) and CHECK (RFC 3501 §6.4.1).
 *
 * Invariants:
 * - Pending changes are announced first, so the messages the client knows are the ones the store has
 *   (a message another session un-deleted is not removed by a stale view).
 * - The store removes only messages that still have \Deleted at that moment, atomically, with one
 *   modseq; each removed message is announced once: `n EXPUNGE`, or `VANISHED` once QRESYNC is on
 *   (RFC 7162 §3.2.10), and the echo from the change feed is dropped.
 * - With CONDSTORE the tagged OK carries the new HIGHESTMODSEQ (RFC 7162 §3.1.10 as Mox reads it;
 *   Dovecot does it under QRESYNC).
 * - A read-only mailbox (EXAMINE) refuses with NO.
 */

import { sendVanished } from '../fetch/vanished.js';
import { selectMessages } from '../search/saved.js';
import type { ImapSession } from '../session.js';
import type { ParseContext } from '../wire/commands.js';
import type { SequenceSet } from '../wire/seqset.js';
import { noArgs } from './grammar.js';
import { command, SELECTED } from './types.js';

/** Expunges `uids` (those with \Deleted) and announces them; returns the number removed. */
export async function expungeOwn(s: ImapSession, uids: number[]): Promise<number> {
  const sel = s.selected!;
  if (uids.length === 0) return 0;
  const removed = await s.store.messages.expungeDeleted(sel.mailbox.id, uids);
  if (removed.uids.length === 0) return 0;
  sel.forget('expunge', removed.modseq);
  announceRemoved(s, removed.uids, removed.modseq);
  return removed.uids.length;
}

/** Removes the session's own expunged (or moved) messages from its view and tells the client. */
export function announceRemoved(s: ImapSession, uids: number[], modseq: number): void {
  const sel = s.selected!;
  const present = uids.filter((u) => sel.seqOf(u) > 0);
  const seqs = sel.removeOwn(present, modseq);
  if (s.qresync)
    sendVanished(s, present, false); // RFC 7162 §3.2.10: VANISHED without EARLIER
  else for (const seq of seqs) s.untagged(`${seq} EXPUNGE`); // RFC 9051 §7.5.1
  // RFC 3501 §7.3.2: IMAP4rev1 learns the new count when recent messages went.
  sel.announceRecent(s.sink);
}

async function run(s: ImapSession, tag: string, name: string, set: SequenceSet | null): Promise<void> {
  const sel = s.selected!;
  if (sel.readOnly) return s.no(tag, 'The mailbox is read-only (EXAMINE); SELECT it to expunge', 'READ-ONLY');
  await s.announce(true);
  const uids: number[] = [];
  if (set === null) {
    for (let i = 0; i < sel.exists; i++) if (sel.flagsAt(i).includes('\\Deleted')) uids.push(sel.uidAt(i));
  } else {
    for (const i of selectMessages(sel, set, true)) if (sel.flagsAt(i).includes('\\Deleted')) uids.push(sel.uidAt(i));
  }
  await expungeOwn(s, uids);
  await s.announce(true);
  if (s.condstore) return s.ok(tag, `${name} completed`, { code: 'HIGHESTMODSEQ', value: sel.highestModseq });
  s.ok(tag, `${name} completed`);
}

export const expunge = command({
  name: 'EXPUNGE',
  parse: parseExpunge,
  states: SELECTED,
  run: (s, tag, cmd) => run(s, tag, cmd.uid ? 'UID EXPUNGE' : 'EXPUNGE', cmd.set),
});

export const check = command({
  name: 'CHECK',
  parse: noArgs('CHECK'),
  states: SELECTED,
  async run(s, tag) {
    // RFC 3501 §6.4.1: a checkpoint; every write is already durable, so it is NOOP here.
    await s.announce(true);
    s.ok(tag, 'CHECK completed');
  },
});

/** RFC 9051 §6.4.3 EXPUNGE; UID EXPUNGE (RFC 4315 §2.1) names the UIDs it may remove. */
export type ExpungeCommand =
  | { name: 'EXPUNGE'; uid: false; set: null }
  | { name: 'EXPUNGE'; uid: true; set: SequenceSet };

/** RFC 9051 §6.4.3 EXPUNGE; RFC 4315 §2.1 / RFC 9051 §6.4.9: `UID EXPUNGE SP sequence-set`. */
function parseExpunge({ r }: ParseContext, uid: boolean): ExpungeCommand {
  if (!uid) return { name: 'EXPUNGE', uid: false, set: null };
  r.sp('after UID EXPUNGE');
  return { name: 'EXPUNGE', uid: true, set: r.sequenceSet() };
}
