/**
 * What SEARCH, SORT and THREAD read about a message's header, kept small and cached per session.
 *
 * Invariants:
 * - A digest is derived from a blob's stored meta (src/mail/parse.ts `MessageMeta`: the ENVELOPE and
 *   the header length), never from the MIME tree, so it stays small.
 * - Derived values (decoded and case-folded strings, sort keys, the base subject, the sent date) are
 *   computed on first use and kept on the digest, so a second SEARCH or SORT on the same messages does
 *   no decoding at all.
 * - The cache is per session, keyed by (UIDVALIDITY, UID), bounded by an estimate of its size.
 * - Misses are read from the store one blob at a time (synchronous SQLite underneath); the loader
 *   yields to the event loop at least every 10 ms, so a cold search does not stall other sessions.
 * - `null` from the loader means the message is gone (expunged by someone else meanwhile, or a
 *   message the session knows only by EXISTS whose details did not load): such a message matches no
 *   content key and sorts with empty values.
 */

import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { decodeWords } from '../../mail/decode.js';
import type { Address, Envelope } from '../../mail/envelope.js';
import { parseMessage } from '../../mail/parse.js';
import { baseSubject, decodeHeaderValue, fold, parseDate } from '../../mail/search.js';
import { ClientGoneError } from '../../net/connection.js';
import type { Store } from '../../store/types.js';
import type { SelectedMessage } from '../selected.js';

export type AddressField = 'from' | 'to' | 'cc' | 'bcc';

/** Thread identifiers of a message (RFC 5256 §3 REFERENCES step (1)): read from the header bytes. */
export interface ThreadIds {
  /** The Message-ID with its angle brackets, or null when the message has no valid one. */
  messageId: string | null;
  /** The References ids, or the first In-Reply-To id when References has none (RFC 5256 §3 REFERENCES (1)(A)). */
  references: string[];
}

/**
 * Kept compact: of the envelope only the four address lists, the subject and the date are kept
 * (about 0.6 KB for a small message, 1.3 KB with its search values derived); every derived value is
 * a plain field, unset until computed.
 */
export class MessageDigest {
  /** Filled in by THREAD REFERENCES (needs the header bytes: MessageMeta has no References). */
  threadIds: ThreadIds | undefined;
  /** The first 24 hex digits of the content's SHA-256: what an EMAILID names (src/imap/fetch/objectid.ts). */
  readonly hashPrefix: string;
  readonly #subject: string | null;
  readonly #date: string | null;
  readonly #from: Address[] | null;
  readonly #to: Address[] | null;
  readonly #cc: Address[] | null;
  readonly #bcc: Address[] | null;
  #fromText: string | undefined;
  #toText: string | undefined;
  #ccText: string | undefined;
  #bccText: string | undefined;
  #subjectText: string | undefined;
  #sortFrom: string | undefined;
  #sortTo: string | undefined;
  #sortCc: string | undefined;
  #displayFrom: string | undefined;
  #displayTo: string | undefined;
  /** NaN: not computed; -Infinity: no parseable Date header. */
  #sentDay = Number.NaN;
  #sentTime = Number.NaN;
  #base: string | undefined;
  #replyOrForward = false;

  constructor(
    /** Bytes of the header block, including its empty line. */
    readonly headerLength: number,
    envelope: Envelope,
    hash: string,
  ) {
    this.hashPrefix = hash.slice(0, 24);
    this.#subject = envelope.subject;
    this.#date = envelope.date;
    this.#from = envelope.from;
    this.#to = envelope.to;
    this.#cc = envelope.cc;
    this.#bcc = envelope.bcc;
  }

