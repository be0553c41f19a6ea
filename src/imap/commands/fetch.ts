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
 *   are written and drained before the next is loaded, so a large FETCH holds one batch in memory; a
 *   message over 1 MiB is not loaded whole at all: its byte ranges are read 256 KiB at a time as they
 *   are written (fetch/content.ts, `ImapSession.sendStreamed`).
 * - EXPUNGE is never sent during FETCH; UID FETCH may send it (RFC 9051 §7.4.1). A message another
 *   session expunged keeps its number until then; when its content is needed and gone, it is left
 *   out and the tagged reply is `OK [EXPUNGEISSUED]` (RFC 5530 §3), the others being answered.
 */

import { type LoadRequest, loadContents, type MessageContent } from '../fetch/content.js';
import {
  bytesNeeded,
  type FetchPlan,
  planFetch,
  prefixNeeded,
  type RenderOptions,
  renderFetch,
} from '../fetch/render.js';
import { sendVanished } from '../fetch/vanished.js';
import { beyondMailbox, selectMessages } from '../search/saved.js';
import type { SelectedMailbox, SelectedMessage } from '../selected.js';
import type { ImapSession } from '../session.js';
import { type ParseContext, printable } from '../wire/commands.js';
import { MAX_NUMBER, resolveSequenceSet, type SequenceSet } from '../wire/seqset.js';
import { type FetchItem, fetchAttributes } from './fetch-items.js';
import { type PartialRange, partialRange } from './grammar.js';
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
  parse: parseFetch,
  states: SELECTED,
  async run(s, tag, cmd) {
    const name = cmd.uid ? 'UID FETCH' : 'FETCH';
    const refusal = refusalOf(s, cmd);
    if (refusal !== null) return s.bad(tag, refusal);
    const plan = planFetch(cmd.items);
    const changedSince = cmd.modifiers.changedSince === undefined ? null : toNumber(cmd.modifiers.changedSince);
    // RFC 7162 §3.1: FETCH MODSEQ and CHANGEDSINCE are CONDSTORE-enabling.
    if (plan.modseq || changedSince !== null) s.enableCondstore();
    const indices = await chooseMessages(s, cmd, changedSince);
    const seen = plan.setsSeen ? await setImplicitSeen(s, indices) : null;
    const outcome = await answerMessages(s, { cmd, plan, indices, seen, changedSince });
    await s.announce(cmd.uid);
    if (outcome.unknownCte !== null) {
      // RFC 3516 §4.3 (RFC 9051 §7.1): a transfer encoding the server cannot decode.
      const cte = outcome.unknownCte;
      return s.no(tag, `Unknown Content-Transfer-Encoding "${cte}"; fetch BODY[...] instead`, 'UNKNOWN-CTE');
    }
    if (outcome.expungeIssued) {
      // RFC 5530 §3 EXPUNGEISSUED: the others were answered, so the command succeeded: OK with the
      // code, as Dovecot answers (its text too); NOOP brings the EXPUNGE.
      return s.ok(tag, 'Some messages were already expunged', 'EXPUNGEISSUED');
    }
    s.ok(tag, `${name} completed`);
  },
});

/** Why the command is BAD before anything is done (null: it is not). */
function refusalOf(s: ImapSession, cmd: FetchCommand): string | null {
  const sel = s.selected!;
  if (beyondMailbox(sel, cmd.set, cmd.uid)) {
    const name = cmd.uid ? 'UID FETCH' : 'FETCH';
    return `${name}: no such message (the mailbox has ${sel.exists}); sequence numbers go up to EXISTS`;
  }
  if (cmd.modifiers.partial) return 'The PARTIAL modifier (RFC 9394) is not supported';
  // RFC 7162 §3.2.6: VANISHED is a QRESYNC modifier.
  if (cmd.modifiers.vanished && !s.qresync) return 'VANISHED needs ENABLE QRESYNC first (RFC 7162 section 3.2.6)';
  return null;
}

/**
 * The view indices of the messages to answer. With CHANGEDSINCE, only those changed since (after
 * bringing the view up to date), and with VANISHED the UIDs expunged since are sent first.
 */
