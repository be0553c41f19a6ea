/**
 * STORE and UID STORE (RFC 9051 §6.4.6, §6.4.9) with CONDSTORE's UNCHANGEDSINCE (RFC 7162 §3.1.3).
 *
 * Invariants:
 * - The change, and the UNCHANGEDSINCE test, is one atomic store operation (`storeFlags`); the
 *   session's view takes the new flags at once and the echo from the change feed is dropped, so the
 *   client hears about its own change exactly once (and not at all with .SILENT, unless CONDSTORE asks
 *   for MODSEQ).
 * - Only the five system flags and keywords can be stored; \Recent and unknown system flags are BAD
 *   (as Dovecot answers; RFC 3501 §2.3.2: clients cannot alter \Recent). PERMANENTFLAGS has \*
 *   (ImapSession.sendFlagLists), so any keyword is accepted, up to MAX_KEYWORDS different ones
 *   per mailbox: a STORE that would pass it is refused whole with NO [LIMIT] (then \* is left out).
 * - The FETCH responses show \Recent to IMAP4rev1 sessions where the message is recent in this session
 *   (ImapSession.flagsOf, src/imap/recent.ts); it is never stored. A keyword new to the session is
 *   announced by `* FLAGS` and `* OK [PERMANENTFLAGS]` before the FETCH responses, also for
 *   .SILENT (RFC 3501 §7.2.6; other sessions learn it with the change, SelectedMailbox.announce).
 * - A read-only mailbox (EXAMINE) refuses STORE with NO.
 * - EXPUNGE is never sent during STORE; UID STORE may send it (RFC 9051 §7.4.1).
 */

import { MAX_KEYWORDS } from '../../store/normalize.js';
import type { MessageInfo } from '../../store/types.js';
import { beyondMailbox, selectMessages } from '../search/saved.js';
import type { ImapSession } from '../session.js';
import { type ParseContext, printable } from '../wire/commands.js';
import { compactNumbers, type SequenceSet } from '../wire/seqset.js';
import { LPAREN, MINUS, PLUS } from './grammar.js';
import { command, SELECTED } from './types.js';

/** The flags a client may store (RFC 9051 §2.3.2); keywords are anything without a backslash. */
const SYSTEM = new Set(['\\seen', '\\answered', '\\flagged', '\\deleted', '\\draft']);

/** The keywords among `flags`, once each (case-insensitive, RFC 9051 §2.3.2), lower-cased. */
export function keywordSet(flags: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const f of flags) if (!f.startsWith('\\')) out.add(f.toLowerCase());
  return out;
}

/** The first flag that cannot be stored, or null. */
export function unstorableFlag(flags: readonly string[]): string | null {
  return flags.find((f) => f.startsWith('\\') && !SYSTEM.has(f.toLowerCase())) ?? null;
}

/** The flags a client expects after STORE (RFC 9051 §6.4.6), from the flags it knows. */
function applyStore(current: readonly string[], op: 'add' | 'remove' | 'replace', flags: readonly string[]): string[] {
  const change = new Set(flags.map((f) => f.toLowerCase()));
  if (op === 'replace') return [...flags];
  if (op === 'remove') return current.filter((f) => !change.has(f.toLowerCase()));
  const have = new Set(current.map((f) => f.toLowerCase()));
  return [...current, ...flags.filter((f) => !have.has(f.toLowerCase()))];
}

/** Flag lists name the same flags (flags are case-insensitive atoms, RFC 9051 §2.3.2). */
function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  const x = new Set(a.map((f) => f.toLowerCase()));
  const y = new Set(b.map((f) => f.toLowerCase()));
  return x.size === y.size && [...x].every((f) => y.has(f));
}

/** Sends FLAGS and PERMANENTFLAGS once if the messages' flags hold keywords the client was not told of. */
function announceNewKeywords(s: ImapSession, ...lists: (readonly MessageInfo[])[]): void {
  const sel = s.selected!;
  let added = false;
  for (const infos of lists) for (const info of infos) if (sel.learnKeywords(info.flags)) added = true;
  if (added) s.sendFlagLists();
}