  #list(field: AddressField): Address[] {
    const list = field === 'from' ? this.#from : field === 'to' ? this.#to : field === 'cc' ? this.#cc : this.#bcc;
    return list ?? [];
  }

  /**
   * FROM/TO/CC/BCC search text (RFC 9051 §6.4.4: "the envelope structure's FROM field"): each address
   * as `Display Name <mailbox@host>` (names decoded, RFC 2047), a group by its name, case-folded.
   */
  addressText(field: AddressField): string {
    switch (field) {
      case 'from':
        this.#fromText ??= fold(formatAddresses(this.#list('from')));
        return this.#fromText;
      case 'to':
        this.#toText ??= fold(formatAddresses(this.#list('to')));
        return this.#toText;
      case 'cc':
        this.#ccText ??= fold(formatAddresses(this.#list('cc')));
        return this.#ccText;
      case 'bcc':
        this.#bccText ??= fold(formatAddresses(this.#list('bcc')));
        return this.#bccText;
    }
  }

  /** SUBJECT search text: the envelope subject, encoded-words decoded (RFC 2047), case-folded. */
  subjectText(): string {
    this.#subjectText ??= fold(decodeHeaderValue(this.#subject ?? ''));
    return this.#subjectText;
  }

  /** The Date header: `day` is its calendar date (UTC midnight, ms), `time` its instant; null when absent/unparseable. */
  sent(): { day: number; time: number } | null {
    if (Number.isNaN(this.#sentDay)) {
      const p = this.#date === null ? null : parseDate(this.#date);
      this.#sentDay = p?.day ?? Number.NEGATIVE_INFINITY;
      this.#sentTime = p?.time ?? Number.NEGATIVE_INFINITY;
    }
    return this.#sentDay === Number.NEGATIVE_INFINITY ? null : { day: this.#sentDay, time: this.#sentTime };
  }

  /** RFC 5256 §2.1 base subject, case-folded (i;unicode-casemap approximation), and the reply/forward mark. */
  base(): { base: string; replyOrForward: boolean } {
    if (this.#base === undefined) {
      const b = baseSubject(this.#subject ?? '');
      this.#base = sortFold(b.base);
      this.#replyOrForward = b.replyOrForward;
    }
    return { base: this.#base, replyOrForward: this.#replyOrForward };
  }

  /** RFC 5256 §3 FROM/TO/CC sort value: the addr-mailbox of the first address, case-folded ('' when none). */
  sortAddress(field: 'from' | 'to' | 'cc'): string {
    const first = () => sortFold(this.#list(field)[0]?.[2] ?? '');
    switch (field) {
      case 'from':
        this.#sortFrom ??= first();
        return this.#sortFrom;
      case 'to':
        this.#sortTo ??= first();
        return this.#sortTo;
      case 'cc':
        this.#sortCc ??= first();
        return this.#sortCc;
    }
  }

  /** RFC 5957 §3/§4 DISPLAYFROM/DISPLAYTO sort value, case-folded. */
  displayAddress(field: 'from' | 'to'): string {
    const first = () => {
      const a = this.#list(field)[0];
      return a === undefined ? '' : sortFold(displayValue(a));
    };
    if (field === 'from') {
      this.#displayFrom ??= first();
      return this.#displayFrom;
    }
    this.#displayTo ??= first();
    return this.#displayTo;
  }

  /**
   * Rough heap size in bytes once its search values are derived, for the cache bound (calibrated
   * with bench/imap-search.ts: about 1.3 KB for a small message with one From and one To).
   */
  get weight(): number {
    let n = 560 + ((this.#subject?.length ?? 0) + (this.#date?.length ?? 0)) * 4;
    for (const list of [this.#from, this.#to, this.#cc, this.#bcc]) {
      for (const a of list ?? []) n += 160 + ((a[0]?.length ?? 0) + (a[2]?.length ?? 0) + (a[3]?.length ?? 0)) * 4;
    }
    return n;
  }
}

/** RFC 5957 §3: the decoded display name when non-empty, else mailbox@host, else mailbox, else ''. */
function displayValue([name, , mailbox, host]: Address): string {
  if (name !== null) {
    const decoded = decodeWords(name).trim();
    if (decoded !== '') return decoded;
  }
  if (mailbox !== null && host !== null) return `${mailbox}@${host}`;
  return mailbox ?? '';
}

function formatAddresses(list: Address[]): string {
  const parts: string[] = [];
  for (const [name, , mailbox, host] of list) {
    if (host === null) {
      if (mailbox !== null) parts.push(`${mailbox}:`); // a group opens (RFC 9051 §7.5.2)
      continue;
    }
    const addr = `<${mailbox ?? ''}@${host}>`;
    parts.push(name === null ? addr : `${decodeWords(name)} ${addr}`);
  }
  return parts.join(', ');
}

/** Builds a digest from a blob's meta; falls back to parsing the bytes when the meta lacks an envelope. */
export function digestFromMeta(meta: unknown, hash: string): MessageDigest | null {
  if (meta === null || typeof meta !== 'object') return null;
  const m = meta as { headerLength?: unknown; envelope?: unknown };
  if (typeof m.headerLength !== 'number' || m.envelope === null || typeof m.envelope !== 'object') return null;
  return new MessageDigest(m.headerLength, m.envelope as Envelope, hash);
}

/**
 * A session's digests, by mailbox (UIDVALIDITY, which is unique per mailbox creation in the store)
 * and UID: a message's content never changes under its UID, so an entry never goes stale. Blob row
 * ids are not used as keys because SQLite may reuse them after a delete.
 *
 * Bounded by an estimate in bytes. Over the bound, the least recently searched mailboxes are dropped
 * whole; when the mailbox being searched alone is over it, new entries are not kept (so a mailbox
 * larger than the cache keeps its first part cached instead of evicting itself on every scan).
 */
export class DigestCache {
  readonly #boxes = new Map<number, { entries: Map<number, MessageDigest>; bytes: number }>();
  #bytes = 0;

  constructor(readonly maxBytes: number) {}

  get size(): number {
    let n = 0;
    for (const box of this.#boxes.values()) n += box.entries.size;
    return n;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The entries of one mailbox; marks it as the most recently used. */
  box(uidValidity: number): { entries: Map<number, MessageDigest>; bytes: number } {
    let box = this.#boxes.get(uidValidity);
    if (box === undefined) box = { entries: new Map(), bytes: 0 };
    else this.#boxes.delete(uidValidity);
    this.#boxes.set(uidValidity, box);
    return box;
  }

  add(box: { entries: Map<number, MessageDigest>; bytes: number }, uid: number, d: MessageDigest): void {
    const w = d.weight;
    while (this.#bytes + w > this.maxBytes) {
      const [oldestId, oldest] = this.#boxes.entries().next().value as [number, typeof box];
      if (oldest === box) return; // the current mailbox alone fills the cache: keep what it has
      this.#boxes.delete(oldestId);
      this.#bytes -= oldest.bytes;
    }
    if (box.entries.has(uid)) return;
    box.entries.set(uid, d);
    box.bytes += w;
    this.#bytes += w;
  }
}

/** Default bound of one session's digest cache: about 100,000 small messages. */
export const DIGEST_CACHE_BYTES = 128 * 1024 * 1024;

const caches = new WeakMap<object, DigestCache>();

/** The digest cache of a session (created on first use, dropped with the session). */
export function digestCacheOf(session: object): DigestCache {
  let c = caches.get(session);
  if (c === undefined) {
    c = new DigestCache(DIGEST_CACHE_BYTES);
    caches.set(session, c);
  }
  return c;
}

/** Messages loaded per chunk (between chances to yield to other sessions). */
export const CHUNK = 500;

/** A cooperative pause: lets other sessions run between chunks of store reads. */
export class Pacer {
  #last = performance.now();

  /** `cancelled` is asked at each pause; when it says yes the work stops with ClientGoneError. */
  constructor(private readonly cancelled: () => boolean = () => false) {}

  /** Yields to the event loop when `force` or when more than 10 ms passed since the last yield. */
  async pause(force = false): Promise<void> {
    if (this.cancelled()) throw new ClientGoneError('the client went away; search stopped');
    const now = performance.now();
    if (!force && now - this.#last < 10) return;
    await yieldToLoop();
    this.#last = performance.now();
  }
}

/**
 * The digests of messages of a mailbox (null where the message is gone), in the given order: cache
 * hits synchronously, misses read from the store and then cached.
 */
export async function loadDigests(
  store: Store,
  cache: DigestCache,
  mailbox: { id: number; uidValidity: number },
  msgs: readonly SelectedMessage[],
  pacer: Pacer = new Pacer(),
): Promise<(MessageDigest | null)[]> {
  const box = cache.box(mailbox.uidValidity);
  const out: (MessageDigest | null)[] = new Array(msgs.length).fill(null);
  const misses: number[] = [];
  for (let k = 0; k < msgs.length; k++) {
    const m = msgs[k];
    if (m.blobId === 0) continue; // announced by EXISTS, details not loaded: nothing to read
    const d = box.entries.get(m.uid);
    if (d !== undefined) out[k] = d;
    else misses.push(k);
  }
  for (let j = 0; j < misses.length; j++) {
    const k = misses[j];
    const m = msgs[k];
    // One read per message: `messages.metaMany` would be one query per chunk, but its SQLite query
    // currently scans the whole mailbox per chunk (json_each is not the outer loop), so it is slower.
    const blob = await store.blobs.get(m.blobId);
    if (blob === null) continue; // expunged meanwhile
    let d = digestFromMeta(blob.meta, blob.hash);
    if (d === null) {
      // Meta from an older parser (or none): parse the message itself once.
      const raw = await store.blobs.read(m.blobId).catch(() => null);
      if (raw === null) continue;
      const meta = parseMessage(raw);
      d = new MessageDigest(meta.headerLength, meta.envelope, blob.hash);
    }
    cache.add(box, m.uid, d);
    out[k] = d;
    if (j % CHUNK === CHUNK - 1) await pacer.pause();
  }
  return out;
}

/**
 * Sort values: i;ascii-casemap (RFC 4790 §9.2, the default comparator of RFC 5256 §3 / RFC 5255) maps
 * a-z to A-Z, so "_" and "[" sort after letters, not before them as with lower-casing.
 */
function sortFold(s: string): string {
  return fold(s).toUpperCase();
}
