/**
 * SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3) with CONDSTORE and QRESYNC (RFC 7162 §3.1.8, §3.2.5),
 * CLOSE (§6.4.1), UNSELECT (RFC 3691, §6.4.2).
 *
 * - IMAP4rev1 sessions get `n RECENT` (RFC 3501 §6.3.1): SELECT claims the recent messages for this
 *   session, EXAMINE only counts them (src/imap/recent.ts). IMAP4rev2 sessions get no RECENT.
 * - FLAGS lists the system flags and the keywords in use; keywords used later are announced by a new
 *   FLAGS (ImapSession.sendFlagLists / noteKeywords, RFC 3501 §7.2.6).
 * - Subscribe, then read (ChangeFeed.ready): the session subscribes to the mailbox's changes first,
 *   waits until the feed delivers every change committed from then on (a network store's feed reads
 *   its baseline), and only then reads the mailbox row and its messages. A change committed in
 *   between arrives as an event, and the view drops those it already holds (selected.ts `announce`).
 *   The row is read before the messages, so its UIDNEXT and HIGHESTMODSEQ are never ahead of them;
 *   they are raised to what the messages show (a delivery that committed between the two reads).
 * - The messages come from the process's shared snapshot of the mailbox (src/imap/snapshot.ts): when
 *   it is as new as the row, nothing more is read; when older, only what changed since; only the
 *   first SELECT of a mailbox reads every message (as columns, `listColumns`).
 */
import type { Mailbox, MailboxChange } from '../../store/types.js';
import { sendVanished } from '../fetch/vanished.js';
import { RecentClaims } from '../recent.js';
import { SelectedMailbox } from '../selected.js';
import type { ImapSession } from '../session.js';
import { type MailboxSnapshot, SnapshotCache } from '../snapshot.js';
import { type ParseContext, printable } from '../wire/commands.js';
import type { Reader } from '../wire/reader.js';
import { resolveSequenceSet, type SequenceSet } from '../wire/seqset.js';
import { LPAREN, mailboxArg, noArgs, RPAREN } from './grammar.js';
import { mailboxObjectId } from './status.js';
import { AUTHED, command, SELECTED } from './types.js';

