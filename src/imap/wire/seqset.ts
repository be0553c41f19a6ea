/**
 * Sequence sets (RFC 9051 §9 `sequence-set`): what clients write (`1:3,5,7:*`, `$`), and the resolved
 * sets of numbers the engine works with.
 *
 * Invariants:
 * - A parsed `SequenceSet` keeps the client's form (`*` unresolved, ranges in the order written); it is
 *   resolved against the mailbox (`resolveSequenceSet`) only when the command runs, because `*` means
 *   "the largest number in use" at that moment (RFC 9051 §6.4.8 for UIDs).
 * - A `NumberSet` is a list of sorted, disjoint, non-adjacent closed ranges; it never expands a range
 *   into its members, so `1:*` over 100,000 messages is one pair of numbers. Iteration is lazy and
 *   ascending; `contains` is a binary search.
 * - Numbers are 1..4294967295 (RFC 9051 §9 `nz-number`); 0 and leading zeros are syntax errors.
 */

/** `*`: the largest number in use (RFC 9051 §9 `seq-number`). */
export const STAR = '*';
export type SeqNumber = number | typeof STAR;

export interface SeqRange {
  readonly from: SeqNumber;
  readonly to: SeqNumber;
}

/**
 * A sequence set as the client wrote it. `saved` is `$`, the result saved by `SEARCH RETURN (SAVE)`
 * (RFC 5182 §2.1); it stands alone and never mixes with numbers.
 */
export type SequenceSet = { readonly kind: 'set'; readonly ranges: readonly SeqRange[] } | { readonly kind: 'saved' };

export const MAX_NUMBER = 4294967295;

export type SeqScan = { ok: true; set: SequenceSet; end: number } | { ok: false; error: string; offset: number };

export interface SeqScanOptions {
  /** Allow `$` (RFC 5182); true by default. */
  allowSaved?: boolean;
  /** Allow `*`; false for QRESYNC known-uids (RFC 7162 §3.2.5.2). True by default. */
  allowStar?: boolean;
}

const COMMA = 0x2c;
const COLON = 0x3a;
const STAR_BYTE = 0x2a;
const DOLLAR = 0x24;

/** Scans a sequence set in `buf` starting at `pos`; stops at the first byte that cannot continue it. */
export function scanSequenceSet(buf: Uint8Array, pos: number, opts: SeqScanOptions = {}): SeqScan {
  const allowSaved = opts.allowSaved ?? true;
  const allowStar = opts.allowStar ?? true;
  // RFC 5182 §2.1 / RFC 9051 §9: `sequence-set =/ seq-last-command` ("$", alone).
  if (buf[pos] === DOLLAR) {
    if (!allowSaved) return { ok: false, error: '"$" (the saved search result) is not allowed here', offset: pos };
    const next = buf[pos + 1];
    if (next === COMMA || next === COLON) {
      return { ok: false, error: '"$" stands alone; it cannot be part of a range or list', offset: pos + 1 };
    }
    return { ok: true, set: { kind: 'saved' }, end: pos + 1 };
  }
  const ranges: SeqRange[] = [];
  let p = pos;
  for (;;) {
    const a = scanSeqNumber(buf, p, allowStar);
    if (!a.ok) return a;
    p = a.end;
    let to = a.value;
    if (buf[p] === COLON) {
      // RFC 9051 §9 `seq-range`: "2:4" and "4:2" are the same set.
      const b = scanSeqNumber(buf, p + 1, allowStar);
      if (!b.ok) return b;
      p = b.end;
      to = b.value;
    }
    ranges.push({ from: a.value, to });
    if (buf[p] !== COMMA) break;
    p++;
  }
  return { ok: true, set: { kind: 'set', ranges }, end: p };
}

type NumScan = { ok: true; value: SeqNumber; end: number } | { ok: false; error: string; offset: number };

