/**
 * UIDVALIDITY values for new mailboxes on PostgreSQL (as sqlite/mailboxes.ts `nextUidValidity`).
 *
 * Invariants:
 * - One counter in `meta` (key `uidvalidity`): each value handed out is max(unix seconds, last + 1), so
 *   values are unique per mailbox creation for the life of the database and strictly increasing; a
 *   mailbox deleted and created again within a second still gets a new one (RFC 9051 §2.3.1.1).
 * - Taken with one `INSERT … ON CONFLICT DO UPDATE … RETURNING`, atomic across nodes: the counter row
 *   stays locked until the transaction ends, so concurrent creations take their values one after the
 *   other, and a rolled-back creation leaves no gap that matters (the next one takes a higher value).
 * - Values fit in 32 bits (nz-number, RFC 9051 §9); beyond that the write fails instead of wrapping.
 */
import type { PgQueryable } from './db.js';

/**
 * `count` consecutive new UIDVALIDITY values, ascending (see the header). Call inside the transaction
 * that creates the mailboxes.
 */
export async function nextUidValidities(tx: PgQueryable, count: number): Promise<number[]> {
  if (count <= 0) return [];
  const now = Math.floor(Date.now() / 1000);
  // The last of the range: max(last + count, now + count - 1); the first is then max(last + 1, now).
  const last = await tx.value<number>(
    `INSERT INTO meta (key, value) VALUES ('uidvalidity', $1) ON CONFLICT (key)
     DO UPDATE SET value = GREATEST(meta.value + $2, $1) RETURNING value`,
    [now + count - 1, count],
  );
  if (last === undefined) throw new Error('UIDVALIDITY counter not returned');
  if (last > 0xffffffff) throw new Error('UIDVALIDITY space exhausted'); // nz-number is 32-bit (RFC 9051 §9)
  return Array.from({ length: count }, (_, i) => last - count + 1 + i);
}

/** The next UIDVALIDITY (see the header). Call inside the transaction that creates the mailbox. */
export async function nextUidValidity(tx: PgQueryable): Promise<number> {
  const [value] = await nextUidValidities(tx, 1);
  return value;
}
