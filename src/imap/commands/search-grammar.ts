/**
 * The search grammar shared by SEARCH, SORT and THREAD (RFC 9051 §6.4.4 and §9 `search-key`, RFC 3501
 * NEW/OLD/RECENT, and the extensions named beside each key), and the RETURN options of ESEARCH/ESORT.
 * Evaluation is in ../search/.
 *
 * Invariants:
 * - Search criteria are a tree with a depth limit (ParseContext.maxDepth), so a hostile
 *   `NOT NOT NOT ...` cannot overflow the stack.
 * - Search strings stay Buffers, byte-exact; the charset is the command's business.
 */
import { type ParseContext, printable } from '../wire/commands.js';
import { canonicalFlag, type ImapDate, type Reader } from '../wire/reader.js';
import type { SequenceSet } from '../wire/seqset.js';
import { DQUOTE, headerFieldName, isDigit, LPAREN, type PartialRange, partialRange } from './grammar.js';

/** RFC 4731 §3.1 (ESEARCH), RFC 5182 §2.2 (SAVE), RFC 9394 §3.1 (PARTIAL). */
export interface SearchReturn {
  min: boolean;
  max: boolean;
  all: boolean;
  count: boolean;
  save: boolean;
  partial: PartialRange | null;
}

export type SearchTextField = 'bcc' | 'body' | 'cc' | 'from' | 'subject' | 'text' | 'to';

/** RFC 9051 §6.4.4 search keys and extensions, as a tree. */
export type SearchKey =
  | { op: 'all' }
  | { op: 'and'; keys: SearchKey[] }
  | { op: 'or'; left: SearchKey; right: SearchKey }
  | { op: 'not'; key: SearchKey }
  /** Message sequence numbers (or `$`, RFC 5182). */
  | { op: 'seq'; set: SequenceSet }
  | { op: 'uid'; set: SequenceSet }
  /** ANSWERED, UNSEEN, KEYWORD x, ... `set` is whether the flag must be set. RECENT is `\Recent`. */
  | { op: 'flag'; flag: string; set: boolean }
  | { op: 'text'; field: SearchTextField; value: Buffer }
  | { op: 'header'; field: string; value: Buffer }
  /** BEFORE/ON/SINCE (internal), SENT* (Date: header), SAVED* (RFC 8514 §4.3). */
  | { op: 'date'; which: 'internal' | 'sent' | 'saved'; cmp: 'before' | 'on' | 'since'; date: ImapDate }
  | { op: 'size'; cmp: 'larger' | 'smaller'; size: number }
  /** RFC 5032 §3 OLDER/YOUNGER, in seconds. */
  | { op: 'age'; cmp: 'older' | 'younger'; seconds: number }
  /** RFC 7162 §3.1.5 MODSEQ. */
  | { op: 'modseq'; modSeq: bigint; entry: { flag: string; type: 'priv' | 'shared' | 'all' } | null }
  /** RFC 8474 §6. */
  | { op: 'emailid'; id: string }
  | { op: 'threadid'; id: string }
  /** RFC 8514 §4.3. */
  | { op: 'savedatesupported' }
  /** RFC 6203 §3. */
  | { op: 'fuzzy'; key: SearchKey };

/** `RETURN (...)` and the space after it when the command has one (SEARCH, SORT); null when it has not. */
export function optionalSearchReturn(r: Reader): SearchReturn | null {
  if (!r.tryKeyword('RETURN')) return null;
  r.sp('after RETURN');
  const returnOptions = searchReturn(r);
  r.sp('after the RETURN options');
  return returnOptions;
}

/**
 * RFC 4731 §3.1 / RFC 9051 §9: `search-return-opts = SP "RETURN" SP "(" [search-return-opt
 * *(SP search-return-opt)] ")"`; an empty list means ALL. SAVE: RFC 5182 §2.2. PARTIAL: RFC 9394 §3.1.
 */