export const store = command({
  name: 'STORE',
  parse: parseStore,
  states: SELECTED,
  async run(s, tag, cmd) {
    const sel = s.selected!;
    const name = cmd.uid ? 'UID STORE' : 'STORE';
    if (beyondMailbox(sel, cmd.set, cmd.uid)) {
      return s.bad(tag, `${name}: no such message (the mailbox has ${sel.exists}); sequence numbers go up to EXISTS`);
    }
    const bad = unstorableFlag(cmd.flags);
    if (bad !== null)
      return s.bad(tag, `${bad} cannot be stored; flags are \\Seen \\Answered \\Flagged \\Deleted \\Draft or keywords`);
    // RFC 7162 §3.1: UNCHANGEDSINCE is CONDSTORE-enabling.
    if (cmd.unchangedSince !== null) s.enableCondstore();
    if (sel.readOnly) return s.no(tag, 'The mailbox is read-only (EXAMINE); SELECT it to change flags', 'READ-ONLY');
    const flags = sel.canonicalFlags(cmd.flags);
    // The bound on keywords per mailbox (normalize.ts): checked only when this STORE brings keywords the
    // session has not seen, and then against the keywords the messages carry now (the session's list
    // only grows: keywords no message has any more must not count).
    const unknown = cmd.operation === 'remove' ? 0 : sel.unknownKeywords(flags);
    if (unknown > 0 && sel.keywordCount + unknown > MAX_KEYWORDS) {
      const inUse = sel.keywordsInUse();
      const added = new Set(
        flags.filter((f) => !f.startsWith('\\') && !inUse.has(f.toLowerCase())).map((f) => f.toLowerCase()),
      ).size;
      if (inUse.size + added > MAX_KEYWORDS) {
        return s.no(
          tag,
          `Too many keywords: a mailbox holds at most ${MAX_KEYWORDS} different ones (this one has ${inUse.size}, this ${name} adds ${added}); use fewer, or remove unused ones with -FLAGS`,
          'LIMIT',
        );
      }
    }

    const indices = selectMessages(sel, cmd.set, cmd.uid);
    const uids = indices.map((i) => sel.uidAt(i));
    const since =
      cmd.unchangedSince === null
        ? undefined
        : cmd.unchangedSince > BigInt(Number.MAX_SAFE_INTEGER)
          ? Number.MAX_SAFE_INTEGER
          : Number(cmd.unchangedSince);
    const result =
      uids.length === 0
        ? { changed: [], unchanged: [], modified: [] }
        : await s.store.messages.storeFlags({
            mailboxId: sel.mailbox.id,
            uids,
            op: cmd.operation,
            flags,
            unchangedSince: since,
          });
    if (result.changed.length > 0) sel.forget('flags', result.changed[0].modseq);

    // RFC 9051 §6.4.6: without .SILENT the new flags come back as FETCH FLAGS. With .SILENT they are
    // still sent when they differ from what the client expects (another session changed the message
    // and that was not announced yet). RFC 7162 §3.1.3: with CONDSTORE a FETCH with UID and MODSEQ is
    // sent even for .SILENT.
    const answered = [...result.changed, ...result.unchanged].sort((a, b) => a.uid - b.uid);
    // RFC 3501 §7.2.6, RFC 9051 §7.3.5: a keyword the mailbox's FLAGS did not list goes out in a new
    // FLAGS (and PERMANENTFLAGS) before any FETCH shows it, also when .SILENT shows nothing.
    announceNewKeywords(s, answered, result.modified);
    for (const info of answered) {
      const m = sel.byUid(info.uid);
      if (!m) continue;
      const expected = applyStore(m.flags, cmd.operation, flags);
      const sendFlags = !cmd.silent || !sameFlags(expected, info.flags);
      sel.updateOwnFlags([info]);
      if (!sendFlags && !s.condstore) continue;
      const w = s
        .builder()
        .untagged()
        .raw(`${sel.seqOf(info.uid)} FETCH (`);
      let sep = '';
      if (cmd.uid || s.condstore) {
        w.raw(`UID ${info.uid}`);
        sep = ' ';
      }
      if (sendFlags) {
        w.raw(`${sep}FLAGS `).flags(s.flagsOf(m, info.flags));
        sep = ' ';
      }
      if (s.condstore) w.raw(`${sep}MODSEQ (${info.modseq})`);
      s.send(w.raw(')').crlf());
    }
    // RFC 7162 §3.1.3: messages that failed UNCHANGEDSINCE get their current state (Mox does this), and
    // the tagged OK names them with [MODIFIED], as sequence numbers for STORE and UIDs for UID STORE.
    const failed: number[] = [];
    for (const info of result.modified) {
      const seq = sel.seqOf(info.uid);
      if (seq === 0) continue;
      sel.updateOwnFlags([info]);
      s.send(
        s
          .builder()
          .untagged()
          .raw(`${seq} FETCH (UID ${info.uid} FLAGS `)
          .flags(s.flagsOf({ recent: sel.recentAt(seq - 1) }, info.flags))
          .raw(` MODSEQ (${info.modseq}))`)
          .crlf(),
      );
      failed.push(cmd.uid ? info.uid : seq);
    }

    await s.announce(cmd.uid);
    if (failed.length > 0) {
      failed.sort((a, b) => a - b);
      return s.ok(tag, 'Conditional STORE failed for some messages', {
        code: 'MODIFIED',
        set: compactNumbers(failed),
      });
    }
    s.ok(tag, `${name} completed`);
  },
});

