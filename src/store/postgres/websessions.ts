/**
 * Web logins on PostgreSQL (`web_sessions`): a login made on one node is valid on every node, and a
 * logout or the per-user limit ends it everywhere. The contract is `WebSessionStore` (types.ts); the
 * web layer (web/session-auth.ts) makes the ids and keeps the cookie.
 *
 * Invariants:
 * - A row is keyed by the SHA-256 (hex) of the session id: reading the table gives no cookie that logs in.
 * - Every `create` runs in one transaction under one table lock (`SHARE ROW EXCLUSIVE`, which conflicts
 *   with itself and not with reads): logins are rare (each is a password check), so making them take
 *   turns across nodes is cheap and keeps both limits exact — the user's oldest sessions beyond
 *   `perUser - 1` go, then expired sessions of anyone, then the count of live ones decides.
 * - `get` is a read of one row; it writes `last_seen` only when the stored value is older than the touch
 *   interval (`idleMs / 10`, at most a minute), so browsing does not write on every request. An expired
 *   row found by `get` is deleted.
 * - Nothing is cached in memory: another node's logout or limit takes effect at the next request.
 */
import { createHash } from 'node:crypto';
import type { WebLogin, WebSessionLimits, WebSessionStore } from '../types.js';
import type { PgContext } from './db.js';

interface SessionRow {
  role: WebLogin['role'];
  name: string;
  last_seen: number;
}

/** The most a stored `last_seen` may lag behind the last request (see the header). */
const MAX_TOUCH_MS = 60_000;

const digest = (id: string) => createHash('sha256').update(id).digest('hex');

export function touchInterval(idleMs: number): number {
  return Math.min(MAX_TOUCH_MS, Math.floor(idleMs / 10));
}

export function pgWebSessions(ctx: PgContext): WebSessionStore {
  return {
    create(id: string, user: WebLogin, limits: WebSessionLimits, now: number): Promise<boolean> {
      return ctx.tx(async (tx) => {
        await tx.run('LOCK TABLE web_sessions IN SHARE ROW EXCLUSIVE MODE');
        // The user's own oldest sessions make room first (expired ones count as gone anyway).
        await tx.run(
          `DELETE FROM web_sessions WHERE id_hash IN (
             SELECT id_hash FROM web_sessions WHERE role = $1 AND name = $2
             ORDER BY created_at DESC, id_hash OFFSET $3)`,
          [user.role, user.name, Math.max(0, limits.perUser - 1)],
        );
        await tx.run('DELETE FROM web_sessions WHERE last_seen < $1', [now - limits.idleMs]);
        const live = (await tx.value<number>('SELECT count(*) FROM web_sessions')) ?? 0;
        if (live >= limits.maxSessions) return false;
        await tx.run(
          'INSERT INTO web_sessions (id_hash, role, name, created_at, last_seen) VALUES ($1, $2, $3, $4, $4)',
          [digest(id), user.role, user.name, now],
        );
        return true;
      });
    },

    async get(id: string, idleMs: number, now: number): Promise<WebLogin | null> {
      const hash = digest(id);
      const row = await ctx.one<SessionRow>('SELECT role, name, last_seen FROM web_sessions WHERE id_hash = $1', [
        hash,
      ]);
      if (!row) return null;
      if (now - row.last_seen > idleMs) {
        // Only if nobody used it meanwhile (another node's request may have just touched it).
        await ctx.run('DELETE FROM web_sessions WHERE id_hash = $1 AND last_seen < $2', [hash, now - idleMs]);
        return null;
      }
      if (now - row.last_seen >= touchInterval(idleMs)) {
        await ctx.run('UPDATE web_sessions SET last_seen = $2 WHERE id_hash = $1 AND last_seen < $2', [hash, now]);
      }
      return { name: row.name, role: row.role };
    },

    async delete(id: string): Promise<void> {
      await ctx.run('DELETE FROM web_sessions WHERE id_hash = $1', [digest(id)]);
    },

    async deleteUser(user: WebLogin): Promise<void> {
      await ctx.run('DELETE FROM web_sessions WHERE role = $1 AND name = $2', [user.role, user.name]);
    },

    async count(user?: WebLogin): Promise<number> {
      const n = user
        ? await ctx.value<number>('SELECT count(*) FROM web_sessions WHERE role = $1 AND name = $2', [
            user.role,
            user.name,
          ])
        : await ctx.value<number>('SELECT count(*) FROM web_sessions');
      return n ?? 0;
    },
  };
}
