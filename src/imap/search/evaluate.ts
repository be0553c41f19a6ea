/**
 * Evaluating SEARCH criteria (RFC 9051 §6.4.4 and the extensions the parser knows) over the selected
 * mailbox as the session sees it.
 *
 * Invariants:
 * - The key tree is compiled once per command into closures; each closure returns true, false, or
 *   `undefined` ("needs data not loaded yet"). AND, OR and NOT combine these three-valued
 *   (Kleene logic), so a message is decided as soon as the data loaded so far decides it.
 * - Evaluation runs in stages of increasing cost, loading only for the messages still undecided:
 *   (0) the in-memory view (flags, size, internal date, UID, sequence number, modseq) — no I/O;
 *   (1) the digest (ENVELOPE-derived, cached per session, digest.ts) for FROM/TO/CC/BCC/SUBJECT/SENT*;
 *   (2) the header bytes for HEADER and the header part of TEXT (read directly, no meta parse; only
 *       the fields a HEADER key names are decoded);
 *   (3) the whole message (decoded text parts) for BODY and TEXT.
 *   Before stage 1, when at least PROBE_MIN messages are still undecided, BODY/TEXT keys ask the store's
 *   body search index (`MessageStore.searchText`) for candidate UIDs: a message that is no candidate
 *   cannot contain the string and is decided without I/O; candidates are read and compared as before.
 *   A search on flags, sizes, dates or UIDs therefore never touches the store, and `OR FROM x BODY y`
 *   reads bodies only of messages not from x.
 * - Loading reads the store per message (synchronous SQLite underneath) in chunks of CHUNK, and
 *   yields to the event loop at least every 10 ms, so a long search does not stall other sessions.
 *   The same pacer runs through the in-memory passes (every CHUNK messages) and between the body
 *   index lookups (one synchronous FTS query each; a lookup is made once per distinct string), and
 *   stops the search with ClientGoneError once the client is gone.
 * - One command has at most MAX_SEARCH_KEYS search keys (checkSearchSize; every key counts, also
 *   those inside NOT, OR and parentheses): more is answered BAD before anything is evaluated, so
 *   the work of one command stays bounded (the parser bounds only the nesting depth).
 * - Dates: BEFORE/ON/SINCE compare the calendar date of INTERNALDATE in UTC (the server's time zone
 *   for SEARCH is UTC: day boundaries are at 00:00 UTC for every client); SENT* compare the calendar
 *   date written in the Date header (time and zone disregarded, RFC 9051 §6.4.4); a message without
 *   a parseable Date header matches no SENT* key.
 * - Text keys match case-insensitively (src/mail `fold`) as substrings of decoded text. An empty
 *   string matches every message, except HEADER, where it matches messages that have the field.
 * - Keys this server does not support (SAVEDBEFORE/ON/SINCE, SAVEDATESUPPORTED: no SAVEDATE; FUZZY)
 *   raise `SearchError('unsupported')`, answered with BAD as for an unknown key.
 */
import { isUtf8 } from 'node:buffer';
import { fieldValue, type HeaderField, scanHeader } from '../../mail/header.js';
import type { MimePart } from '../../mail/mime.js';
import { parseMessage } from '../../mail/parse.js';
import {
  decodeHeaderValue,
  fold,
  foldedHeader,
  foldedMimeHeaders,
  SearchableMessage,
  type SearchMeta,
} from '../../mail/search.js';
import type { Store } from '../../store/types.js';
import type { SearchKey } from '../commands/search-grammar.js';
import { emailIdHashPrefix } from '../fetch/objectid.js';
import { newScratch, type SelectedMailbox, type SelectedMessage } from '../selected.js';
import type { ImapDate } from '../wire/reader.js';
import { resolveSequenceSet } from '../wire/seqset.js';
import { CHUNK, type DigestCache, loadDigests, type MessageDigest, Pacer } from './digest.js';

export class SearchError extends Error {
  override name = 'SearchError';

