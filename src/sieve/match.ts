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
 * - Each value and each key is put in the comparator's form (folded, as octets, as a number) once per
 *   test, not once per pair, and every byte a test examines is counted against the run's
 *   `MatchBudget` (`MAX_COMPARED_BYTES`): a script of thousands of keys against a message of
 *   megabytes fails at run time (the message is kept) instead of holding the event loop for minutes.
 */

import type { ComparatorName, MatchSpec, Relation } from './ast.js';

/** A–Z to a–z, nothing else (i;ascii-casemap); linear, without a callback per upper-case run. */
export function asciiLower(s: string): string {
  if (!/[A-Z]/.test(s)) return s;
  if (!/[^\x00-\x7f]/.test(s)) return s.toLowerCase(); // ASCII only: toLowerCase changes A–Z alone
  const out = new Uint16Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[i] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
  }
  let r = '';
  for (let i = 0; i < out.length; i += 8192) r += String.fromCharCode(...out.subarray(i, i + 8192));
  return r;
}

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
    case 'i;ascii-numeric':
      return compareNumbers(numericValue(a), numericValue(b));
  }
}

/** The ordering of two `numericValue`s (null is +infinity). */
function compareNumbers(x: string | null, y: string | null): number {
  if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x === y ? 0 : x < y ? -1 : 1;
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
 * The work one run may spend on its match tests. `left` bounds the search of :matches, in octets
 * examined (the caller's bound: a pattern and a value of a megabyte each would otherwise take hours);
 * exhausting it throws `MatchBudgetExceeded`. `comparedLeft` bounds every match type and comparator
 * together, in bytes examined (`examined`); exhausting it throws `CompareBudgetExceeded`.
 */
export interface MatchBudget {
  left: number;
  /** Bytes every match test may still examine; see `MAX_COMPARED_BYTES`. */
  comparedLeft: number;
  /** Bytes examined so far: each value (and key) once per test, then the value once per key compared. */
  examined: number;
  /** Values put in the comparator's form (folded, as octets, as a number) so far: once per value and test. */
  prepared: number;
}

export class MatchBudgetExceeded extends Error {}

/** The run compared more than its `comparedLeft` bytes (any match type, any comparator). */
export class CompareBudgetExceeded extends Error {}

/**
 * The bytes the match tests of one run may examine, all match types and comparators together: each
 * value (and key) counts its length once per test, when it is put in the comparator's form, then the
 * value counts its length again for every key it is compared with (:is and :value the shorter of the
 * two, which is all they can read), plus `COMPARISON_COST` per pair. 64 MiB is a few hundred
 * milliseconds of work at worst, far more than any sensible script needs (a :contains of a few keys
 * against the body of a large message), and stops a script of thousands of keys against a message of
 * megabytes (terabytes of comparing otherwise) after that much. Exceeding it is a runtime error: the
 * message is kept in INBOX.
 */
export const MAX_COMPARED_BYTES = 64 * 1024 * 1024;

/** What one value–key comparison costs beyond the bytes it reads: many empty values × many keys count too. */
const COMPARISON_COST = 16;

/** A budget for one run: `matchesOctets` for the search of :matches, `comparedBytes` for all comparing. */
export function matchBudget(
  matchesOctets = Number.POSITIVE_INFINITY,
  comparedBytes = Number.POSITIVE_INFINITY,
): MatchBudget {
  return { left: matchesOctets, comparedLeft: comparedBytes, examined: 0, prepared: 0 };
}

function charge(budget: MatchBudget, bytes: number): void {
  budget.examined += bytes;
  budget.comparedLeft -= bytes;
  if (budget.comparedLeft < 0) throw new CompareBudgetExceeded();
}

/** A value as :matches reads it: its octets one per character, and those folded when the comparator folds. */
interface GlobValue {
  value: string;
  original: string[];
  s: string[];
}

function globValue(value: string, fold: boolean): GlobValue {
  const o = octets(value);
  const original = [...o];
  return { value, original, s: fold ? [...asciiLower(o)] : original };
}

/** A :matches pattern compiled for a comparator (its octets; folded when the comparator folds). */
function globPattern(pattern: string, comparator: ComparatorName): Item[][] {
  return compilePattern(octets(pattern), comparator === 'i;ascii-casemap');
}

/**
 * Matches `value` against a :matches `pattern`. Returns the wildcard captures in pattern order
 * (index 0 is the whole value), or null when it does not match.
 */
export function globMatch(
  pattern: string,
  value: string,
  comparator: ComparatorName,
  budget: MatchBudget = matchBudget(),
): string[] | null {
  // Both comparators work on octets (RFC 4790 §9), so `?` is one octet of the UTF-8 form, as in
  // Pigeonhole; the strings are matched as one character per octet and captures turned back into text.
  return globMatchPrepared(
    globPattern(pattern, comparator),
    globValue(value, comparator === 'i;ascii-casemap'),
    budget,
  );
}

function globMatchPrepared(segs: Item[][], v: GlobValue, budget: MatchBudget): string[] | null {
  const { original, s } = v;
  const captures = [v.value];
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

/**
 * One test's comparing: `value` puts a value in the comparator's form, `key` a key, `test` compares
 * them (true, or the captures of :matches). Each is charged to the budget as it does its work.
 */
interface Matcher<V, K> {
  value(value: string): V;
  key(key: string): K;
  test(value: V, key: K): boolean | string[] | null;
}

function matcher(spec: MatchSpec, budget: MatchBudget): Matcher<unknown, unknown> {
  const { comparator } = spec;
  const prepare = <T>(s: string, form: (s: string) => T): T => {
    charge(budget, s.length);
    budget.prepared++;
    return form(s);
  };
  switch (spec.type) {
    case 'contains': {
      // i;ascii-numeric has no substring operation; it compared the strings as they are, as i;octet.
      const form = comparator === 'i;ascii-casemap' ? asciiLower : (s: string) => s;
      const m: Matcher<string, string> = {
        value: (v) => prepare(v, form),
        key: (k) => prepare(k, form),
        test: (v, k) => {
          charge(budget, v.length + COMPARISON_COST);
          return v.includes(k);
        },
      };
      return m as Matcher<unknown, unknown>;
    }
    case 'matches': {
      const m: Matcher<GlobValue, { key: string; segs: Item[][] }> = {
        value: (v) => prepare(v, (s) => globValue(s, comparator === 'i;ascii-casemap')),
        key: (k) => ({ key: k, segs: prepare(k, (s) => globPattern(s, comparator)) }),
        test: (v, k) => {
          charge(budget, v.value.length + COMPARISON_COST);
          budget.left -= v.value.length + k.key.length;
          if (budget.left < 0) throw new MatchBudgetExceeded();
          return globMatchPrepared(k.segs, v, budget);
        },
      };
      return m as Matcher<unknown, unknown>;
    }
    default: {
      // :is and :value: equality or the relation of RFC 5231 under the comparator's ordering.
      const relation: Relation = spec.type === 'value' ? (spec.relation ?? 'eq') : 'eq';
      if (comparator === 'i;ascii-numeric') {
        const m: Matcher<string | null, string | null> = {
          value: (v) => prepare(v, numericValue),
          key: (k) => prepare(k, numericValue),
          test: (v, k) => {
            charge(budget, Math.min(v?.length ?? 0, k?.length ?? 0) + COMPARISON_COST);
            return relationHolds(relation, compareNumbers(v, k));
          },
        };
        return m as Matcher<unknown, unknown>;
      }
      // i;ascii-casemap orders after folding to lower case (see compareValues); i;octet by code point.
      const form = comparator === 'i;ascii-casemap' ? asciiLower : (s: string) => s;
      const m: Matcher<string, string> = {
        value: (v) => prepare(v, form),
        key: (k) => prepare(k, form),
        test: (v, k) => {
          charge(budget, Math.min(v.length, k.length) + COMPARISON_COST);
          return relationHolds(relation, compareCodePoints(v, k));
        },
      };
      return m as Matcher<unknown, unknown>;
    }
  }
}

export interface MatchOutcome {
  matched: boolean;
  /** For a successful :matches: ${0}, ${1}, … */
  captures: string[] | null;
}

/**
 * The core of every test with a match type: does any value match any key? `count` overrides the
 * number :count compares (the string test counts only non-empty values). Values are tried in order,
 * each against the keys in order; each value and each key is put in the comparator's form once.
 */
export function matchValues(
  spec: MatchSpec,
  values: readonly string[],
  keys: readonly string[],
  count?: number,
  budget: MatchBudget = matchBudget(),
): MatchOutcome {
  if (spec.type === 'count') {
    const n = String(count ?? values.length);
    const relation = spec.relation ?? 'eq';
    return { matched: keys.some((k) => relationHolds(relation, compareValues(spec.comparator, n, k))), captures: null };
  }
  if (values.length === 0 || keys.length === 0) return { matched: false, captures: null };
  const m = matcher(spec, budget);
  const prepared: unknown[] = [];
  for (const value of values) {
    const v = m.value(value);
    for (let i = 0; i < keys.length; i++) {
      if (i === prepared.length) prepared.push(m.key(keys[i]));
      const r = m.test(v, prepared[i]);
      if (r === true) return { matched: true, captures: null };
      if (Array.isArray(r)) return { matched: true, captures: r };
    }
  }
  return { matched: false, captures: null };
}
