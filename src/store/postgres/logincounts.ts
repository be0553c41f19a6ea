/**
 * The login limiter's failure counts shared by the nodes (`LoginCountStore` in types.ts; schema V6), so
 * that N nodes give an attacker the free failures once, not N times, and the penalty one node earned
 * holds on every node. The limiter (src/auth/limiter.ts) keeps its waiting lines and attempts in flight
 * per node; this file keeps only counts and trust.
 *
 * Invariants:
 * - `failed` and `succeeded` run in one transaction each that locks the address's gate row first and the
 *   account's second (one lock order, so two nodes never deadlock on them); the per-account split of an
 *   address is changed only under its address row's lock.
 * - A gate quiet for the window reads as 0 and starts again at 1 at its next failure (the limiter's
 *   `#decay`); the address's split is cleared with it.
 * - Bounded: every `LOGIN_PRUNE_EVERY` failures a node records (and at its first), gate rows past the
 *   window go, then the oldest beyond `maxEntries` per scope, then the split rows of addresses without
 *   a gate row, then trust past the trust time. Trust is also at most `trustedPerAccount` per account,
 *   and only a successful login makes it, so guessing cannot grow it.
 */
import {
  LOGIN_PRUNE_EVERY,
  type LoginCountSettings,
  type LoginCountStore,
  type LoginCounts,
  type LoginKeys,
} from '../types.js';
import type { PgContext, PgQueryable } from './db.js';

/**
 * The split bucket for failures on accounts past the first `perAddressAccounts` (limiter.ts uses '\0other',
 * which PostgreSQL text cannot hold): the empty name, which no login succeeds on, so it is never forgiven.
 */
const OTHER = '';

interface GateRow {
  scope: string;
  failures: number;
  last_failure: number;
}

const NONE = { failures: 0, lastFailure: 0 };

/** Both gates and the trust, in one statement (one snapshot). */
async function readCounts(q: PgQueryable, keys: LoginKeys, s: LoginCountSettings): Promise<LoginCounts> {
  const rows = await q.rows<GateRow>(
    `SELECT scope, failures, last_failure FROM login_gates
      WHERE (scope = 'a' AND key = $1) OR (scope = 'u' AND key = $2)
     UNION ALL
     SELECT 't', 0, at FROM login_trusted WHERE account = $2 AND address = $1 AND at > $3
     UNION ALL
     SELECT 'o', failures, 0 FROM login_address_accounts WHERE address = $1 AND account = $2`,
    [keys.address, keys.account, keys.now - s.trustMs],
  );
  const counts: LoginCounts = { address: NONE, account: NONE, trusted: false, trustedAt: 0, ownFailures: 0 };
  for (const r of rows) {
    const gate = keys.now - r.last_failure >= s.windowMs ? NONE : { failures: r.failures, lastFailure: r.last_failure };
    if (r.scope === 'a') counts.address = gate;
    else if (r.scope === 'u') counts.account = gate;
    else if (r.scope === 't') {
      counts.trusted = true;
      counts.trustedAt = r.last_failure;
    } else counts.ownFailures = r.failures;
  }
  // The split of an address quiet for the window is forgotten with its failures.
  if (counts.address === NONE) counts.ownFailures = 0;
  return counts;
}

/** One more failure on a gate (again from 1 after a quiet window); the count after. */
async function failGate(q: PgQueryable, scope: 'a' | 'u', key: string, keys: LoginKeys, s: LoginCountSettings) {
  const row = await q.one<{ failures: number }>(
    `INSERT INTO login_gates AS g (scope, key, failures, last_failure) VALUES ($1, $2, 1, $3)
     ON CONFLICT (scope, key) DO UPDATE SET
       failures = CASE WHEN $3 - g.last_failure >= $4 THEN 1 ELSE g.failures + 1 END,
       last_failure = GREATEST(g.last_failure, $3)
     RETURNING failures`,
    [scope, key, keys.now, s.windowMs],
  );
  return row?.failures ?? 1;
}

export function pgLoginCounts(
  ctx: PgContext,
): LoginCountStore & { prune(now: number, s: LoginCountSettings): Promise<void> } {
  /** Failures recorded by this node since its last prune (-1: none yet, prune at the first). */
  let sincePrune = -1;

  async function prune(now: number, s: LoginCountSettings): Promise<void> {
    await ctx.run('DELETE FROM login_gates WHERE last_failure <= $1', [now - s.windowMs]);
    for (const scope of ['a', 'u']) {
      await ctx.run(
        `DELETE FROM login_gates WHERE scope = $1 AND key IN (
           SELECT key FROM login_gates WHERE scope = $1 ORDER BY last_failure DESC OFFSET $2)`,
        [scope, s.maxEntries],
      );
    }
    await ctx.run(
      `DELETE FROM login_address_accounts x
        WHERE NOT EXISTS (SELECT 1 FROM login_gates g WHERE g.scope = 'a' AND g.key = x.address)`,
    );
    await ctx.run('DELETE FROM login_trusted WHERE at <= $1', [now - s.trustMs]);
  }

  return {
    prune,

    read: (keys, s) => readCounts(ctx, keys, s),

    async failed(keys, s) {
      const counts = await ctx.tx(async (tx) => {
        const addressFailures = await failGate(tx, 'a', keys.address, keys, s);
        // The address row is locked now: its split changes under that lock only.
        if (addressFailures === 1)
          await tx.run('DELETE FROM login_address_accounts WHERE address = $1', [keys.address]);
        await tx.run(
          `INSERT INTO login_address_accounts AS x (address, account, failures)
           SELECT $1, CASE
               WHEN EXISTS (SELECT 1 FROM login_address_accounts WHERE address = $1 AND account = $2)
                 OR (SELECT count(*) FROM login_address_accounts WHERE address = $1 AND account <> $3) < $4
               THEN $2 ELSE $3 END, 1
           ON CONFLICT (address, account) DO UPDATE SET failures = x.failures + 1`,
          [keys.address, keys.account, OTHER, s.perAddressAccounts],
        );
        await failGate(tx, 'u', keys.account, keys, s);
        return readCounts(tx, keys, s);
      });
      if (sincePrune < 0 || ++sincePrune >= LOGIN_PRUNE_EVERY) {
        sincePrune = 0;
        await prune(keys.now, s);
      }
      return counts;
    },

    succeeded(keys, s) {
      return ctx.tx(async (tx) => {
        // Lock order as in `failed`: the address's gate row, then the account's.
        await tx.run(`SELECT 1 FROM login_gates WHERE scope = 'a' AND key = $1 FOR UPDATE`, [keys.address]);
        const own = await tx.value<number>(
          'DELETE FROM login_address_accounts WHERE address = $1 AND account = $2 RETURNING failures',
          [keys.address, keys.account],
        );
        if (own !== undefined && own > 0) {
          await tx.run(
            `UPDATE login_gates SET failures = GREATEST(0, failures - $3)
              WHERE (scope = 'a' AND key = $1) OR (scope = 'u' AND key = $2)`,
            [keys.address, keys.account, own],
          );
        }
        await tx.run(
          `INSERT INTO login_trusted (account, address, at) VALUES ($1, $2, $3)
           ON CONFLICT (account, address) DO UPDATE SET at = GREATEST(login_trusted.at, $3)`,
          [keys.account, keys.address, keys.now],
        );
        await tx.run(
          `DELETE FROM login_trusted WHERE account = $1 AND address IN (
             SELECT address FROM login_trusted WHERE account = $1 ORDER BY at DESC, address OFFSET $2)`,
          [keys.account, s.trustedPerAccount],
        );
        return readCounts(tx, keys, s);
      });
    },
  };
}
