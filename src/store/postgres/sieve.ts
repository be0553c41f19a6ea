/**
 * The Sieve scripts of each account and their memory of vacation replies and `duplicate` ids in
 * PostgreSQL (`sieve_scripts`, `sieve_memory`, schema V5; as sqlite/sieve.ts); the contract is
 * `SieveStore` in ../types.ts.
 *
 * Invariants:
 * - At most one active script per account: the partial unique index `sieve_scripts_one_active`.
 *   `setActive` takes the account row (`FOR NO KEY UPDATE`, db.ts's lock order: accounts first) and
 *   then the script's row, so two nodes activating scripts of one account take turns, and a `delete`
 *   of the script being activated either finishes first (setActive then finds nothing and changes
 *   nothing) or waits and finds it active. `put` with `maxScripts` takes the account row the same way
 *   before it counts, so two nodes storing new scripts cannot both pass the limit.
 * - `remember` is one upsert that writes only when the key is new or expired (`ON CONFLICT … DO UPDATE
 *   … WHERE expires_at <= now`): a second writer of the same key waits for the first one's commit on
 *   the primary key and then finds the row unexpired, so exactly one of them gets true. It then prunes
 *   the account's other expired rows, skipping rows another writer holds, so pruning never waits.
 * - Names are compared as given; the column is `COLLATE "C"`, so lists sort as on SQLite.
 * - An account that does not exist is a StoreNotFoundError (the foreign key), not a driver error.
 */
import { sieveMemoryExpiry } from '../sieve.js';
import { type SieveScriptInfo, type SieveStore, StoreNotFoundError } from '../types.js';
import { isUniqueViolation, type PgContext, prepared, sqlState } from './db.js';

interface InfoRow {
  name: string;
  active: boolean;
  size: number;
  updated_at: number;
}

const toInfo = (r: InfoRow): SieveScriptInfo => ({
  name: r.name,
  active: r.active,
  size: r.size,
  updatedAt: new Date(r.updated_at),
});

function notFound(error: unknown, accountId: number): unknown {
  return sqlState(error) === '23503' ? new StoreNotFoundError(`no account ${accountId}`) : error;
}

export function pgSieve(ctx: PgContext): SieveStore {
  return {
    async list(accountId) {
      const rows = await ctx.rows<InfoRow>(
        `SELECT name, active, octet_length(source) AS size, updated_at FROM sieve_scripts
         WHERE account_id = $1 ORDER BY name`,
        [accountId],
      );
      return rows.map(toInfo);
    },
    async get(accountId, name) {
      const source = await ctx.value<string>('SELECT source FROM sieve_scripts WHERE account_id = $1 AND name = $2', [
        accountId,
        name,
      ]);
      return source ?? null;
    },
    async put(accountId, name, source, opts = {}) {
      try {
        return await ctx.tx(async (tx) => {
          const max = opts.maxScripts;
          if (max !== undefined) {
            // The account row serialises the writers of one account, so the count cannot be passed twice.
            const account = await tx.value('SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE', [accountId]);
            if (account === undefined) throw new StoreNotFoundError(`no account ${accountId}`);
            const counts = await tx.one<{ n: number; same: number }>(
              `SELECT count(*) AS n, count(*) FILTER (WHERE name = $2) AS same FROM sieve_scripts WHERE account_id = $1`,
              [accountId, name],
            );
            if (counts && counts.same === 0 && counts.n >= max) return 'too-many';
          }
          await tx.run(
            `INSERT INTO sieve_scripts (account_id, name, source, active, updated_at) VALUES ($1, $2, $3, false, $4)
             ON CONFLICT (account_id, name) DO UPDATE SET source = EXCLUDED.source, updated_at = EXCLUDED.updated_at`,
            [accountId, name, source, Date.now()],
          );
          return 'stored';
        });
      } catch (error) {
        throw notFound(error, accountId);
      }
    },
    delete(accountId, name) {
      return ctx.tx(async (tx) => {
        const deleted = await tx.run('DELETE FROM sieve_scripts WHERE account_id = $1 AND name = $2 AND NOT active', [
          accountId,
          name,
        ]);
        if (deleted > 0) return 'deleted';
        const active = await tx.value<boolean>('SELECT active FROM sieve_scripts WHERE account_id = $1 AND name = $2', [
          accountId,
          name,
        ]);
        return active === undefined ? 'missing' : 'active';
      });
    },
    async rename(accountId, from, to) {
      try {
        return await ctx.tx(async (tx) => {
          const found = await tx.value('SELECT 1 FROM sieve_scripts WHERE account_id = $1 AND name = $2 FOR UPDATE', [
            accountId,
            from,
          ]);
          if (found === undefined) return 'missing';
          const taken = await tx.value('SELECT 1 FROM sieve_scripts WHERE account_id = $1 AND name = $2', [
            accountId,
            to,
          ]);
          if (taken !== undefined) return 'exists';
          await tx.run('UPDATE sieve_scripts SET name = $1, updated_at = $2 WHERE account_id = $3 AND name = $4', [
            to,
            Date.now(),
            accountId,
            from,
          ]);
          return 'renamed';
        });
      } catch (error) {
        // Another node put a script of the new name between the check and the update.
        if (isUniqueViolation(error)) return 'exists';
        throw error;
      }
    },
    setActive(accountId, name) {
      return ctx.tx(async (tx) => {
        const account = await tx.value('SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE', [accountId]);
        if (account === undefined) return name === null;
        if (name !== null) {
          const found = await tx.value('SELECT 1 FROM sieve_scripts WHERE account_id = $1 AND name = $2 FOR UPDATE', [
            accountId,
            name,
          ]);
          if (found === undefined) return false;
        }
        await tx.run(
          'UPDATE sieve_scripts SET active = false WHERE account_id = $1 AND active AND name IS DISTINCT FROM $2',
          [accountId, name],
        );
        if (name !== null) {
          await tx.run('UPDATE sieve_scripts SET active = true WHERE account_id = $1 AND name = $2', [accountId, name]);
        }
        return true;
      });
    },
    async active(accountId) {
      const row = await ctx.one<{ name: string; source: string }>(
        prepared('SELECT name, source FROM sieve_scripts WHERE account_id = $1 AND active'),
        [accountId],
      );
      return row ? { name: row.name, source: row.source } : null;
    },
    async remember(accountId, kind, key, seconds, now) {
      const t = now.getTime();
      try {
        return await ctx.tx(async (tx) => {
          const wrote = await tx.value(
            `INSERT INTO sieve_memory (account_id, kind, key, expires_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (account_id, kind, key) DO UPDATE SET expires_at = EXCLUDED.expires_at
             WHERE sieve_memory.expires_at <= $5
             RETURNING 1`,
            [accountId, kind, key, sieveMemoryExpiry(now, seconds), t],
          );
          await tx.run(
            `DELETE FROM sieve_memory m USING (
               SELECT kind, key FROM sieve_memory WHERE account_id = $1 AND expires_at <= $2 FOR UPDATE SKIP LOCKED
             ) e
             WHERE m.account_id = $1 AND m.kind = e.kind AND m.key = e.key`,
            [accountId, t],
          );
          return wrote !== undefined;
        });
      } catch (error) {
        throw notFound(error, accountId);
      }
    },
    async seen(accountId, kind, key, now) {
      const row = await ctx.value(
        'SELECT 1 FROM sieve_memory WHERE account_id = $1 AND kind = $2 AND key = $3 AND expires_at > $4',
        [accountId, kind, key, now.getTime()],
      );
      return row !== undefined;
    },
  };
}