  constructor(
    readonly kind: 'unsupported' | 'badcharset' | 'toomany',
    message: string,
  ) {
    super(message);
  }
}

/** What a search runs against. */
export interface SearchScope {
  store: Store;
  selected: SelectedMailbox;
  cache: DigestCache;
  /** "Now" for OLDER/YOUNGER, in ms (tests fix it). */
  now?: number;
  /** Whether the client is gone (long searches stop then). */
  cancelled?: () => boolean;
}

/** RFC 9051 §6.4.4: US-ASCII and UTF-8 MUST be supported; we support exactly those. */
export const CHARSETS = ['UTF-8', 'US-ASCII'] as const;

/** Throws SearchError('badcharset') unless the charset is one we search in (null: none given). */
export function checkCharset(charset: string | null): void {
  if (charset === null) return;
  const c = charset.toUpperCase();
  if (c === 'UTF-8' || c === 'US-ASCII' || c === 'UTF8' || c === 'ASCII') return;
  throw new SearchError('badcharset', `Charset ${charset.slice(0, 40)} is not supported; use UTF-8`);
}

/**
 * The most search keys one SEARCH, UID SEARCH, SORT or THREAD may have. Real clients send a few
 * dozen at most; each BODY/TEXT key may cost an index lookup and every key is tested per message.
 */
export const MAX_SEARCH_KEYS = 1000;

/**
 * The number of search keys in a criteria tree: every key the client wrote, including NOT, OR and
 * FUZZY and the keys inside them; the AND of several keys (a list, parentheses) adds none.
 */
export function countSearchKeys(key: SearchKey): number {
  let n = 0;
  const stack: SearchKey[] = [key];
  for (let k = stack.pop(); k !== undefined; k = stack.pop()) {
    switch (k.op) {
      case 'and':
        for (const c of k.keys) stack.push(c);
        continue;
      case 'or':
        stack.push(k.left, k.right);
        break;
      case 'not':
      case 'fuzzy':
        stack.push(k.key);
        break;
    }
    n++;
  }
  return n;
}

/** Throws SearchError('toomany') when the criteria have more than MAX_SEARCH_KEYS keys (answered BAD). */
export function checkSearchSize(key: SearchKey): void {
  const n = countSearchKeys(key);
  if (n > MAX_SEARCH_KEYS) {
    throw new SearchError(
      'toomany',
      `Too many search keys (${n}); at most ${MAX_SEARCH_KEYS} in one command: split the search`,
    );
  }
}

const MEM = 0;
const DIGEST = 1;
const HEADER = 2;
const FULL = 3;

/** The message header: its bytes, split into fields on first use, decoded field by field as needed. */
interface HeaderView {
  bytes: Buffer;
  fields: HeaderField[] | null;
  folded: string | null;
}

interface FullView {
  message: SearchableMessage;
  raw: Buffer;
  mime: MimePart;
  mimeHeaders: string | null;
}

/** What has been loaded for one message: undefined = not yet, null = not available (message gone). */
interface Loaded {
  digest?: MessageDigest | null;
  header?: HeaderView | null;
  full?: FullView | null;
}

type Tri = boolean | undefined;
type Test = (m: SelectedMessage, seq: number, l: Loaded) => Tri;

interface Matcher {
  /** The most expensive stage this key may need. */
  level: number;
  /** Bit mask of the loading stages (1 << stage) this key reads. */
  needs: number;
  test: Test;
  /** On the compiled root only: the body search index lookups its BODY/TEXT keys can use. */
  probes?: IndexProbe[];
}

/**
 * A lookup in the store's body search index for one BODY or TEXT key. `uids` stays undefined until
 * `runSearch` asks the store (only when enough messages are left to read); null when the index
 * cannot answer. A message whose UID is not among the candidates cannot match, so its key is false
 * without reading it; a candidate is still decided by its decoded text (the index narrows, the text
 * decides).
 */
interface IndexProbe {
  field: 'body' | 'text';
  needle: string;
  uids?: Set<number> | null;
}