async function chooseMessages(s: ImapSession, cmd: FetchCommand, changedSince: number | null): Promise<number[]> {
  const sel = s.selected!;
  // Bring the view up to date first, so that FLAGS and MODSEQ are those of now, not of the last
  // announcement (another session's STORE is told before the answer, not after it with the old flags);
  // CHANGEDSINCE compares modseqs. Only UID FETCH may apply expunges (RFC 9051 §7.5.1).
  await s.announce(cmd.uid);
  const indices = selectMessages(sel, cmd.set, cmd.uid);
  if (changedSince === null) return indices;
  if (cmd.modifiers.vanished && cmd.set.kind === 'set') {
    // RFC 7162 §3.2.6: UIDs in the set expunged after CHANGEDSINCE, first. `*` reaches past the last
    // existing UID here, so trailing expunged messages are reported too (as Dovecot does).
    const set = resolveSequenceSet(cmd.set, MAX_NUMBER);
    const gone = (await s.store.messages.expungedSince(sel.mailbox.id, changedSince)).filter(
      (uid) => uid < sel.uidNext && set.contains(uid) && sel.seqOf(uid) === 0,
    );
    sendVanished(s, gone, true);
  }
  // RFC 7162 §3.1.4.1: only messages with a mod-sequence greater than CHANGEDSINCE.
  return indices.filter((i) => sel.modseqAt(i) > changedSince);
}

/**
 * RFC 9051 §6.4.5: BODY[...], BINARY[...], RFC822 and RFC822.TEXT set \Seen (not in a read-only
 * mailbox), in one store write for the whole command. Returns the UIDs whose flags it changed (their
 * responses carry FLAGS), or null.
 */
async function setImplicitSeen(s: ImapSession, indices: number[]): Promise<Set<number> | null> {
  const sel = s.selected!;
  if (sel.readOnly) return null;
  const unseen = indices.filter((i) => !sel.flagsAt(i).includes('\\Seen')).map((i) => sel.uidAt(i));
  if (unseen.length === 0) return null;
  const changed = await s.store.messages.setFlags({
    mailboxId: sel.mailbox.id,
    uids: unseen,
    op: 'add',
    flags: ['\\Seen'],
  });
  if (changed.length === 0) return null;
  sel.updateOwnFlags(changed);
  sel.forget('flags', changed[0].modseq);
  return new Set(changed.map((m) => m.uid));
}

interface FetchJob {
  cmd: FetchCommand;
  plan: FetchPlan;
  indices: number[];
  /** UIDs whose \Seen this command set (null: none). */
  seen: Set<number> | null;
  changedSince: number | null;
}

interface FetchOutcome {
  /** A BINARY item met a Content-Transfer-Encoding it cannot decode (the last one seen). */
  unknownCte: string | null;
  /** Some message's content was gone (expunged by another session, not announced yet). */
  expungeIssued: boolean;
}

/**
 * Writes the FETCH responses batch by batch: cut a batch, load its content, write it, wait for the
 * client to take it (drain), so a large FETCH holds one batch in memory.
 */
async function answerMessages(s: ImapSession, job: FetchJob): Promise<FetchOutcome> {
  const { plan, indices } = job;
  const sel = s.selected!;
  const outcome: FetchOutcome = { unknownCte: null, expungeIssued: false };
  const options = renderOptions(s, job);
  const loads = plan.meta || plan.bytes;
  const request: LoadRequest = {
    meta: plan.meta,
    end: (m, meta) => (plan.bytes ? bytesNeeded(plan, m, meta) : 0),
    prefix: (m, meta) => prefixNeeded(plan, m, meta),
  };
  // The batch's messages and their sequence numbers; reused from batch to batch.
  const messages: SelectedMessage[] = [];
  const seqs: number[] = [];
  for (let at = 0; at < indices.length; ) {
    at = cutBatch(sel, indices, at, loads ? BATCH_MESSAGES : BATCH_FLAGS, messages, seqs);
    const contents = loads ? await loadContents(s.store, sel, messages, request) : null;
    // RFC 3501 §7.2.6: keywords new to the client are announced by FLAGS before a FETCH shows them.
    if (job.seen || plan.items.some((it) => it.kind === 'flags')) for (const m of messages) s.noteKeywords(m.flags);
    await writeBatch(s, job, options, messages, seqs, contents, outcome);
    await s.conn.drain();
    // The store reads are synchronous underneath and the socket takes the batch at once: without a
    // turn for the others, FETCH 1:* of a big mailbox would hold every session until it ends.
    await s.conn.pace();
  }
  return outcome;
}

/**
 * Fills `messages`/`seqs` with the next batch from `indices[at]` on: up to `most` messages, cut after
 * BATCH_BYTES (by RFC822.SIZE). Returns where the next batch starts.
 */
function cutBatch(
  sel: SelectedMailbox,
  indices: number[],
  at: number,
  most: number,
  messages: SelectedMessage[],
  seqs: number[],
): number {
  messages.length = 0;
  seqs.length = 0;
  let bytes = 0;
  while (at < indices.length && messages.length < most && (messages.length === 0 || bytes < BATCH_BYTES)) {
    const i = indices[at++];
    const m = sel.message(i);
    messages.push(m);
    seqs.push(i + 1);
    bytes += m.size;
  }
  return at;
}

