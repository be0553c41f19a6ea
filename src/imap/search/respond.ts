/**
 * The part SEARCH, SORT and THREAD share around the evaluation: checking the charset, announcing
 * pending changes, CONDSTORE's implicit enabling, and writing the result as `* SEARCH`, `* SORT` or
 * `* ESEARCH` (RFC 4731, RFC 5267) with SAVE (RFC 5182).
 *
 * Invariants:
 * - Pending changes are announced before the search, without EXPUNGE for SEARCH/SORT/THREAD by
 *   sequence number (RFC 9051 §7.4.1: the numbers in the result must stay valid); UID variants may
 *   announce expunges too. The result is computed on the view as it is after that.
 * - Errors map as RFC 5182 §2.1 requires for `$`: BAD (an unsupported key or option, or more than
 *   MAX_SEARCH_KEYS keys, evaluate.ts) leaves the saved result alone; NO (BADCHARSET) of a command
 *   with SAVE empties it.
 */

import type { SearchKey, SearchReturn } from '../commands/search-grammar.js';
import type { ImapSession } from '../session.js';
import { compactNumbers, NumberSet } from '../wire/seqset.js';
import { digestCacheOf } from './digest.js';
import {
  CHARSETS,
  checkCharset,
  checkSearchSize,
  compileSearch,
  hasModseqKey,
  runSearch,
  SearchError,
  type SearchScope,
} from './evaluate.js';
import { saveResult } from './saved.js';

export interface CriteriaCommand {
  uid: boolean;
  charset: string | null;
  criteria: SearchKey;
  /** The command will SAVE its result (RETURN (SAVE)). */
  save: boolean;
}

/** The scope a session's search runs in. */
export function scopeOf(s: ImapSession): SearchScope {
  return { store: s.store, selected: s.selected!, cache: digestCacheOf(s), cancelled: () => s.conn.peerGone };
}

/**
 * Evaluates the criteria of SEARCH/SORT/THREAD for a session. Returns the matching messages as
 * indices into the view (ascending), or null when it already answered the command (BAD or NO).
 */
export async function evaluateCriteria(s: ImapSession, tag: string, cmd: CriteriaCommand): Promise<number[] | null> {
  const sel = s.selected!;
  try {
    // Too many keys is answered BAD before anything else happens (no announcements either).
    checkSearchSize(cmd.criteria);
    checkCharset(cmd.charset);
    // RFC 9051 §7.4.1: no EXPUNGE while the client may hold sequence numbers (SEARCH, not UID SEARCH).
    await s.announce(cmd.uid);
    const scope = scopeOf(s);
    const compiled = compileSearch(cmd.criteria, scope);
    // RFC 7162 §3.1: SEARCH MODSEQ is a CONDSTORE enabling command; the first one reports HIGHESTMODSEQ.
    if (hasModseqKey(cmd.criteria)) s.enableCondstore();
    return await runSearch(scope, compiled);
  } catch (err) {
    if (!(err instanceof SearchError)) throw err;
    if (err.kind === 'badcharset') {
      // RFC 5182 §2.1: a SEARCH with SAVE answered NO empties the saved result.
      if (cmd.save) saveResult(sel, []);
      s.no(tag, err.message, { code: 'BADCHARSET', charsets: CHARSETS });
    } else {
      s.bad(tag, err.message);
    }
    return null;
  }
}

/** What a SEARCH or SORT result is written as. */
export interface ResultForm {
  command: 'SEARCH' | 'SORT';
  uid: boolean;
  /** null: the plain `* SEARCH` / `* SORT` response. */
  returnOptions: SearchReturn | null;
  /** The criteria had a MODSEQ key: report the highest modseq (RFC 7162 §3.1.5, RFC 4731 §3.2). */
  modseq: boolean;
}

/** RFC 9051 §6.4.4: IMAP4rev2 answers SEARCH with ESEARCH; no RETURN options mean ALL. */
export const RETURN_ALL: SearchReturn = { min: false, max: false, all: true, count: false, save: false, partial: null };

/**
 * Writes the untagged result of SEARCH/SORT and applies SAVE. `indices` are in result order:
 * ascending for SEARCH, the sort order for SORT.
 */
export function writeResult(s: ImapSession, tag: string, form: ResultForm, indices: number[]): void {
  const sel = s.selected!;
  const numbers = indices.map((i) => (form.uid ? sel.uidAt(i) : i + 1));
  const highest = (list: number[]): number => list.reduce((h, i) => Math.max(h, sel.modseqAt(i)), 0);
  const ret = form.returnOptions;
  if (ret === null) {
    // RFC 3501 §7.2.5 `* SEARCH` (IMAP4rev1 only); RFC 5256 §4 (BASE.7.2.SORT) `* SORT`; RFC 7162
    // §3.1.6 "(MODSEQ n)" (and `sort-data` in its §7 grammar).
    let line = form.command + numbers.map((n) => ` ${n}`).join('');
    if (form.modseq && indices.length > 0) line += ` (MODSEQ ${highest(indices)})`;
    s.untagged(line);
    return;
  }
  const first = indices.length > 0 ? indices[0] : null;
  const last = indices.length > 0 ? indices[indices.length - 1] : null;
  // RFC 5182 §2.4: with MIN/MAX but neither ALL nor COUNT, `$` holds only the returned message(s).
  const onlyMinMax = (ret.min || ret.max) && !ret.all && !ret.count;
  if (ret.save) {
    const kept = onlyMinMax
      ? [...(ret.min && first !== null ? [first] : []), ...(ret.max && last !== null ? [last] : [])]
      : indices;
    saveResult(
      sel,
      kept.map((i) => sel.uidAt(i)),
    );
  }
  // RFC 5182 §1: SAVE alone suppresses the SEARCH response.
  if (!ret.min && !ret.max && !ret.all && !ret.count) return;
  // RFC 4731 §3.1 / RFC 5267 §3.2: MIN/MAX/ALL only when something matched; COUNT always. For SORT,
  // MIN and MAX are the first and last in sort order, and ALL keeps the sort order.
  // RFC 4731 §3.1 / RFC 9051 §7.3.4 `search-correlator = SP "(" "TAG" SP tag-string ")"`; a tag has no
  // quoted-specials (RFC 9051 §9 `tag`), so it quotes as is.
  let line = `ESEARCH (TAG "${tag}")${form.uid ? ' UID' : ''}`;
  if (ret.min && first !== null) line += ` MIN ${numbers[0]}`;
  if (ret.max && last !== null) line += ` MAX ${numbers[numbers.length - 1]}`;
  if (ret.count) line += ` COUNT ${numbers.length}`;
  if (ret.all && numbers.length > 0) {
    line += ` ALL ${form.command === 'SEARCH' ? NumberSet.fromNumbers(numbers).toString() : compactNumbers(numbers)}`;
  }
  if (form.modseq && indices.length > 0) {
    // RFC 4731 §3.2: the modseq of the MIN/MAX message(s) when only those are returned, else of all.
    const basis = onlyMinMax ? [...(ret.min ? [first!] : []), ...(ret.max ? [last!] : [])] : indices;
    line += ` MODSEQ ${highest(basis)}`;
  }
  s.untagged(line);
}