async function open(
  s: ImapSession,
  tag: string,
  name: string,
  readOnly: boolean,
  condstore: boolean,
  qresync: QresyncParams | null,
): Promise<void> {
  // RFC 7162 §3.2.5: the QRESYNC parameter before ENABLE QRESYNC is BAD.
  if (qresync && !s.qresync)
    return s.bad(tag, 'SELECT (QRESYNC ...) needs ENABLE QRESYNC first (RFC 7162 section 3.2.5)');
  // RFC 9051 §6.3.2: a SELECT first deselects, even if it then fails.
  const hadSelected = s.selected !== null;
  s.deselect();
  // RFC 9051 §6.3.2 (MUST) and RFC 7162 §3.2.11: [CLOSED] marks where the old mailbox's responses end.
  // Sent to IMAP4rev1 sessions too, as Dovecot does: a client ignores a response code it does not know
  // (RFC 3501 §7.1).
  if (hadSelected) s.untagged('OK [CLOSED] Previous mailbox closed');
  if (condstore) s.enable('CONDSTORE');
  const missing = () => s.no(tag, `Mailbox "${name}" does not exist; LIST "" "*" shows your mailboxes`, 'NONEXISTENT');
  const found = await s.store.mailboxes.get(s.user!.id, name);
  if (!found) return missing();
  // Subscribe first; changes that arrive before the view exists wait in `early` (see the header).
  const early: MailboxChange[] = [];
  let forward = (change: MailboxChange) => {
    early.push(change);
  };
  const unsubscribe = s.store.changes.subscribe(found.id, (change) => forward(change));
  let row: Mailbox | null;
  let snapshot: MailboxSnapshot | null;
  try {
    await s.store.changes.ready?.(found.id);
    row = await s.store.mailboxes.getById(found.id);
    snapshot = row ? await SnapshotCache.of(s.store).load(s.store, row) : null;
  } catch (error) {
    unsubscribe();
    throw error;
  }
  if (!row || !snapshot) {
    unsubscribe();
    return missing();
  }
  const uidNext = Math.max(row.uidNext, snapshot.maxUid + 1);
  const highestModseq = Math.max(row.highestModseq, snapshot.maxModseq);
  const mailbox = { ...row, uidNext, highestModseq };
  const sel = new SelectedMailbox(mailbox, readOnly, snapshot, RecentClaims.of(s.store)).listen((_id, fn) => {
    forward = fn;
    for (const change of early.splice(0)) fn(change);
    return unsubscribe;
  });
  s.selected = sel;
  s.state = 'selected';
  s.conn.trace.state(`selected ${mailbox.name}`);
  const firstUnseen = sel.firstUnseen();
  s.untagged(`${sel.exists} EXISTS`);
  if (!s.rev2) {
    // RFC 3501 §6.3.1: RECENT, the messages with \Recent (this session's, see recent.ts).
    s.untagged(`${sel.recentCount} RECENT`);
    if (firstUnseen) s.reply(null, 'OK', `First unseen message`, { code: 'UNSEEN', value: firstUnseen });
  }
  s.sendFlagLists();
  s.reply(null, 'OK', 'UIDs valid', { code: 'UIDVALIDITY', value: mailbox.uidValidity });
  s.reply(null, 'OK', 'Predicted next UID', { code: 'UIDNEXT', value: mailbox.uidNext });
  if (s.condstore) s.reply(null, 'OK', 'Highest', { code: 'HIGHESTMODSEQ', value: mailbox.highestModseq });
  // RFC 8474 §4.1: the MAILBOXID of the selected mailbox.
  s.reply(null, 'OK', 'Mailbox id', { code: 'MAILBOXID', id: mailboxObjectId(mailbox) });
  if (s.rev2) s.send(s.builder().untagged().raw('LIST () "/" ').mailbox(mailbox.name).crlf());
  if (qresync && qresync.uidValidity === mailbox.uidValidity) await resync(s, sel, qresync);
  s.ok(tag, `${readOnly ? 'EXAMINE' : 'SELECT'} completed`, readOnly ? 'READ-ONLY' : 'READ-WRITE');
}

/**
 * RFC 7162 §3.2.5.2: the client's cache is at `modSeq` for this UIDVALIDITY (a different UIDVALIDITY
 * gets a plain SELECT). Sends `VANISHED (EARLIER)` for the UIDs expunged since, then FETCH (UID FLAGS
 * MODSEQ) for the messages changed since, both limited to the client's known UIDs when it sent them.
 * The expunged table keeps every expunge, so the sequence match data (an aid for servers without full
 * history, §3.2.5.2) is not needed.
 */
async function resync(s: ImapSession, sel: SelectedMailbox, q: QresyncParams): Promise<void> {
  const since = q.modSeq > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(q.modSeq);
  const known = q.knownUids && q.knownUids.kind === 'set' ? resolveSequenceSet(q.knownUids, 0) : null;
  const inKnown = (uid: number) => known === null || known.contains(uid);
  const vanished = (await s.store.messages.expungedSince(sel.mailbox.id, since)).filter(
    (uid) => uid < sel.uidNext && inKnown(uid),
  );
  sendVanished(s, vanished, true);
  for (let i = 0; i < sel.exists; i++) {
    const modseq = sel.modseqAt(i);
    const uid = sel.uidAt(i);
    if (modseq <= since || !inKnown(uid)) continue;
    s.send(
      s
        .builder()
        .untagged()
        .raw(`${i + 1} FETCH (UID ${uid} FLAGS `)
        .flags(s.flagsOf({ recent: sel.recentAt(i) }, sel.flagsAt(i)))
        .raw(` MODSEQ (${modseq}))`)
        .crlf(),
    );
  }
}

export const select = command({
  name: 'SELECT',
  parse: (ctx: ParseContext) => parseSelect(ctx, 'SELECT'),
  states: AUTHED,
  run: (s, tag, cmd) => open(s, tag, cmd.mailbox, false, cmd.condstore || cmd.qresync !== null, cmd.qresync),
});

export const examine = command({
  name: 'EXAMINE',
  parse: (ctx: ParseContext) => parseSelect(ctx, 'EXAMINE'),
  states: AUTHED,
  run: (s, tag, cmd) => open(s, tag, cmd.mailbox, true, cmd.condstore || cmd.qresync !== null, cmd.qresync),
});