/** The index is asked only when at least this many messages would otherwise be read. */
const PROBE_MIN = 8;

const DAY_MS = 86_400_000;

function leaf(level: number, test: Test, extra = 0): Matcher {
  return { level, needs: (level === MEM ? 0 : 1 << level) | extra, test };
}

/** What compiling needs besides the key: the view (numbers, `$`) and "now" for OLDER/YOUNGER. */
interface CompileContext {
  sel: SelectedMailbox;
  now: number;
  probes: IndexProbe[];
}

/** Compiles the key tree; throws SearchError for keys we do not support and for too many keys. */
export function compileSearch(key: SearchKey, scope: SearchScope): Matcher {
  checkSearchSize(key);
  const probes: IndexProbe[] = [];
  const root = compileKey(key, { sel: scope.selected, now: scope.now ?? Date.now(), probes });
  return probes.length > 0 ? { ...root, probes } : root;
}

/** One key: the logic operators combine compiled keys; each kind of leaf has its own compiler. */
function compileKey(k: SearchKey, cx: CompileContext): Matcher {
  switch (k.op) {
    case 'and':
      return allOf(k.keys.map((key) => compileKey(key, cx)));
    case 'or':
      return anyOf(compileKey(k.left, cx), compileKey(k.right, cx));
    case 'not':
      return negate(compileKey(k.key, cx));
    case 'all':
    case 'seq':
    case 'uid':
    case 'flag':
    case 'size':
    case 'age':
    case 'modseq':
    case 'threadid':
      return viewKey(k, cx);
    case 'date':
      return dateNode(k.which, k.cmp, k.date);
    case 'text':
      return textNode(k.field, decodeNeedle(k.value), cx.probes);
    case 'header':
      return headerNode(k.field, k.value);
    case 'emailid':
      return emailIdNode(k.id);
    case 'savedatesupported':
      throw new SearchError('unsupported', 'SAVEDATESUPPORTED needs SAVEDATE, which this server does not offer');
    case 'fuzzy':
      throw new SearchError('unsupported', 'FUZZY needs SEARCH=FUZZY, which this server does not offer');
  }
}

/** AND: false as soon as one key is false; cheapest first, so a decided cheap key spares loading. */
function allOf(keys: Matcher[]): Matcher {
  keys.sort((a, b) => a.level - b.level);
  return {
    level: Math.max(MEM, ...keys.map((n) => n.level)),
    needs: keys.reduce((acc, n) => acc | n.needs, 0),
    test(m, seq, l) {
      let unknown = false;
      for (const n of keys) {
        const r = n.test(m, seq, l);
        if (r === false) return false;
        if (r === undefined) unknown = true;
      }
      return unknown ? undefined : true;
    },
  };
}

/** OR: true as soon as one side is true, the cheaper side first. */
function anyOf(left: Matcher, right: Matcher): Matcher {
  const [a, b] = [left, right].sort((x, y) => x.level - y.level);
  return {
    level: Math.max(a.level, b.level),
    needs: a.needs | b.needs,
    test(m, seq, l) {
      const x = a.test(m, seq, l);
      if (x === true) return true;
      const y = b.test(m, seq, l);
      if (y === true) return true;
      return x === false && y === false ? false : undefined;
    },
  };
}

/** NOT: undecided stays undecided. */
function negate(n: Matcher): Matcher {
  return {
    level: n.level,
    needs: n.needs,
    test(m, seq, l) {
      const r = n.test(m, seq, l);
      return r === undefined ? undefined : !r;
    },
  };
}

type ViewKey = Extract<SearchKey, { op: 'all' | 'seq' | 'uid' | 'flag' | 'size' | 'age' | 'modseq' | 'threadid' }>;

