/**
 * The quota decision of the writes that add messages (types.ts: "Quota is decided inside the write").
 *
 * Invariants:
 * - Called inside a write job, before its first insert: the usage it reads (mailboxes.total_size, kept
 *   by triggers, schema V8) includes every write committed or earlier in the same batch, and no other
 *   write runs between this check and the inserts, so concurrent writes cannot overshoot together.
 * - The limit is `quotaLimit`: the account's own quota, else the store's default; none: never over.
 */
import type { QuotaAdditions } from '../rows.js';
import { quotaLimit } from '../types.js';
import type { SqliteContext } from './db.js';

/**
 * The accounts among `additions` that the added bytes would take beyond their limit (usage + added >
 * limit), in the order of `additions`. Call inside a write job.
 */
export function accountsOverQuota(
  ctx: SqliteContext,
  defaultQuotaBytes: number | null,
  additions: QuotaAdditions,
): number[] {
  const over: number[] = [];
  for (const [accountId, bytes] of additions) {
    if (bytes <= 0) continue;
    const account = ctx.sql('SELECT quota_bytes FROM accounts WHERE id = ?').get(accountId) as
      | { quota_bytes: number | null }
      | undefined;
    const limit = account ? quotaLimit({ defaultQuotaBytes }, { quotaBytes: account.quota_bytes }) : null;
    if (limit === null) continue;
    const used = ctx
      .pluck('SELECT coalesce(sum(total_size), 0) FROM mailboxes WHERE account_id = ?')
      .get(accountId) as number;
    if (used + bytes > limit) over.push(accountId);
  }
  return over;
}