export const unselect = command({
  name: 'UNSELECT',
  parse: noArgs('UNSELECT'),
  states: SELECTED,
  run(s, tag) {
    s.deselect();
    s.ok(tag, 'UNSELECT completed');
  },
});

export const close = command({
  name: 'CLOSE',
  parse: noArgs('CLOSE'),
  states: SELECTED,
  async run(s, tag) {
    const sel = s.selected!;
    // RFC 9051 §6.4.1: CLOSE expunges \Deleted messages silently (no EXPUNGE responses), unless read-only.
    // The store checks \Deleted itself: another session may have changed it since the view knew.
    if (!sel.readOnly) {
      const uids = sel.allUids();
      if (uids.length) await s.store.messages.expungeDeleted(sel.mailbox.id, uids);
    }
    s.deselect();
    s.ok(tag, 'CLOSE completed');
  },
});

/** RFC 9051 §6.3.2, §6.3.3: the mailbox, and the CONDSTORE/QRESYNC parameters (RFC 7162 §3.1.8, §3.2.5). */
export interface SelectCommand {
  name: 'SELECT' | 'EXAMINE';
  mailbox: string;
  condstore: boolean;
  qresync: QresyncParams | null;
}

/** RFC 7162 §3.2.5: `QRESYNC (uidvalidity modseq [known-uids [seq-match-data]])`. */
export interface QresyncParams {
  uidValidity: number;
  modSeq: bigint;
  knownUids: SequenceSet | null;
  /** Message sequence numbers and the UIDs the client believes they have. */
  seqMatch: { seqs: SequenceSet; uids: SequenceSet } | null;
}

/**
 * RFC 9051 §6.3.2: `select = "SELECT" SP mailbox [select-params]` (RFC 4466 §2.1 select-params),
 * with CONDSTORE (RFC 7162 §3.1.8) and QRESYNC (RFC 7162 §3.2.5).
 */
function parseSelect(ctx: ParseContext, name: 'SELECT' | 'EXAMINE'): SelectCommand {
  const { r } = ctx;
  const mailbox = mailboxArg(ctx);
  let condstore = false;
  let qresync: QresyncParams | null = null;
  if (r.trySp()) {
    r.list(
      () => {
        const at = r.pos;
        const param = r.keyword('a SELECT parameter');
        if (param === 'CONDSTORE') condstore = true;
        else if (param === 'QRESYNC') {
          r.sp('after QRESYNC');
          qresync = parseQresync(r);
        } else r.fail(`unknown ${name} parameter "${printable(param)}"`, at);
      },
      { what: `the ${name} parameters` },
    );
  }
  return { name, mailbox, condstore, qresync };
}

/**
 * RFC 7162 §7: `"QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"`;
 * known-uids has no "*"; `seq-match-data = "(" known-sequence-set SP known-uid-set ")"`.
 */
function parseQresync(r: Reader): QresyncParams {
  r.byte(LPAREN, '"(" to open the QRESYNC parameters');
  const uidValidity = r.nzNumber('the UIDVALIDITY');
  r.sp('after the UIDVALIDITY');
  const modSeq = r.number64('the last known mod-sequence');
  let knownUids: SequenceSet | null = null;
  let seqMatch: QresyncParams['seqMatch'] = null;
  if (r.trySp()) {
    if (r.peek() !== LPAREN) {
      knownUids = r.sequenceSet({ allowStar: false, allowSaved: false });
      if (r.trySp()) seqMatch = parseSeqMatch(r);
    } else seqMatch = parseSeqMatch(r);
  }
  r.byte(RPAREN, '")" to close the QRESYNC parameters');
  return { uidValidity, modSeq, knownUids, seqMatch };
}

function parseSeqMatch(r: Reader): { seqs: SequenceSet; uids: SequenceSet } {
  r.byte(LPAREN, '"(" to open the sequence match data');
  const seqs = r.sequenceSet({ allowSaved: false });
  r.sp('between the known sequence numbers and UIDs');
  const uids = r.sequenceSet({ allowSaved: false });
  r.byte(RPAREN, '")" to close the sequence match data');
  return { seqs, uids };
}