/** Keys decided by the session's view alone (stage 0: flags, size, dates, numbers, modseq): no I/O. */
function viewKey(k: ViewKey, cx: CompileContext): Matcher {
  const sel = cx.sel;
  switch (k.op) {
    case 'all':
      return leaf(MEM, () => true);
    case 'seq': {
      // RFC 9051 §9 sequence-set as a search key; "$" is the saved result (RFC 5182 §2.1).
      if (k.set.kind === 'saved') {
        const saved = sel.savedSearch;
        return leaf(MEM, (m) => saved.contains(m.uid));
      }
      const set = resolveSequenceSet(k.set, sel.exists);
      return leaf(MEM, (_m, seq) => set.contains(seq));
    }
    case 'uid': {
      // RFC 9051 §6.4.4 UID <sequence set>; `*` is the highest UID in use (§6.4.8).
      const set = k.set.kind === 'saved' ? sel.savedSearch : resolveSequenceSet(k.set, sel.maxUid);
      return leaf(MEM, (m) => set.contains(m.uid));
    }
    case 'flag': {
      const flag = k.flag.toLowerCase();
      if (flag === '\\recent') {
        // RFC 3501 §6.4.4 RECENT/NEW/OLD: \Recent in this session (recent.ts; IMAP4rev2 has no such keys).
        return leaf(MEM, (m) => m.recent === k.set);
      }
      // Flags compare case-insensitively (RFC 9051 §2.3.2).
      return leaf(MEM, (m) => m.flags.some((f) => f === k.flag || f.toLowerCase() === flag) === k.set);
    }
    case 'size':
      // RFC 9051 §6.4.4 LARGER/SMALLER: RFC822.SIZE larger/smaller than n.
      return k.cmp === 'larger' ? leaf(MEM, (m) => m.size > k.size) : leaf(MEM, (m) => m.size < k.size);
    case 'age': {
      // RFC 5032 §2: target = now - interval, to the second; OLDER: INTERNALDATE <= target,
      // YOUNGER: INTERNALDATE >= target.
      const target = Math.floor(cx.now / 1000) - k.seconds;
      return k.cmp === 'older'
        ? leaf(MEM, (m) => Math.floor(m.internalDate / 1000) <= target)
        : leaf(MEM, (m) => Math.floor(m.internalDate / 1000) >= target);
    }
    case 'modseq': {
      // RFC 7162 §3.1.5: mod-sequence >= the value. We keep one modseq per message, so the entry
      // name and type are ignored, as that section requires of such servers.
      const min = k.modSeq > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(k.modSeq);
      return leaf(MEM, (m) => m.modseq >= min);
    }
    case 'threadid':
      // RFC 8474 §6 THREADID: FETCH answers THREADID NIL here (§5.2 allows it), so nothing has one.
      return leaf(MEM, () => false);
  }
}

/** RFC 9051 §6.4.4 HEADER: the field contains the string; "" matches any message with the field. */
function headerNode(field: string, value: Buffer): Matcher {
  const name = field.toLowerCase();
  const needle = fold(decodeNeedle(value));
  return leaf(HEADER, (_m, _s, l) => {
    if (l.header === undefined) return l.digest === null ? false : undefined;
    if (l.header === null) return false;
    const h = l.header;
    // Only the fields with that name are decoded (RFC 2047, unfolded).
    return headerFields(h).some(
      (f) =>
        f.name.toLowerCase() === name &&
        (needle === '' || fold(decodeHeaderValue(fieldValue(h.bytes, f.valueStart, f.valueEnd))).includes(needle)),
    );
  });
}

/** RFC 8474 §6 EMAILID: the message whose EMAILID (content hash, ../fetch/objectid.ts) it is. */
function emailIdNode(id: string): Matcher {
  const prefix = emailIdHashPrefix(id);
  if (prefix === null) return leaf(MEM, () => false);
  return leaf(DIGEST, (_m, _s, l) => (l.digest === undefined ? undefined : l.digest?.hashPrefix === prefix));
}

function decodeNeedle(value: Buffer): string {
  return isUtf8(value) ? value.toString('utf8') : value.toString('latin1');
}

/** ImapDate → UTC midnight in ms. */
function dayOf(d: ImapDate): number {
  return Date.UTC(d.year, d.month - 1, d.day);
}

