/**
 * SORT (RFC 5256 §3) and the DISPLAYFROM/DISPLAYTO keys (RFC 5957).
 *
 * Invariants:
 * - Each criterion becomes one array of values (number or case-folded string) for the matched
 *   messages, computed once; the comparator only indexes arrays. Strings compare by code unit after
 *   folding to upper case (i;ascii-casemap for ASCII, RFC 5256 §2.1 / RFC 4790 §9.2, so "_" and "["
 *   sort after letters; an approximation of i;unicode-casemap beyond ASCII, RFC 5255).
 * - Missing values sort as the empty string (an absent From, a missing Subject).
 * - Ties under all criteria are broken by sequence number, ascending, even under REVERSE
 *   (RFC 5256 §3: "REVERSE only reverses a single criterion, and does not affect the implicit
 *   sequence number sort criterion").
 * - Header data comes from the per-session digests (digest.ts); ARRIVAL and SIZE need no I/O.
 */
import type { SortCriterion, SortKey } from '../commands/sort.js';
import { loadDigests, type MessageDigest } from './digest.js';
import type { SearchScope } from './evaluate.js';

const NEEDS_DIGEST: ReadonlySet<SortKey> = new Set<SortKey>([
  'CC',
  'DATE',
  'FROM',
  'SUBJECT',
  'TO',
  'DISPLAYFROM',
  'DISPLAYTO',
]);

/** Digests for the given view indices (null for messages that are gone). */
export function digestsOf(scope: SearchScope, indices: readonly number[]): Promise<(MessageDigest | null)[]> {
  const sel = scope.selected;
  return loadDigests(
    scope.store,
    scope.cache,
    sel.mailbox,
    indices.map((i) => sel.message(i)),
  );
}

/**
 * RFC 5256 §2.2 sent date: the Date header's instant (adjusted to UTC), or INTERNALDATE when the
 * header is missing or cannot be parsed. In ms, as is `internalDate`.
 */
export function sentTime(d: MessageDigest | null, internalDate: number): number {
  return d?.sent()?.time ?? internalDate;
}

/** Sorts the matched messages (view indices, ascending) by the criteria; returns view indices in order. */
export async function sortMessages(
  scope: SearchScope,
  indices: readonly number[],
  criteria: readonly SortCriterion[],
): Promise<number[]> {
  const sel = scope.selected;
  const digests = criteria.some((c) => NEEDS_DIGEST.has(c.key))
    ? await digestsOf(scope, indices)
    : new Array<MessageDigest | null>(indices.length).fill(null);
  const columns = criteria.map((c) => ({
    sign: c.reverse ? -1 : 1,
    values: indices.map((i, k) => {
      const m = sel.message(i);
      return sortValue(c.key, m.internalDate, m.size, digests[k]);
    }),
  }));
  const order = indices.map((_, k) => k);
  order.sort((a, b) => {
    for (const col of columns) {
      const x = col.values[a];
      const y = col.values[b];
      if (x !== y) return (x < y ? -1 : 1) * col.sign;
    }
    return indices[a] - indices[b]; // RFC 5256 §3: then by sequence number
  });
  return order.map((k) => indices[k]);
}

function sortValue(key: SortKey, internalDate: number, size: number, d: MessageDigest | null): number | string {
  switch (key) {
    case 'ARRIVAL':
      // RFC 5256 §3: internal date and time.
      return internalDate;
    case 'SIZE':
      return size;
    case 'DATE':
      // RFC 5256 §3: sent date and time (§2.2).
      return sentTime(d, internalDate);
    case 'SUBJECT':
      // RFC 5256 §3: base subject (§2.1).
      return d?.base().base ?? '';
    case 'FROM':
    case 'TO':
    case 'CC':
      // RFC 5256 §3: addr-mailbox of the first address.
      return d?.sortAddress(key === 'FROM' ? 'from' : key === 'TO' ? 'to' : 'cc') ?? '';
    case 'DISPLAYFROM':
    case 'DISPLAYTO':
      // RFC 5957 §4: the DISPLAY sort value (§3) of the first address.
      return d?.displayAddress(key === 'DISPLAYFROM' ? 'from' : 'to') ?? '';
  }
}