function searchReturn(r: Reader): SearchReturn {
  const ret: SearchReturn = { min: false, max: false, all: false, count: false, save: false, partial: null };
  const opts = r.list(
    () => {
      const at = r.pos;
      const opt = r.keyword('a RETURN option');
      switch (opt) {
        case 'MIN':
          ret.min = true;
          break;
        case 'MAX':
          ret.max = true;
          break;
        case 'ALL':
          ret.all = true;
          break;
        case 'COUNT':
          ret.count = true;
          break;
        case 'SAVE':
          ret.save = true;
          break;
        case 'PARTIAL':
          r.sp('after PARTIAL');
          ret.partial = partialRange(r);
          break;
        default:
          r.fail(`unknown RETURN option "${printable(opt)}"`, at);
      }
      return opt;
    },
    { allowEmpty: true, what: 'the RETURN options' },
  );
  // RFC 4731 §3.1: "RETURN ()" is the same as "RETURN (ALL)".
  if (opts.length === 0) ret.all = true;
  return ret;
}

/** `search-key *(SP search-key)`: several keys are ANDed (RFC 9051 §6.4.4). */
export function searchKeys(ctx: ParseContext): SearchKey {
  const keys = [searchKey(ctx, 0)];
  while (ctx.r.trySp()) keys.push(searchKey(ctx, 0));
  return keys.length === 1 ? keys[0] : { op: 'and', keys };
}

const FLAG_KEYS = new Map<string, [string, boolean]>([
  ['ANSWERED', ['\\Answered', true]],
  ['DELETED', ['\\Deleted', true]],
  ['DRAFT', ['\\Draft', true]],
  ['FLAGGED', ['\\Flagged', true]],
  ['SEEN', ['\\Seen', true]],
  ['UNANSWERED', ['\\Answered', false]],
  ['UNDELETED', ['\\Deleted', false]],
  ['UNDRAFT', ['\\Draft', false]],
  ['UNFLAGGED', ['\\Flagged', false]],
  ['UNSEEN', ['\\Seen', false]],
  // RFC 3501 §6.4.4 only (no \Recent in IMAP4rev2): RECENT, OLD = NOT RECENT.
  ['RECENT', ['\\Recent', true]],
  ['OLD', ['\\Recent', false]],
]);

const TEXT_KEYS = new Map<string, SearchTextField>([
  ['BCC', 'bcc'],
  ['BODY', 'body'],
  ['CC', 'cc'],
  ['FROM', 'from'],
  ['SUBJECT', 'subject'],
  ['TEXT', 'text'],
  ['TO', 'to'],
]);

const DATE_KEYS = new Map<string, [Extract<SearchKey, { op: 'date' }>['which'], 'before' | 'on' | 'since']>([
  ['BEFORE', ['internal', 'before']],
  ['ON', ['internal', 'on']],
  ['SINCE', ['internal', 'since']],
  ['SENTBEFORE', ['sent', 'before']],
  ['SENTON', ['sent', 'on']],
  ['SENTSINCE', ['sent', 'since']],
  ['SAVEDBEFORE', ['saved', 'before']], // RFC 8514 §4.3
  ['SAVEDON', ['saved', 'on']],
  ['SAVEDSINCE', ['saved', 'since']],
]);