function dateNode(which: 'internal' | 'sent' | 'saved', cmp: 'before' | 'on' | 'since', date: ImapDate): Matcher {
  if (which === 'saved') {
    throw new SearchError(
      'unsupported',
      'SAVEDBEFORE, SAVEDON and SAVEDSINCE need SAVEDATE, which this server does not offer',
    );
  }
  const target = dayOf(date);
  const match =
    cmp === 'before'
      ? (day: number) => day < target
      : cmp === 'on'
        ? (day: number) => day === target
        : (day: number) => day >= target;
  if (which === 'internal') {
    // RFC 9051 §6.4.4 BEFORE/ON/SINCE: INTERNALDATE's date, time and zone disregarded (UTC here).
    return leaf(MEM, (m) => match(Math.floor(m.internalDate / DAY_MS) * DAY_MS));
  }
  // RFC 9051 §6.4.4 SENTBEFORE/SENTON/SENTSINCE: the Date header's date, time and zone disregarded.
  return leaf(DIGEST, (_m, _s, l) => {
    if (l.digest === undefined) return undefined;
    const sent = l.digest?.sent() ?? null;
    return sent === null ? false : match(sent.day);
  });
}

function textNode(
  field: 'bcc' | 'body' | 'cc' | 'from' | 'subject' | 'text' | 'to',
  value: string,
  probes: IndexProbe[],
): Matcher {
  const needle = fold(value);
  const probe: IndexProbe = { field: field === 'text' ? 'text' : 'body', needle: value };
  if ((field === 'body' || field === 'text') && needle !== '') probes.push(probe);
  switch (field) {
    case 'from':
    case 'to':
    case 'cc':
    case 'bcc':
      // RFC 9051 §6.4.4: the string is in the envelope structure's FROM/TO/CC/BCC field.
      return leaf(DIGEST, (_m, _s, l) => {
        if (l.digest === undefined) return undefined;
        if (l.digest === null) return false;
        return needle === '' || l.digest.addressText(field).includes(needle);
      });
    case 'subject':
      // RFC 9051 §6.4.4: the string is in the envelope structure's SUBJECT field (decoded here).
      return leaf(DIGEST, (_m, _s, l) => {
        if (l.digest === undefined) return undefined;
        if (l.digest === null) return false;
        return needle === '' || l.digest.subjectText().includes(needle);
      });
    case 'body':
      // RFC 9051 §6.4.4 BODY: the body of the message (decoded text parts, src/mail/search.ts).
      if (needle === '') return leaf(MEM, () => true);
      return leaf(FULL, (m, _s, l) => {
        if (notCandidate(probe, m)) return false;
        if (l.full === undefined) return l.digest === null ? false : undefined;
        if (l.full === null) return false;
        return l.full.message.matchBody(value);
      });
    case 'text':
      // RFC 9051 §6.4.4 TEXT: the header (including MIME header fields) or the body.
      if (needle === '') return leaf(MEM, () => true);
      return leaf(
        FULL,
        (m, _s, l) => {
          if (notCandidate(probe, m)) return false;
          if (l.header === null) return false;
          if (l.header !== undefined && headerFolded(l.header).includes(needle)) return true;
          if (l.full === undefined) return undefined;
          if (l.full === null) return false;
          return mimeHeaders(l.full).includes(needle) || l.full.message.matchBody(value);
        },
        1 << HEADER,
      );
  }
}

/** The index has answered and the message is not among its candidates. */
function notCandidate(probe: IndexProbe, m: SelectedMessage): boolean {
  return probe.uids !== undefined && probe.uids !== null && !probe.uids.has(m.uid);
}

function headerFields(h: HeaderView): HeaderField[] {
  h.fields ??= scanHeader(h.bytes).fields;
  return h.fields;
}

function headerFolded(h: HeaderView): string {
  h.folded ??= foldedHeader(h.bytes);
  return h.folded;
}

