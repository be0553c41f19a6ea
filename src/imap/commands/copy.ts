/**
 * COPY / UID COPY (RFC 9051 §6.4.7) and MOVE / UID MOVE (RFC 6851), with COPYUID (UIDPLUS, RFC 4315 §3).
 *
 * Invariants:
 * - The destination must exist: NO [TRYCREATE] otherwise (RFC 9051 §6.4.7); nothing is created.
 * - COPY and MOVE are each one atomic store operation: all messages or none (RFC 9051 §6.4.7 "MUST
 *   restore the destination mailbox to its state before the COPY attempt"), and MOVE never leaves a
 *   message in both mailboxes or in neither (RFC 6851 §3.3).
 * - COPYUID pairs source and destination UIDs in the same (ascending) order. COPY sends it in the
 *   tagged OK; MOVE in an untagged OK before the EXPUNGEs/VANISHED (RFC 6851 §4.3).
 * - COPY is refused over quota (RFC 9208 §4.3.1: [OVERQUOTA]), decided by the store in the write
 *   (OverQuotaError); MOVE does not add storage.
 * - A set that names no message is OK without COPYUID (RFC 4315 needs non-empty sets); with message
 *   numbers, a number beyond the mailbox is BAD (RFC 9051 §9 `seq-number`).
 */
import { checkNewName } from '../../mail/mailbox-name.js';
import { OverQuotaError, StoreNotFoundError } from '../../store/types.js';
import { beyondMailbox, selectMessages } from '../search/saved.js';
import type { ImapSession } from '../session.js';
import type { ParseContext } from '../wire/commands.js';
import { compactNumbers, type SequenceSet } from '../wire/seqset.js';
import { announceRemoved } from './expunge.js';
import { command, SELECTED } from './types.js';

async function run(s: ImapSession, tag: string, cmd: CopyCommand): Promise<void> {
  const sel = s.selected!;
  const move = cmd.name === 'MOVE';
  const name = `${cmd.uid ? 'UID ' : ''}${cmd.name}`;
  if (beyondMailbox(sel, cmd.set, cmd.uid)) {
    return s.bad(tag, `${name}: no such message (the mailbox has ${sel.exists}); sequence numbers go up to EXISTS`);
  }
  // RFC 6851 §3.3: MOVE expunges, which a read-only mailbox does not allow.
  if (move && sel.readOnly) return s.no(tag, 'The mailbox is read-only (EXAMINE); SELECT it to move', 'READ-ONLY');
  const target = await s.store.mailboxes.get(s.user!.id, cmd.mailbox);
  if (!target) {
    // RFC 9051 §6.4.7: the client may CREATE it and try again, unless no CREATE could make it (§7.1).
    const check = checkNewName(cmd.mailbox);
    if (!check.ok) return s.no(tag, check.reason, check.limit ? 'LIMIT' : 'CANNOT');
    return s.no(tag, `Mailbox "${cmd.mailbox}" does not exist; CREATE it first`, 'TRYCREATE');
  }
  const messages = selectMessages(sel, cmd.set, cmd.uid).map((i) => sel.message(i));
  if (messages.length === 0) {
    await s.announce(true);
    return s.ok(tag, `${name} completed: no messages`);
  }
  const uids = messages.map((m) => m.uid);
  let pairs: [number, number][];
  let modseq = 0;
  try {
    if (move) ({ pairs, modseq } = await s.store.messages.move(sel.mailbox.id, uids, target.id));
    else pairs = await s.store.messages.copy(sel.mailbox.id, uids, target.id);
  } catch (err) {
    if (err instanceof StoreNotFoundError) return s.no(tag, `Mailbox "${cmd.mailbox}" does not exist`, 'TRYCREATE');
    // The store decides the quota in the write, atomically with the copy (store/types.ts).
    if (err instanceof OverQuotaError) return s.no(tag, 'The copy would exceed your storage quota', 'OVERQUOTA');
    throw err;
  }
  if (pairs.length === 0) {
    // Everything was expunged by another session meanwhile.
    await s.announce(true);
    return s.no(tag, 'The messages were expunged by another session', 'EXPUNGEISSUED');
  }
  const code = {
    code: 'COPYUID' as const,
    uidValidity: target.uidValidity,
    source: compactNumbers(pairs.map(([from]) => from)),
    destination: compactNumbers(pairs.map(([, to]) => to)),
  };
  if (move) {
    // RFC 6851 §4.3: COPYUID in an untagged OK, then the expunges (VANISHED under QRESYNC).
    s.reply(null, 'OK', 'Moved', code);
    sel.forget('expunge', modseq);
    announceRemoved(
      s,
      pairs.map(([from]) => from),
      modseq,
    );
    await s.announce(true);
    if (s.qresync) return s.ok(tag, `${name} completed`, { code: 'HIGHESTMODSEQ', value: sel.highestModseq });
    return s.ok(tag, `${name} completed`);
  }
  // A COPY into the selected mailbox shows up as EXISTS before the tagged OK.
  await s.announce(true);
  s.ok(tag, `${name} completed`, code);
}

export const copy = command({
  name: 'COPY',
  parse: (ctx: ParseContext, uid: boolean) => parseCopyMove(ctx, uid, 'COPY'),
  states: SELECTED,
  run,
});

export const move = command({
  name: 'MOVE',
  parse: (ctx: ParseContext, uid: boolean) => parseCopyMove(ctx, uid, 'MOVE'),
  states: SELECTED,
  run: (s, tag, cmd) => run(s, tag, cmd),
});

/** COPY or MOVE, with or without UID: the messages and the destination mailbox. */
export interface CopyCommand {
  name: 'COPY' | 'MOVE';
  uid: boolean;
  set: SequenceSet;
  mailbox: string;
}

/** RFC 9051 §6.4.7 COPY, RFC 6851 §3 MOVE: `SP sequence-set SP mailbox`. */
function parseCopyMove(ctx: ParseContext, uid: boolean, name: 'COPY' | 'MOVE'): CopyCommand {
  const { r } = ctx;
  r.sp(`after ${name}`);
  const set = r.sequenceSet();
  r.sp('after the sequence set');
  return { name, uid, set, mailbox: r.mailbox(ctx, 'the destination mailbox') };
}
