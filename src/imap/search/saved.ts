/**
 * Resolving a client's message set against the selected mailbox, including `$`, the saved search
 * result (SEARCHRES, RFC 5182). FETCH, STORE, COPY, MOVE, UID EXPUNGE, SEARCH, SORT and THREAD all
 * resolve their sets here, so `$` means the same everywhere.
 *
 * Invariants:
 * - `$` is kept as UIDs (`SelectedMailbox.savedSearch`); it names the same messages whether it was
 *   saved by SEARCH or UID SEARCH and whether it is used with sequence numbers or UIDs (RFC 5182 §2.1
 *   implementation note). Messages no longer in the session's view drop out of it, which is "when a
 *   message listed in the search result variable is EXPUNGEd, it is automatically removed".
 * - An empty `$` is a valid set that matches nothing (RFC 5182 §2.1), never an error.
 */
import type { SelectedMailbox } from '../selected.js';
import { NumberSet, resolveSequenceSet, type SequenceSet } from '../wire/seqset.js';

/**
 * The sequence numbers (`uid` false) or UIDs (`uid` true) that `set` names. `*` is the number of
 * messages, or the highest UID (RFC 9051 §6.4.8: `n:*` always includes it). Numbers beyond the
 * mailbox are kept: for UIDs they simply match nothing (RFC 9051 §6.4.9); for sequence numbers see
 * `beyondMailbox`.
 */
export function resolveSet(sel: SelectedMailbox, set: SequenceSet, uid: boolean): NumberSet {
  if (set.kind === 'saved') {
    const out: number[] = [];
    for (const i of savedIndices(sel)) out.push(uid ? sel.uidAt(i) : i + 1);
    return NumberSet.fromNumbers(out);
  }
  return resolveSequenceSet(set, uid ? sel.maxUid : sel.exists);
}

/**
 * Whether a sequence-number set names a number beyond the mailbox (including `*` in an empty one):
 * RFC 9051 §9 (`seq-number`) says the server should answer BAD then. Always false for `$` and UIDs.
 */
export function beyondMailbox(sel: SelectedMailbox, set: SequenceSet, uid: boolean): boolean {
  if (uid || set.kind === 'saved') return false;
  if (sel.exists === 0) return true;
  const max = resolveSequenceSet(set, sel.exists).max;
  return max !== null && max > sel.exists;
}

/** The view indices of the messages in `$`, ascending: each saved UID looked up (`$` is usually small). */
function savedIndices(sel: SelectedMailbox): number[] {
  const out: number[] = [];
  const saved = sel.savedSearch;
  if (saved.size > sel.exists) {
    for (let i = 0; i < sel.exists; i++) if (saved.contains(sel.uidAt(i))) out.push(i);
    return out;
  }
  for (const [lo, hi] of saved.ranges) {
    for (let uid = lo; uid <= hi; uid++) {
      const i = sel.indexOfUid(uid);
      if (i >= 0) out.push(i);
    }
  }
  return out;
}

/** The messages `set` names, as view indices (sequence number - 1), ascending. */
export function selectMessages(sel: SelectedMailbox, set: SequenceSet, uid: boolean): number[] {
  if (set.kind === 'saved') return savedIndices(sel);
  const numbers = resolveSet(sel, set, uid);
  const out: number[] = [];
  if (!uid) {
    for (const [lo, hi] of numbers.ranges) for (let n = lo; n <= Math.min(hi, sel.exists); n++) out.push(n - 1);
    return out;
  }
  // UIDs: walk the view (ascending UIDs) against the ranges; cost is O(messages + ranges).
  const ranges = numbers.ranges;
  let r = 0;
  const n = sel.exists;
  for (let i = 0; i < n; i++) {
    const u = sel.uidAt(i);
    while (r < ranges.length && ranges[r][1] < u) r++;
    if (r < ranges.length && ranges[r][0] <= u) out.push(i);
  }
  return out;
}

/** Stores a SEARCH/SORT result as `$` (RFC 5182 §2.1); `uids` in any order. */
export function saveResult(sel: SelectedMailbox, uids: Iterable<number>): void {
  sel.savedSearch = NumberSet.fromNumbers(uids);
}