/** How responses are rendered: for messages this FETCH set \Seen on, and for the others. */
interface RenderChoice {
  plain: RenderOptions;
  seen: RenderOptions;
}

function renderOptions(s: ImapSession, job: FetchJob): RenderChoice {
  // Mox's reading of RFC 7162 §3.2.4: with QRESYNC, every UID FETCH response carries MODSEQ.
  const modseqAlways = job.changedSince !== null || (s.qresync && job.cmd.uid);
  const base = { utf8: s.utf8, rev2: s.rev2, recent: !s.rev2 };
  return {
    // RFC 9051 §6.4.9: UID FETCH always answers UID.
    plain: { ...base, uid: job.cmd.uid, flags: false, modseq: modseqAlways },
    // RFC 9051 §6.4.5: a FETCH that set \Seen reports the new FLAGS; RFC 7162 §3.1: with CONDSTORE, with
    // UID and MODSEQ.
    seen: { ...base, uid: job.cmd.uid || s.condstore, flags: true, modseq: modseqAlways || s.condstore },
  };
}

/** Writes one batch's responses in one builder: its text and literal buffers go out in one corked write. */
async function writeBatch(
  s: ImapSession,
  job: FetchJob,
  options: RenderChoice,
  messages: SelectedMessage[],
  seqs: number[],
  contents: Map<number, MessageContent> | null,
  outcome: FetchOutcome,
): Promise<void> {
  const w = s.builder();
  for (let k = 0; k < messages.length; k++) {
    const m = messages[k];
    const content = contents?.get(m.uid);
    if (contents && !content) {
      // Expunged by another session and not announced yet (RFC 9051 §7.4.1 keeps its number valid).
      outcome.expungeIssued = true;
      continue;
    }
    const seen = job.seen?.has(m.uid) ?? false;
    const r = renderFetch(w, seqs[k], m, job.plan, content, seen ? options.seen : options.plain);
    if (r.unknownCte) outcome.unknownCte = r.unknownCte;
    s.stats.fetched++;
  }
  // Large messages were left to be read as they are written (content.ts STREAM_MIN).
  if (w.hasDeferred) return s.sendStreamed(w);
  s.send(w);
}

function toNumber(n: bigint): number {
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

/** RFC 9051 §6.4.5: the messages, the items (macros expanded), and the modifiers. */
export interface FetchCommand {
  name: 'FETCH';
  uid: boolean;
  set: SequenceSet;
  items: FetchItem[];
  modifiers: FetchModifiers;
}

export interface FetchModifiers {
  /** RFC 7162 §3.1.4.1 CHANGEDSINCE. */
  changedSince?: bigint;
  /** RFC 7162 §3.2.6 VANISHED (only with UID FETCH and CHANGEDSINCE). */
  vanished?: boolean;
  /** RFC 9394 §3.2 PARTIAL. */
  partial?: PartialRange;
}

/**
 * RFC 9051 §6.4.5 FETCH: `fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att /
 * "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]` (RFC 4466 §2.4).
 */
function parseFetch({ r }: ParseContext, uid: boolean): FetchCommand {
  r.sp('after FETCH');
  const set = r.sequenceSet();
  r.sp('after the sequence set');
  const items = fetchAttributes(r);
  const modifiers: FetchModifiers = {};
  if (r.trySp()) {
    r.list(
      () => {
        const at = r.pos;
        const mod = r.keyword('a FETCH modifier');
        if (mod === 'CHANGEDSINCE') {
          r.sp('after CHANGEDSINCE');
          modifiers.changedSince = r.number64('a mod-sequence');
        } else if (mod === 'VANISHED') {
          modifiers.vanished = true;
        } else if (mod === 'PARTIAL') {
          r.sp('after PARTIAL');
          modifiers.partial = partialRange(r);
        } else r.fail(`unknown FETCH modifier "${printable(mod)}"`, at);
      },
      { what: 'the FETCH modifiers' },
    );
    // RFC 7162 §3.2.6: VANISHED without UID FETCH, or without CHANGEDSINCE, MUST be answered with BAD.
    if (modifiers.vanished && (!uid || modifiers.changedSince === undefined)) {
      r.fail('VANISHED needs UID FETCH and CHANGEDSINCE (RFC 7162 section 3.2.6)', r.pos);
    }
  }
  return { name: 'FETCH', uid, set, items, modifiers };
}