/** Bytes read to find a message's header without its digest; longer headers are read whole. */
const HEADER_PROBE = 16 * 1024;

/**
 * Bytes of whole messages one search holds at a time (at least one message): chunks of CHUNK messages
 * of up to 25 MiB each would be gigabytes, and six searches at once on a 300 MB mailbox took 1.8 GB
 * before this bound (and before decided messages were let go chunk by chunk).
 */
const FULL_CHUNK_BYTES = 8 * 1024 * 1024;

/** What stands in `loaded` for a message already decided: its data is let go. */
const DECIDED: Loaded = Object.freeze({});

/** The header bytes of a message (without needing its stored meta), or null when it is gone. */
async function readHeader(store: Store, m: SelectedMessage): Promise<Buffer | null> {
  if (m.blobId === 0) return null;
  const probe = await store.blobs.readRange(m.blobId, 0, Math.min(m.size, HEADER_PROBE)).catch(() => null);
  if (probe === null) return null;
  const scan = scanHeader(probe);
  if (scan.hasEmptyLine || probe.length >= m.size) return probe.subarray(0, scan.headerEnd);
  const whole = await store.blobs.read(m.blobId).catch(() => null);
  return whole === null ? null : whole.subarray(0, scanHeader(whole).headerEnd);
}

/** The decoded MIME headers of every body part (not the message header), case-folded. */
function mimeHeaders(f: FullView): string {
  f.mimeHeaders ??= foldedMimeHeaders(f.raw, f.mime);
  return f.mimeHeaders;
}

/**
 * Runs a compiled search over the selected view. Returns the indices (sequence number - 1) of the
 * matching messages, ascending.
 */
export async function runSearch(scope: SearchScope, root: Matcher): Promise<number[]> {
  const sel = scope.selected;
  const matched: number[] = [];
  let pending: number[] = [];
  // The tests read the message at once and keep nothing of it: one scratch object serves every one.
  const scratch = newScratch();
  // Every pass below pauses through one pacer: other sessions run at least every 10 ms.
  const pacer = new Pacer(scope.cancelled);
  for (let i = 0, n = sel.exists; i < n; i++) {
    const r = root.test(sel.readInto(i, scratch), i + 1, {});
    if (r === true) matched.push(i);
    else if (r === undefined) pending.push(i);
    if (i % CHUNK === CHUNK - 1) await pacer.pause();
  }
  if (pending.length === 0) return matched;
  if (root.probes !== undefined && pending.length >= PROBE_MIN && (root.needs & (1 << FULL)) !== 0) {
    // Ask the body search index, then decide again what it rules out, before any message is read.
    // Each lookup is a synchronous query underneath: pause between them, and ask once per string.
    const mailboxId = scope.selected.mailbox.id;
    const asked = new Map<string, Set<number> | null>();
    for (const probe of root.probes) {
      const id = `${probe.field}\0${probe.needle}`;
      let uids = asked.get(id);
      if (uids === undefined) {
        uids = await scope.store.messages.searchText(mailboxId, probe.field, probe.needle);
        asked.set(id, uids);
        await pacer.pause();
      }
      probe.uids = uids;
    }
    const still: number[] = [];
    for (let k = 0; k < pending.length; k++) {
      const i = pending[k];
      const r = root.test(sel.readInto(i, scratch), i + 1, {});
      if (r === true) matched.push(i);
      else if (r === undefined) still.push(i);
      if (k % CHUNK === CHUNK - 1) await pacer.pause();
    }
    pending = still;
    if (pending.length === 0) return matched.sort((a, b) => a - b);
  }
  let loaded: Loaded[] = pending.map(() => ({}));
  for (let stage = DIGEST; stage <= FULL && pending.length > 0; stage++) {
    if ((root.needs & (1 << stage)) === 0) continue;
    const nextPending: number[] = [];
    const nextLoaded: Loaded[] = [];
    for (let from = 0; from < pending.length; ) {
      // Whole messages are loaded FULL_CHUNK_BYTES at a time (at least one), the rest CHUNK at a time.
      let to = from + 1;
      if (stage === FULL) {
        let bytes = sel.message(pending[from]).size;
        while (to < pending.length && to - from < CHUNK) {
          bytes += sel.message(pending[to]).size;
          if (bytes > FULL_CHUNK_BYTES) break;
          to++;
        }
      } else {
        to = Math.min(from + CHUNK, pending.length);
      }
      const idx = pending.slice(from, to);
      const ls = loaded.slice(from, to);
      await loadStage(scope, idx, ls, stage, pacer);
      idx.forEach((i, k) => {
        const r = root.test(sel.message(i), i + 1, ls[k]);
        if (r === true) matched.push(i);
        else if (r === undefined) {
          nextPending.push(i);
          nextLoaded.push(ls[k]);
        }
        // A decided message's bytes are let go at once, not at the end of the stage.
        if (r !== undefined) loaded[from + k] = DECIDED;
      });
      from = to;
      await pacer.pause();
    }
    pending = nextPending;
    loaded = nextLoaded;
  }
  // With everything loaded every test is decided; anything left is treated as no match.
  return matched.sort((a, b) => a - b);
}

