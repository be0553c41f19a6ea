/**
 * Comparators (RFC 4790 as RFC 5228 §2.7.3 uses them) and match types (RFC 5228 §2.7.1, RFC 5231).
 *
 * - i;octet compares code points; i;ascii-casemap folds A–Z to a–z first (no other letter; its
 *   ordering too, as Pigeonhole's, where RFC 4790 §9.2 folds to upper case);
 *   i;ascii-numeric compares the leading digits as a number of any size, a value without leading
 *   digits being +infinity (RFC 4790 §9.1), and supports only equality and ordering.
 * - :matches: `*` any run, `?` one octet (of the UTF-8 form, as Pigeonhole: the comparators work on
 *   octets), `\` quotes the next one. Each wildcard takes as few
 *   characters as possible, left to right (the captures RFC 5229 §3.2 describes for ${1}…); the
 *   algorithm places each literal run at its leftmost possible position, so it never backtracks and
 *   takes O(value × pattern) time at worst.
 * - A test is true when any value matches any key (:value "ne" included, RFC 5231 §4.1); :count
 *   compares the number of values with the keys.
 */

import type { ComparatorName, MatchSpec, Relation } from './ast.js';

const asciiLower = (s: string): string => (/[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s);

/** The leading digits of a value without leading zeros, or null for +infinity. */
function numericValue(s: string): string | null {
  const m = /^[0-9]+/.exec(s);
  if (m === null) return null;
  return m[0].replace(/^0+(?=.)/, '');
}

function compareCodePoints(a: string, b: string): number {
  // UTF-16 order differs from code point order only for astral vs U+E000–U+FFFF; compare by code point.
  if (a === b) return 0;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0) ?? 0;
    const cy = y.value.codePointAt(0) ?? 0;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

/** The ordering of two values under a comparator (-1, 0, 1). */
export function compareValues(comparator: ComparatorName, a: string, b: string): number {
  switch (comparator) {
    case 'i;octet':
      return compareCodePoints(a, b);
    case 'i;ascii-casemap':
      // Ordered after folding to lower case, as Pigeonhole (strncasecmp) does: "_" sorts before "a".
      return compareCodePoints(asciiLower(a), asciiLower(b));
    case 'i;ascii-numeric': {
      const x = numericValue(a);
      const y = numericValue(b);
      if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
      if (x.length !== y.length) return x.length < y.length ? -1 : 1;
      return x === y ? 0 : x < y ? -1 : 1;
    }
  }
}

function relationHolds(relation: Relation, cmp: number): boolean {
  switch (relation) {
    case 'gt':
      return cmp > 0;
    case 'ge':
      return cmp >= 0;
    case 'lt':
      return cmp < 0;
    case 'le':
      return cmp <= 0;
    case 'eq':
      return cmp === 0;
    case 'ne':
      return cmp !== 0;
  }
}

type Item = { any: true } | { any: false; ch: string };

/** A string as its UTF-8 octets, one character (U+0000–U+00FF) per octet. */
function octets(s: string): string {
  return /^[\x00-\x7f]*$/.test(s) ? s : Buffer.from(s, 'utf8').toString('latin1');
}

/** The inverse of `octets`; a capture that splits a character gets U+FFFD for the broken part. */
function text(o: string): string {
  return /^[\x00-\x7f]*$/.test(o) ? o : Buffer.from(o, 'latin1').toString('utf8');
}

/** A :matches pattern as segments between `*`s. */
function compilePattern(pattern: string, fold: boolean): Item[][] {
  const segments: Item[][] = [[]];
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    let c = chars[i];
    if (c === '*') {
      segments.push([]);
      continue;
    }
    const seg = segments[segments.length - 1];
    if (c === '?') {
      seg.push({ any: true });
      continue;
    }
    if (c === '\\' && i + 1 < chars.length) c = chars[++i];
    seg.push({ any: false, ch: fold ? asciiLower(c) : c });
  }
  return segments;
}

function segmentAt(seg: Item[], s: string[], at: number): boolean {
  if (at + seg.length > s.length) return false;
  for (let j = 0; j < seg.length; j++) {
    const item = seg[j];
    if (!item.any && item.ch !== s[at + j]) return false;
  }
  return true;
}