function scanSeqNumber(buf: Uint8Array, pos: number, allowStar: boolean): NumScan {
  const c = buf[pos];
  if (c === STAR_BYTE) {
    if (!allowStar) return { ok: false, error: '"*" is not allowed in this sequence set', offset: pos };
    return { ok: true, value: STAR, end: pos + 1 };
  }
  if (c === undefined || c < 0x30 || c > 0x39) {
    return { ok: false, error: 'expected a message number or "*" in sequence set', offset: pos };
  }
  // RFC 9051 §9: nz-number = digit-nz *DIGIT.
  if (c === 0x30) {
    const d = buf[pos + 1];
    const msg =
      d !== undefined && d >= 0x30 && d <= 0x39
        ? 'numbers in a sequence set have no leading zeros'
        : 'message number 0 is not valid (numbers start at 1)';
    return { ok: false, error: msg, offset: pos };
  }
  let p = pos;
  let value = 0;
  while (p < buf.length && buf[p] >= 0x30 && buf[p] <= 0x39) {
    value = value * 10 + (buf[p] - 0x30);
    if (value > MAX_NUMBER) return { ok: false, error: 'message number larger than 4294967295', offset: pos };
    p++;
  }
  return { ok: true, value, end: p };
}

/** Parses a whole string as a sequence set (tests, configuration, stored SAVE results). */
export function parseSequenceSet(
  text: string,
  opts?: SeqScanOptions,
): { ok: true; set: SequenceSet } | { ok: false; error: string } {
  const buf = Buffer.from(text, 'latin1');
  const r = scanSequenceSet(buf, 0, opts);
  if (!r.ok) return { ok: false, error: `${r.error} at offset ${r.offset}` };
  if (r.end !== buf.length) return { ok: false, error: `unexpected character at offset ${r.end}` };
  return { ok: true, set: r.set };
}

/** The client's form of a set, e.g. `1:3,5,7:*` or `$`. */
export function formatSequenceSet(set: SequenceSet): string {
  if (set.kind === 'saved') return '$';
  return set.ranges.map((r) => (r.from === r.to ? String(r.from) : `${r.from}:${r.to}`)).join(',');
}

/** Whether the set mentions `*` (the reply to `1:*` on an empty mailbox differs by command). */
export function hasStar(set: SequenceSet): boolean {
  return set.kind === 'set' && set.ranges.some((r) => r.from === STAR || r.to === STAR);
}

/**
 * Resolves `*` to `max` (the number of messages, or the highest UID in use) and normalises the result.
 * RFC 9051 §6.4.8: a UID range `559:*` always includes the last UID even when 559 is larger, which is
 * what treating `n:*` as the range between n and max gives. Numbers below 1 (an empty mailbox's `*`)
 * are dropped. Whether numbers above `max` are an error is the caller's decision (they are for
 * message sequence numbers, RFC 9051 §9 `seq-number`; not for UIDs).
 */
export function resolveSequenceSet(set: SequenceSet & { kind: 'set' }, max: number): NumberSet {
  const pairs: [number, number][] = [];
  for (const r of set.ranges) {
    const a = r.from === STAR ? max : r.from;
    const b = r.to === STAR ? max : r.to;
    pairs.push(a <= b ? [a, b] : [b, a]);
  }
  return NumberSet.fromRanges(pairs).clamp(1, MAX_NUMBER);
}

/**
 * A set of positive integers as sorted, disjoint closed ranges. Immutable.
 */
export class NumberSet implements Iterable<number> {
  static readonly EMPTY = new NumberSet([]);
  /** Flat [lo0, hi0, lo1, hi1, ...], sorted, disjoint and non-adjacent. */
  readonly #bounds: readonly number[];