/** Loads what `stage` needs for the messages at view indices `idx` (one chunk). */
async function loadStage(scope: SearchScope, idx: number[], ls: Loaded[], stage: number, pacer: Pacer): Promise<void> {
  const sel = scope.selected;
  const store = scope.store;
  // Only the digest stage loads digests: HEADER, BODY and TEXT read the bytes and need no meta parse.
  const needDigest = stage === DIGEST ? idx.map((_, k) => k).filter((k) => ls[k].digest === undefined) : [];
  if (needDigest.length > 0) {
    const ds = await loadDigests(
      store,
      scope.cache,
      sel.mailbox,
      needDigest.map((k) => sel.message(idx[k])),
      pacer,
    );
    needDigest.forEach((k, j) => {
      ls[k].digest = ds[j];
    });
  }
  for (let k = 0; k < idx.length; k++) {
    const l = ls[k];
    const m = sel.message(idx[k]);
    if (l.digest === null) {
      // gone (found out at the digest stage)
      l.header ??= null;
      l.full ??= null;
    } else if (stage === HEADER && l.header === undefined) {
      const bytes = await readHeader(store, m);
      l.header = bytes === null ? null : { bytes, fields: null, folded: null };
    } else if (stage === FULL && l.full === undefined) {
      const [raw, blob] =
        m.blobId === 0
          ? [null, null]
          : await Promise.all([
              store.blobs.read(m.blobId).catch(() => null),
              store.blobs.get(m.blobId).catch(() => null),
            ]);
      if (raw === null) {
        l.full = null;
        l.header ??= null;
        continue;
      }
      const stored = blob?.meta as Partial<SearchMeta> | null | undefined;
      const meta: SearchMeta =
        stored?.mime !== undefined && stored.envelope !== undefined ? (stored as SearchMeta) : parseMessage(raw);
      l.full = { message: new SearchableMessage(raw, meta), raw, mime: meta.mime, mimeHeaders: null };
      l.header ??= { bytes: raw.subarray(0, meta.mime.body), fields: null, folded: null };
    }
  }
}

/** Whether the tree contains a MODSEQ key (then results carry the highest modseq, RFC 7162 §3.1.5). */
export function hasModseqKey(key: SearchKey): boolean {
  switch (key.op) {
    case 'modseq':
      return true;
    case 'and':
      return key.keys.some(hasModseqKey);
    case 'or':
      return hasModseqKey(key.left) || hasModseqKey(key.right);
    case 'not':
    case 'fuzzy':
      return hasModseqKey(key.key);
    default:
      return false;
  }
}

/** Compiles and runs; the indices of matching messages, ascending. */
export async function search(scope: SearchScope, key: SearchKey): Promise<number[]> {
  return runSearch(scope, compileSearch(key, scope));
}
