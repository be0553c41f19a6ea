/**
 * ACME certificates shared by the nodes on PostgreSQL (`certificates`, `certificate_leases`,
 * `acme_challenges`). The contract is `CertificateStore` (types.ts); what is ordered, when, and how a
 * node picks up another's certificate is src/net/acme.ts.
 *
 * Invariants:
 * - A name set's key is its names joined by spaces, in the caller's order (the subject first).
 * - The private key is stored as the caller gives it: the server seals it with secret.key, so a dump
 *   of the database alone holds no usable key (as for APOP secrets).
 * - The lease is one statement (`INSERT … ON CONFLICT DO UPDATE … WHERE`): of two nodes asking at once,
 *   one gets it. Its times are the database's clock (`clock_timestamp()`), never a node's.
 * - `put` hints the other nodes through the change feed's channel (topic `certificates`) after COMMIT;
 *   the hint can be lost, so the ACME manager also polls.
 * - Expired challenges are deleted by the next `putChallenge`; `challenge` never returns one.
 */
import type { CertificateLease, CertificateStore, StoredCertificate } from '../types.js';
import type { PgContext } from './db.js';
import type { PgChangeFeed } from './feed.js';

/** The feed topic of a stored certificate. */
export const CERTIFICATES_TOPIC = 'certificates';

/** The database's clock in unix milliseconds. */
const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

const keyOf = (names: readonly string[]) => names.join(' ');

interface CertificateRow {
  cert: string;
  key: string;
  stored_by: string;
  stored_at: number;
}

export function pgCertificates(ctx: PgContext, feed: PgChangeFeed): CertificateStore {
  return {
    async get(names): Promise<StoredCertificate | null> {
      const row = await ctx.one<CertificateRow>(
        'SELECT cert, key, stored_by, stored_at FROM certificates WHERE names = $1',
        [keyOf(names)],
      );
      return row ? { cert: row.cert, key: row.key, storedBy: row.stored_by, storedAt: row.stored_at } : null;
    },

    async put(names, pair, by) {
      await ctx.run(
        `INSERT INTO certificates (names, cert, key, stored_by, stored_at) VALUES ($1, $2, $3, $4, ${NOW_MS})
         ON CONFLICT (names) DO UPDATE SET cert = EXCLUDED.cert, key = EXCLUDED.key,
           stored_by = EXCLUDED.stored_by, stored_at = EXCLUDED.stored_at`,
        [keyOf(names), pair.cert, pair.key, by],
      );
      await feed.hint(CERTIFICATES_TOPIC);
    },

    async lease(names, node, ms): Promise<CertificateLease> {
      const got = await ctx.value<string>(
        `INSERT INTO certificate_leases (names, node, lease_until) VALUES ($1, $2, ${NOW_MS} + $3)
         ON CONFLICT (names) DO UPDATE SET node = EXCLUDED.node, lease_until = EXCLUDED.lease_until
           WHERE certificate_leases.node = EXCLUDED.node OR certificate_leases.lease_until <= ${NOW_MS}
         RETURNING node`,
        [keyOf(names), node, Math.max(0, Math.round(ms))],
      );
      if (got !== undefined) return { held: true };
      const other = await ctx.one<{ node: string; remaining: number }>(
        `SELECT node, lease_until - ${NOW_MS} AS remaining FROM certificate_leases WHERE names = $1`,
        [keyOf(names)],
      );
      // Released between the two statements: the next call takes it.
      if (!other) return { held: false, by: '?', remainingMs: 0 };
      return { held: false, by: other.node, remainingMs: Math.max(0, other.remaining) };
    },

    async release(names, node) {
      await ctx.run('DELETE FROM certificate_leases WHERE names = $1 AND node = $2', [keyOf(names), node]);
    },

    async putChallenge(token, keyAuthorization, by, expiresAt) {
      await ctx.run(`DELETE FROM acme_challenges WHERE expires_at <= $1`, [Date.now()]);
      await ctx.run(
        `INSERT INTO acme_challenges (token, key_authorization, stored_by, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (token) DO UPDATE SET key_authorization = EXCLUDED.key_authorization,
           stored_by = EXCLUDED.stored_by, expires_at = EXCLUDED.expires_at`,
        [token, keyAuthorization, by, expiresAt],
      );
    },

    async challenge(token) {
      const answer = await ctx.value<string>(
        'SELECT key_authorization FROM acme_challenges WHERE token = $1 AND expires_at > $2',
        [token, Date.now()],
      );
      return answer ?? null;
    },

    async deleteChallenge(token) {
      await ctx.run('DELETE FROM acme_challenges WHERE token = $1', [token]);
    },

    watch(fn) {
      return feed.onHint(CERTIFICATES_TOPIC, fn);
    },
  };
}