/**
 * Matches `value` against a :matches `pattern`. Returns the wildcard captures in pattern order
 * (index 0 is the whole value), or null when it does not match.
 */
/**
 * The work a run may spend on :matches, in octets examined: the caller's bound on run time (a
 * pattern and a value of a megabyte each would otherwise take hours). Exhausting it throws
 * `MatchBudgetExceeded`.
 */
export interface MatchBudget {
  left: number;
}

export class MatchBudgetExceeded extends Error {}

export function globMatch(
  pattern: string,
  value: string,
  comparator: ComparatorName,
  budget: MatchBudget = { left: Number.POSITIVE_INFINITY },
): string[] | null {
  const fold = comparator === 'i;ascii-casemap';
  // Both comparators work on octets (RFC 4790 §9), so `?` is one octet of the UTF-8 form, as in
  // Pigeonhole; the strings are matched as one character per octet and captures turned back into text.
  const segs = compilePattern(octets(pattern), fold);
  const original = [...octets(value)];
  const s = fold ? original.map((c) => asciiLower(c)) : original;
  const captures = [value];
  const takeAny = (seg: Item[], at: number) => {
    seg.forEach((item, j) => {
      if (item.any) captures.push(text(original[at + j]));
    });
  };
  if (segs.length === 1) {
    if (segs[0].length !== s.length || !segmentAt(segs[0], s, 0)) return null;
    takeAny(segs[0], 0);
    return captures;
  }
  const first = segs[0];
  if (!segmentAt(first, s, 0)) return null;
  takeAny(first, 0);
  let pos = first.length;
  for (let k = 1; k < segs.length - 1; k++) {
    const seg = segs[k];
    let at = pos;
    while (at + seg.length <= s.length && !segmentAt(seg, s, at)) {
      at++;
      budget.left -= seg.length;
      if (budget.left < 0) throw new MatchBudgetExceeded();
    }
    if (at + seg.length > s.length) return null;
    captures.push(text(original.slice(pos, at).join('')));
    takeAny(seg, at);
    pos = at + seg.length;
  }
  const last = segs[segs.length - 1];
  const at = s.length - last.length;
  if (at < pos || !segmentAt(last, s, at)) return null;
  captures.push(text(original.slice(pos, at).join('')));
  takeAny(last, at);
  return captures;
}

/** One value against one key under :is, :contains or :matches (captures for :matches). */
function matchOne(spec: MatchSpec, value: string, key: string, budget: MatchBudget): string[] | null | boolean {
  switch (spec.type) {
    case 'is':
      return compareValues(spec.comparator, value, key) === 0;
    case 'contains':
      if (spec.comparator === 'i;ascii-casemap') return asciiLower(value).includes(asciiLower(key));
      return value.includes(key);
    case 'matches':
      budget.left -= value.length + key.length;
      if (budget.left < 0) throw new MatchBudgetExceeded();
      return globMatch(key, value, spec.comparator, budget);
    case 'value':
      return relationHolds(spec.relation ?? 'eq', compareValues(spec.comparator, value, key));
    case 'count':
      return false; // handled by matchValues
  }
}

export interface MatchOutcome {
  matched: boolean;
  /** For a successful :matches: ${0}, ${1}, … */
  captures: string[] | null;
}

/**
 * The core of every test with a match type: does any value match any key? `count` overrides the
 * number :count compares (the string test counts only non-empty values).
 */
export function matchValues(
  spec: MatchSpec,
  values: readonly string[],
  keys: readonly string[],
  count?: number,
  budget: MatchBudget = { left: Number.POSITIVE_INFINITY },
): MatchOutcome {
  if (spec.type === 'count') {
    const n = String(count ?? values.length);
    const relation = spec.relation ?? 'eq';
    return { matched: keys.some((k) => relationHolds(relation, compareValues(spec.comparator, n, k))), captures: null };
  }
  for (const value of values) {
    for (const key of keys) {
      const r = matchOne(spec, value, key, budget);
      if (r === true) return { matched: true, captures: null };
      if (Array.isArray(r)) return { matched: true, captures: r };
    }
  }
  return { matched: false, captures: null };
}