/** RFC 9051 §6.4.6: how the flags change, on which messages, and RFC 7162 §3.1.3 UNCHANGEDSINCE. */
export interface StoreCommand {
  name: 'STORE';
  uid: boolean;
  set: SequenceSet;
  operation: StoreOperation;
  silent: boolean;
  flags: string[];
  /** RFC 7162 §3.1.3 UNCHANGEDSINCE. */
  unchangedSince: bigint | null;
}

export type StoreOperation = 'replace' | 'add' | 'remove';

/**
 * RFC 9051 §6.4.6 STORE: `store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags`;
 * `store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))`;
 * RFC 7162 §3.1.3: `store-modifier =/ "UNCHANGEDSINCE" SP mod-sequence-valzer`.
 */
function parseStore({ r }: ParseContext, uid: boolean): StoreCommand {
  r.sp('after STORE');
  const set = r.sequenceSet();
  r.sp('after the sequence set');
  let unchangedSince: bigint | null = null;
  if (r.peek() === LPAREN) {
    r.list(
      () => {
        const at = r.pos;
        const mod = r.keyword('a STORE modifier');
        if (mod !== 'UNCHANGEDSINCE') r.fail(`unknown STORE modifier "${printable(mod)}"`, at);
        r.sp('after UNCHANGEDSINCE');
        unchangedSince = r.number64('a mod-sequence');
      },
      { what: 'the STORE modifiers' },
    );
    r.sp('after the STORE modifiers');
  }
  let operation: StoreOperation = 'replace';
  if (r.tryByte(PLUS)) operation = 'add';
  else if (r.tryByte(MINUS)) operation = 'remove';
  const at = r.pos;
  const item = r.name('FLAGS, +FLAGS or -FLAGS');
  if (item !== 'FLAGS' && item !== 'FLAGS.SILENT')
    r.fail(`expected FLAGS or FLAGS.SILENT, not "${printable(item)}"`, at);
  r.sp('after FLAGS');
  let flags: string[];
  if (r.peek() === LPAREN) flags = r.flagList();
  else {
    flags = [r.flag()];
    while (r.trySp()) flags.push(r.flag());
  }
  return { name: 'STORE', uid, set, operation, silent: item === 'FLAGS.SILENT', flags, unchangedSince };
}
