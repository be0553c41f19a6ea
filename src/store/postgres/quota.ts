/**
 * The quota decision of the writes that add messages, on PostgreSQL (as sqlite/quota.ts).
 *
 * Invariants:
 * - Called inside the write transaction, before its first insert. It locks the row of each account
 *   that has a limit (`FOR UPDATE`, ascending id: db.ts's lock order, accounts before mailboxes), so
 *   two nodes delivering to one account at once decide one after the other, each seeing the other's
 *   committed bytes: concurrent writes cannot overshoot together. With a default quota (every account
 *   has a limit) the rows are read and locked in one statement; the usage is read in the next one,
 *   after the lock (at READ COMMITTED a statement that waited for the lock would see an older sum).
 * - A batch of deliveries (deliver.ts) locks and reads once for all its jobs (`lockQuota` without the
 *   usage, which comes with the mailbox locks of the next statement, `lockMailboxesByName`), decides
 *   each job with `overQuota`, and adds the bytes of each job it keeps to `used` itself, so the jobs
 *   after it in the batch see them as they would see a committed write.
 * - The limit is `quotaLimit`: the account's own quota, else the store's default; none: never over.
 */
import type { QuotaAdditions } from '../rows.js';
import { quotaLimit } from '../types.js';
import { type PgQueryable, prepared } from './db.js';

/** The limits of accounts (hot statements: every batch of deliveries runs them, `prepared`). */
const LIMITS = prepared('SELECT id, quota_bytes FROM accounts WHERE id = ANY($1::bigint[]) ORDER BY id');
const LIMITS_LOCKED = prepared(
  'SELECT id, quota_bytes FROM accounts WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE',
);
/** The usage of accounts, read after their rows are locked. */
const USAGE = prepared(
  'SELECT account_id, coalesce(sum(total_size), 0) AS used FROM mailboxes WHERE account_id = ANY($1::bigint[]) GROUP BY account_id',
);

/** The limits of the accounts that have one, and their usage: read under the lock of their rows. */
export interface LockedQuota {
  /** Account id → its limit in bytes (only accounts with a limit). */
  limits: Map<number, number>;
  /** Account id → its bytes now (the accounts of `limits`). */
  used: Map<number, number>;
}

/**
 * Locks the rows of those of `accountIds` that have a limit (ascending id) and reads their limits and
 * usage. Call inside the write transaction, before taking mailbox rows.
 */
export async function lockQuota(
  tx: PgQueryable,
  defaultQuotaBytes: number | null,
  accountIds: readonly number[],
  opts: { readUsage?: boolean } = {},
): Promise<LockedQuota> {
  const limits = new Map<number, number>();
  const used = new Map<number, number>();
  if (accountIds.length === 0) return { limits, used };
  // With a default quota every account has a limit: read and lock them in one statement.
  const everyLimited = defaultQuotaBytes !== null;
  const rows = await tx.rows<{ id: number; quota_bytes: number | null }>(everyLimited ? LIMITS_LOCKED : LIMITS, [
    [...new Set(accountIds)],
  ]);
  for (const row of rows) {
    const limit = quotaLimit({ defaultQuotaBytes }, { quotaBytes: row.quota_bytes });
    if (limit !== null) limits.set(row.id, limit);
  }
  if (limits.size === 0) return { limits, used };
  const limited = [...limits.keys()].sort((a, b) => a - b);
  if (!everyLimited) {
    await tx.run('SELECT 1 FROM accounts WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE', [limited]);
  }
  // readUsage false: the caller reads it in its next statement, still after the lock (deliver.ts).
  if (opts.readUsage === false) return { limits, used };
  const usage = await tx.rows<{ account_id: number; used: number }>(USAGE, [limited]);
  for (const id of limited) used.set(id, 0);
  for (const u of usage) used.set(u.account_id, u.used);
  return { limits, used };
}

/** The accounts among `additions` that the added bytes would take beyond their limit, in its order. */
export function overQuota(quota: LockedQuota, additions: QuotaAdditions): number[] {
  const over: number[] = [];
  for (const [accountId, bytes] of additions) {
    const limit = quota.limits.get(accountId);
    if (limit === undefined || bytes <= 0) continue;
    if ((quota.used.get(accountId) ?? 0) + bytes > limit) over.push(accountId);
  }
  return over;
}

/**
 * The accounts among `additions` that the added bytes would take beyond their limit (usage + added >
 * limit), in the order of `additions`. Call inside the write transaction, before taking mailbox rows.
 */
export async function accountsOverQuota(
  tx: PgQueryable,
  defaultQuotaBytes: number | null,
  additions: QuotaAdditions,
): Promise<number[]> {
  const ids = [...additions.entries()].filter(([, bytes]) => bytes > 0).map(([id]) => id);
  if (ids.length === 0) return [];
  return overQuota(await lockQuota(tx, defaultQuotaBytes, ids), additions);
}