/** RFC 9051 §9 `search-key`, + RFC 3501 NEW/OLD/RECENT, MODSEQ, OLDER/YOUNGER, EMAILID/THREADID, SAVED*, FUZZY. */
function searchKey(ctx: ParseContext, depth: number): SearchKey {
  const { r } = ctx;
  if (depth > ctx.maxDepth) r.fail(`search criteria nested deeper than ${ctx.maxDepth} levels`);
  const c = r.peek();
  if (c === LPAREN) {
    // RFC 9051 §9: "(" search-key *(SP search-key) ")"
    const keys = r.list(() => searchKey(ctx, depth + 1), { what: 'the parenthesised search keys' });
    return keys.length === 1 ? keys[0] : { op: 'and', keys };
  }
  // RFC 9051 §9: search-key =/ sequence-set (and "$", RFC 5182 §2.1).
  if (isDigit(c) || c === 0x2a || c === 0x24) return { op: 'seq', set: r.sequenceSet() };
  const at = r.pos;
  const word = r.keyword('a search key');
  const flagKey = FLAG_KEYS.get(word);
  if (flagKey) return { op: 'flag', flag: flagKey[0], set: flagKey[1] };
  const textKey = TEXT_KEYS.get(word);
  if (textKey) {
    r.sp(`after ${word}`);
    return { op: 'text', field: textKey, value: r.astring(`the ${word} string`) };
  }
  const dateKey = DATE_KEYS.get(word);
  if (dateKey) {
    r.sp(`after ${word}`);
    return { op: 'date', which: dateKey[0], cmp: dateKey[1], date: r.date() };
  }
  switch (word) {
    case 'ALL':
      return { op: 'all' };
    case 'NEW':
      // RFC 3501 §6.4.4: NEW is RECENT UNSEEN.
      return {
        op: 'and',
        keys: [
          { op: 'flag', flag: '\\Recent', set: true },
          { op: 'flag', flag: '\\Seen', set: false },
        ],
      };
    case 'KEYWORD':
    case 'UNKEYWORD':
      r.sp(`after ${word}`);
      return { op: 'flag', flag: r.flag(), set: word === 'KEYWORD' };
    case 'HEADER': {
      r.sp('after HEADER');
      const field = headerFieldName(r);
      r.sp('after the header field name');
      return { op: 'header', field, value: r.astring('the header value to search for') };
    }
    case 'LARGER':
    case 'SMALLER': {
      r.sp(`after ${word}`);
      // RFC 9051 §9: "LARGER" SP number64
      const n = r.number64('a size in bytes');
      const size = n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
      return { op: 'size', cmp: word === 'LARGER' ? 'larger' : 'smaller', size };
    }
    case 'NOT':
      r.sp('after NOT');
      return { op: 'not', key: searchKey(ctx, depth + 1) };
    case 'OR': {
      r.sp('after OR');
      const left = searchKey(ctx, depth + 1);
      r.sp('between the two keys of OR');
      return { op: 'or', left, right: searchKey(ctx, depth + 1) };
    }
    case 'UID':
      r.sp('after UID');
      return { op: 'uid', set: r.sequenceSet() };
    case 'OLDER':
    case 'YOUNGER':
      // RFC 5032 §3: "OLDER" SP nz-number / "YOUNGER" SP nz-number
      r.sp(`after ${word}`);
      return { op: 'age', cmp: word === 'OLDER' ? 'older' : 'younger', seconds: r.nzNumber('a number of seconds') };
    case 'MODSEQ':
      return modseqKey(r);
    case 'EMAILID':
    case 'THREADID': {
      // RFC 8474 §6: "EMAILID" SP objectid / "THREADID" SP objectid
      r.sp(`after ${word}`);
      const id = objectId(r);
      return word === 'EMAILID' ? { op: 'emailid', id } : { op: 'threadid', id };
    }
    case 'SAVEDATESUPPORTED':
      return { op: 'savedatesupported' };
    case 'FUZZY':
      r.sp('after FUZZY');
      return { op: 'fuzzy', key: searchKey(ctx, depth + 1) };
    default:
      return r.fail(`unknown search key "${printable(word)}"`, at);
  }
}

/**
 * RFC 7162 §7: `search-modsequence = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer`;
 * `search-modseq-ext = SP entry-name SP entry-type-req`; `entry-name = DQUOTE "/flags/" attr-flag DQUOTE`;
 * `entry-type-req = "priv" / "shared" / "all"`.
 */
function modseqKey(r: Reader): SearchKey {
  r.sp('after MODSEQ');
  let entry: Extract<SearchKey, { op: 'modseq' }>['entry'] = null;
  if (r.peek() === DQUOTE) {
    const at = r.pos;
    const name = r.quoted().toString('latin1');
    if (!name.toLowerCase().startsWith('/flags/') || name.length <= 7) {
      r.fail('a MODSEQ entry name looks like "/flags/\\\\Seen"', at);
    }
    const flag = canonicalFlag(name.slice(7));
    r.sp('after the MODSEQ entry name');
    const typeAt = r.pos;
    const type = r.keyword('priv, shared or all').toLowerCase();
    if (type !== 'priv' && type !== 'shared' && type !== 'all') r.expected('priv, shared or all', typeAt);
    r.sp('after the MODSEQ entry type');
    entry = { flag, type };
  }
  return { op: 'modseq', modSeq: r.number64('a mod-sequence'), entry };
}

/** RFC 8474 §7: `objectid = 1*255(ALPHA / DIGIT / "_" / "-")`. */
function objectId(r: Reader): string {
  const at = r.pos;
  const id = r.atom('an object id');
  if (!/^[A-Za-z0-9_-]{1,255}$/.test(id)) r.fail('an object id is 1-255 letters, digits, "_" or "-"', at);
  return id;
}
