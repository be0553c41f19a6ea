/**
 * The Sieve scripts of each account and their memory of vacation replies and `duplicate` ids in SQLite
 * (`sieve_scripts`, `sieve_memory`, schema V17); the contract is `SieveStore` in ../types.ts.
 *
 * Invariants:
 * - At most one active script per account: the partial unique index `sieve_scripts_one_active`;
 *   `setActive` clears the old one before it sets the new one, in one write job.
 * - `put` with `maxScripts` counts and inserts in one write job (jobs run one at a time).
 * - `remember` is one upsert that writes only when the key is new or expired (`ON CONFLICT … DO UPDATE
 *   … WHERE expires_at <= now`) and says by RETURNING whether it wrote; the same write job first prunes
 *   the account's expired rows. Write jobs run one at a time (writer.ts), and another process's write
 *   waits for the database lock, so two writers of one key cannot both get true.
 * - Names are compared as given (byte order, also for lists); callers check them (../sieve.ts).
 * - An account that does not exist is a StoreNotFoundError (the foreign key), not a driver error.
 */
import { sieveMemoryExpiry } from '../sieve.js';
import { type SieveScriptInfo, type SieveStore, StoreNotFoundError } from '../types.js';
import type { SqliteContext } from './db.js';

interface InfoRow {
  name: string;
  active: number;
  size: number;
  updated_at: number;
}

const toInfo = (r: InfoRow): SieveScriptInfo => ({
  name: r.name,
  active: r.active === 1,
  size: r.size,
  updatedAt: new Date(r.updated_at),
});

function isForeignKeyError(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

export function sqliteSieve(ctx: SqliteContext): SieveStore {
  const exists = (accountId: number, name: string) =>
    ctx.sql('SELECT active FROM sieve_scripts WHERE account_id = ? AND name = ?').get(accountId, name) as
      | { active: number }
      | undefined;
  return {
    async list(accountId) {
      const rows = ctx
        .sql(
          `SELECT name, active, length(CAST(source AS BLOB)) AS size, updated_at FROM sieve_scripts
           WHERE account_id = ? ORDER BY name`,
        )
        .all(accountId) as InfoRow[];
      return rows.map(toInfo);
    },
    async get(accountId, name) {
      const row = ctx.sql('SELECT source FROM sieve_scripts WHERE account_id = ? AND name = ?').get(accountId, name) as
        | { source: string }
        | undefined;
      return row?.source ?? null;
    },
    async put(accountId, name, source, opts = {}) {
      try {
        return await ctx.write(() => {
          if (opts.maxScripts !== undefined && !exists(accountId, name)) {
            const n = ctx.pluck('SELECT count(*) FROM sieve_scripts WHERE account_id = ?').get(accountId) as number;
            if (n >= opts.maxScripts) return 'too-many';
          }
          ctx
            .sql(
              `INSERT INTO sieve_scripts (account_id, name, source, active, updated_at) VALUES (?, ?, ?, 0, ?)
               ON CONFLICT (account_id, name) DO UPDATE SET source = excluded.source, updated_at = excluded.updated_at`,
            )
            .run(accountId, name, source, Date.now());
          return 'stored';
        });
      } catch (error) {
        if (isForeignKeyError(error)) throw new StoreNotFoundError(`no account ${accountId}`);
        throw error;
      }
    },
    delete(accountId, name) {
      return ctx.write(() => {
        const row = exists(accountId, name);
        if (!row) return 'missing';
        if (row.active === 1) return 'active';
        ctx.sql('DELETE FROM sieve_scripts WHERE account_id = ? AND name = ?').run(accountId, name);
        return 'deleted';
      });
    },
    rename(accountId, from, to) {
      return ctx.write(() => {
        if (!exists(accountId, from)) return 'missing';
        if (exists(accountId, to)) return 'exists';
        ctx
          .sql('UPDATE sieve_scripts SET name = ?, updated_at = ? WHERE account_id = ? AND name = ?')
          .run(to, Date.now(), accountId, from);
        return 'renamed';
      });
    },
    setActive(accountId, name) {
      return ctx.write(() => {
        if (name !== null && !exists(accountId, name)) return false;
        ctx
          .sql('UPDATE sieve_scripts SET active = 0 WHERE account_id = ? AND active = 1 AND name IS NOT ?')
          .run(accountId, name);
        if (name !== null) {
          ctx.sql('UPDATE sieve_scripts SET active = 1 WHERE account_id = ? AND name = ?').run(accountId, name);
        }
        return true;
      });
    },
    async active(accountId) {
      const row = ctx
        .sql('SELECT name, source FROM sieve_scripts WHERE account_id = ? AND active = 1')
        .get(accountId) as { name: string; source: string } | undefined;
      return row ? { name: row.name, source: row.source } : null;
    },
    async remember(accountId, kind, key, seconds, now) {
      const t = now.getTime();
      try {
        return await ctx.write(() => {
          ctx.sql('DELETE FROM sieve_memory WHERE account_id = ? AND expires_at <= ?').run(accountId, t);
          const wrote = ctx
            .sql(
              `INSERT INTO sieve_memory (account_id, kind, key, expires_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (account_id, kind, key) DO UPDATE SET expires_at = excluded.expires_at
               WHERE sieve_memory.expires_at <= ?
               RETURNING 1 AS wrote`,
            )
            .get(accountId, kind, key, sieveMemoryExpiry(now, seconds), t);
          return wrote !== undefined;
        });
      } catch (error) {
        if (isForeignKeyError(error)) throw new StoreNotFoundError(`no account ${accountId}`);
        throw error;
      }
    },
    async seen(accountId, kind, key, now) {
      const row = ctx
        .sql('SELECT 1 FROM sieve_memory WHERE account_id = ? AND kind = ? AND key = ? AND expires_at > ?')
        .get(accountId, kind, key, now.getTime());
      return row !== undefined;
    },
  };
}