  private constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
  }

  /** Builds a set from ranges in any order; reversed ranges are turned around, overlaps merged. */
  static fromRanges(ranges: Iterable<readonly [number, number]>): NumberSet {
    const list: [number, number][] = [];
    for (const [a, b] of ranges) list.push(a <= b ? [a, b] : [b, a]);
    list.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    const out: number[] = [];
    for (const [lo, hi] of list) {
      const n = out.length;
      if (n > 0 && lo <= out[n - 1] + 1) {
        if (hi > out[n - 1]) out[n - 1] = hi;
      } else {
        out.push(lo, hi);
      }
    }
    return new NumberSet(out);
  }

  /** Builds a set from numbers in any order (duplicates are fine). */
  static fromNumbers(numbers: Iterable<number>): NumberSet {
    const sorted = [...numbers].sort((a, b) => a - b);
    const out: number[] = [];
    for (const n of sorted) {
      const k = out.length;
      if (k > 0 && n <= out[k - 1] + 1) {
        if (n > out[k - 1]) out[k - 1] = n;
      } else {
        out.push(n, n);
      }
    }
    return new NumberSet(out);
  }

  /** How many numbers the set holds. */
  get size(): number {
    let n = 0;
    for (let i = 0; i < this.#bounds.length; i += 2) n += this.#bounds[i + 1] - this.#bounds[i] + 1;
    return n;
  }

  get isEmpty(): boolean {
    return this.#bounds.length === 0;
  }

  get min(): number | null {
    return this.#bounds.length ? this.#bounds[0] : null;
  }

  get max(): number | null {
    return this.#bounds.length ? this.#bounds[this.#bounds.length - 1] : null;
  }

  /** The ranges, ascending, as `[lo, hi]` pairs. */
  get ranges(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.#bounds.length; i += 2) out.push([this.#bounds[i], this.#bounds[i + 1]]);
    return out;
  }

  contains(n: number): boolean {
    let lo = 0;
    let hi = this.#bounds.length / 2 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (n < this.#bounds[mid * 2]) hi = mid - 1;
      else if (n > this.#bounds[mid * 2 + 1]) lo = mid + 1;
      else return true;
    }
    return false;
  }

  *[Symbol.iterator](): Iterator<number> {
    for (let i = 0; i < this.#bounds.length; i += 2) {
      for (let n = this.#bounds[i]; n <= this.#bounds[i + 1]; n++) yield n;
    }
  }

  /** The part of the set within [lo, hi]. */
  clamp(lo: number, hi: number): NumberSet {
    const out: number[] = [];
    for (let i = 0; i < this.#bounds.length; i += 2) {
      const a = Math.max(lo, this.#bounds[i]);
      const b = Math.min(hi, this.#bounds[i + 1]);
      if (a <= b) out.push(a, b);
    }
    return out.length === this.#bounds.length && out.every((v, i) => v === this.#bounds[i]) ? this : new NumberSet(out);
  }

  intersect(other: NumberSet): NumberSet {
    const a = this.#bounds;
    const b = other.#bounds;
    const out: number[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length && j < b.length) {
      const lo = Math.max(a[i], b[j]);
      const hi = Math.min(a[i + 1], b[j + 1]);
      if (lo <= hi) out.push(lo, hi);
      if (a[i + 1] < b[j + 1]) i += 2;
      else j += 2;
    }
    return new NumberSet(out);
  }

  union(other: NumberSet): NumberSet {
    return NumberSet.fromRanges([...this.ranges, ...other.ranges]);
  }

  /** Compact form, e.g. `1:3,5,7:9` (RFC 4315 `uid-set`, RFC 4731 ESEARCH ALL, RFC 7162 VANISHED). */
  toString(): string {
    const parts: string[] = [];
    for (let i = 0; i < this.#bounds.length; i += 2) {
      const lo = this.#bounds[i];
      const hi = this.#bounds[i + 1];
      parts.push(lo === hi ? String(lo) : `${lo}:${hi}`);
    }
    return parts.join(',');
  }
}

/**
 * Compacts numbers into `a:b` runs keeping their order (`[1,2,3,5,7,8,9]` → `1:3,5,7:9`). Order is kept
 * because COPYUID pairs source and destination UIDs by position (RFC 4315 §3); give it a sorted list
 * for the shortest result. Returns "" for no numbers.
 */
export function compactNumbers(numbers: Iterable<number>): string {
  const parts: string[] = [];
  let lo = -1;
  let hi = -1;
  for (const n of numbers) {
    if (lo >= 0 && n === hi + 1) {
      hi = n;
      continue;
    }
    if (lo >= 0) parts.push(lo === hi ? String(lo) : `${lo}:${hi}`);
    lo = n;
    hi = n;
  }
  if (lo >= 0) parts.push(lo === hi ? String(lo) : `${lo}:${hi}`);
  return parts.join(',');
}
