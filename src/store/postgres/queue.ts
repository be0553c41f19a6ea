/**
 * The outbound queue in PostgreSQL: one row per queued message (`queue`) and one per recipient
 * (`queue_recipients`, kept in the order given), shared by every node; each entry is attempted by one
 * node at a time, the holder of its lease (`queue.leased_by`, `queue.lease_until`).
 *
 * Invariants (those of sqlite/queue.ts, plus what several nodes need):
 * - A queue entry references its message by blob; deleting the entry deletes the blob too when nothing
 *   else references it (trigger `queue_blob_ref`, same transaction).
 * - Ids come from the `queue` bigserial: never given twice, also once the queue has emptied.
 * - Recipient state is per recipient. An attempt that leaves no recipient `pending` deletes the entry
 *   (the delivery layer has sent any DSN before recording it).
 * - Envelope addresses keep the case of their local part (RFC 5321 §2.4); only the domain is lower-cased
 *   (normalize.ts `normalizeEnvelopeAddress`, shared with SQLite). `recordAttempt` matches recipients
 *   case-insensitively, in JavaScript as SQLite does (not with the database's `lower()`), and when one
 *   address is given twice the last result counts.
 * - `claim` picks due entries nobody holds with `FOR UPDATE SKIP LOCKED` and leases them in the same
 *   statement: a concurrent claim skips the rows being claimed, and one that reads them after the commit
 *   re-checks the lease on the new row version (READ COMMITTED), so two claims, from any nodes, never
 *   return the same entry while its lease runs.
 * - Recording an attempt ends the lease; one recorded with an owner that no longer holds the entry
 *   (taken over after its lease ran out) changes nothing and resolves false (types.ts). Recording for an
 *   entry that is gone is a no-op. `retry` keeps a lease: a flush never sends an entry being attempted.
 * - Lease times are the caller's clock, as next attempts are: node clocks must agree (NTP) to well
 *   within a lease (docs/store.md).
 * - Reads that return several rows with their recipients are one statement each (one snapshot, no
 *   query per entry): the recipients come aggregated as JSON.
 */
import { normalizeEnvelopeAddress } from '../normalize.js';
import type { NewQueueEntry, QueueEntry, QueueStore, RecipientState } from '../types.js';
import type { PgContext, PgQueryable, PgTx } from './db.js';

interface RecipientJson {
  address: string;
  notify: string | null;
  orcpt: string | null;
  state: RecipientState;
  last_error: string | null;
}

interface QueueRow {
  id: number;
  envelope_from: string;
  blob_id: number;
  size: number;
  dsn_ret: 'FULL' | 'HDRS' | null;
  dsn_envid: string | null;
  created_at: number;
  next_attempt_at: number;
  attempts: number;
  last_error: string | null;
  delay_warned_at: number | null;
  /** json_agg of the recipients in position order (node-postgres parses json). */
  recipients: RecipientJson[] | null;
}

/** Entries with their blob's size and their recipients; `q` is the queue row. */
const SELECT_ENTRY = `SELECT q.id, q.envelope_from, q.blob_id, b.size, q.dsn_ret, q.dsn_envid, q.created_at,
  q.next_attempt_at, q.attempts, q.last_error, q.delay_warned_at,
  (SELECT json_agg(json_build_object('address', r.address, 'notify', r.notify, 'orcpt', r.orcpt,
     'state', r.state, 'last_error', r.last_error) ORDER BY r.position)
   FROM queue_recipients r WHERE r.queue_id = q.id) AS recipients
  FROM queue q JOIN blobs b ON b.id = q.blob_id`;

function toEntry(row: QueueRow): QueueEntry {
  return {
    id: row.id,
    envelopeFrom: row.envelope_from,
    blobId: row.blob_id,
    size: row.size,
    dsnRet: row.dsn_ret,
    dsnEnvid: row.dsn_envid,
    createdAt: new Date(row.created_at),
    nextAttemptAt: new Date(row.next_attempt_at),
    attempts: row.attempts,
    lastError: row.last_error,
    delayWarnedAt: row.delay_warned_at === null ? null : new Date(row.delay_warned_at),
    recipients: (row.recipients ?? []).map((r) => ({
      address: r.address,
      notify: r.notify === null ? null : (JSON.parse(r.notify) as string[]),
      orcpt: r.orcpt,
      state: r.state,
      lastError: r.last_error,
    })),
  };
}

async function entries(q: PgQueryable, where: string, values: readonly unknown[]): Promise<QueueEntry[]> {
  return (await q.rows<QueueRow>(`${SELECT_ENTRY} ${where}`, values)).map(toEntry);
}

/** Inserts a queue entry due now. Call inside a transaction. */
export async function insertQueueEntry(tx: PgTx, blobId: number, entry: NewQueueEntry, now: number): Promise<number> {
  if (entry.recipients.length === 0) throw new Error('a queue entry needs at least one recipient');
  const id = await tx.value<number>(
    `INSERT INTO queue (envelope_from, blob_id, dsn_ret, dsn_envid, created_at, next_attempt_at, attempts)
     VALUES ($1, $2, $3, $4, $5, $5, 0) RETURNING id`,
    [normalizeEnvelopeAddress(entry.envelopeFrom), blobId, entry.dsnRet, entry.dsnEnvid, now],
  );
  if (id === undefined) throw new Error('queue insert returned no id');
  await tx.run(
    `INSERT INTO queue_recipients (queue_id, position, address, notify, orcpt, state)
     SELECT $1, r.position - 1, r.address, r.notify, r.orcpt, 'pending'
     FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS r(address, notify, orcpt, position)`,
    [
      id,
      entry.recipients.map((r) => normalizeEnvelopeAddress(r.address)),
      entry.recipients.map((r) => (r.notify ? JSON.stringify(r.notify) : null)),
      entry.recipients.map((r) => r.orcpt),
    ],
  );
  return id;
}

export function pgQueue(ctx: PgContext): QueueStore {
  return {
    list() {
      return entries(ctx, 'ORDER BY q.id', []);
    },

    async get(id) {
      return (await entries(ctx, 'WHERE q.id = $1', [id]))[0] ?? null;
    },

    due(now, limit) {
      return entries(ctx, 'WHERE q.next_attempt_at <= $1 ORDER BY q.next_attempt_at, q.id LIMIT $2', [
        now.getTime(),
        Math.max(0, Math.floor(limit)),
      ]);
    },

    async claim(now, limit, lease) {
      const t = now.getTime();
      const n = Math.max(0, Math.floor(limit));
      if (n === 0) return [];
      return ctx.tx(async (tx) => {
        // The CTE with FOR UPDATE is evaluated once (never inlined): the rows it locked are the ones leased.
        const ids = await tx.rows<{ id: number }>(
          `WITH pick AS (
             SELECT id FROM queue
             WHERE next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1)
             ORDER BY next_attempt_at, id LIMIT $2
             FOR UPDATE SKIP LOCKED)
           UPDATE queue q SET leased_by = $3, lease_until = $4 FROM pick WHERE q.id = pick.id RETURNING q.id`,
          [t, n, lease.owner, t + lease.leaseMs],
        );
        if (ids.length === 0) return [];
        return entries(tx, 'WHERE q.id = ANY($1::bigint[]) ORDER BY q.next_attempt_at, q.id', [ids.map((r) => r.id)]);
      });
    },

    async renew(ids, now, lease) {
      if (ids.length === 0) return [];
      const held = await ctx.rows<{ id: number }>(
        `UPDATE queue SET lease_until = $1 WHERE leased_by = $2 AND id = ANY($3::bigint[]) RETURNING id`,
        [now.getTime() + lease.leaseMs, lease.owner, [...ids]],
      );
      return held.map((r) => r.id).sort((a, b) => a - b);
    },

    release(owner, ids) {
      return ids === undefined
        ? ctx.run('UPDATE queue SET leased_by = NULL, lease_until = NULL WHERE leased_by = $1', [owner])
        : ctx.run(
            'UPDATE queue SET leased_by = NULL, lease_until = NULL WHERE leased_by = $1 AND id = ANY($2::bigint[])',
            [owner, [...ids]],
          );
    },

    async leases() {
      const rows = await ctx.rows<{ owner: string; entries: number; until: number }>(
        `SELECT leased_by AS owner, count(*) AS entries, max(lease_until) AS until FROM queue
         WHERE leased_by IS NOT NULL GROUP BY leased_by ORDER BY leased_by COLLATE "C"`,
      );
      return rows.map((r) => ({ owner: r.owner, entries: r.entries, until: new Date(r.until) }));
    },

    recordAttempt(id, result, lease) {
      // Decided before the transaction: which result each address gets (the last one given for it).
      const results = new Map<string, { state: RecipientState; error: string | null }>();
      for (const r of result.recipients) results.set(r.address.trim().toLowerCase(), r);
      return ctx.tx(
        async (tx) => {
          // Strict about the owner (see the header): a taken-over entry is the new holder's to record.
          const found = await tx.run(
            `UPDATE queue SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3, leased_by = NULL,
               lease_until = NULL WHERE id = $1 AND ($4::text IS NULL OR leased_by = $4)`,
            [id, result.nextAttemptAt.getTime(), result.error, lease?.owner ?? null],
          );
          if (found === 0) return false;
          if (results.size > 0) {
            const rows = await tx.rows<{ position: number; address: string }>(
              'SELECT position, address FROM queue_recipients WHERE queue_id = $1',
              [id],
            );
            const positions: number[] = [];
            const states: RecipientState[] = [];
            const errors: (string | null)[] = [];
            for (const row of rows) {
              const r = results.get(row.address.toLowerCase());
              if (!r) continue;
              positions.push(row.position);
              states.push(r.state);
              errors.push(r.error);
            }
            if (positions.length > 0) {
              await tx.run(
                `UPDATE queue_recipients r SET state = v.state, last_error = v.error
                 FROM unnest($2::integer[], $3::text[], $4::text[]) AS v(position, state, error)
                 WHERE r.queue_id = $1 AND r.position = v.position`,
                [id, positions, states, errors],
              );
            }
          }
          await tx.run(
            `DELETE FROM queue WHERE id = $1
             AND NOT EXISTS (SELECT 1 FROM queue_recipients WHERE queue_id = $1 AND state = 'pending')`,
            [id],
          );
          return true;
        },
        { essential: true },
      );
    },

    async retry(id) {
      return (await ctx.run('UPDATE queue SET next_attempt_at = $2 WHERE id = $1', [id, Date.now()])) > 0;
    },

    async delete(id) {
      return (await ctx.run('DELETE FROM queue WHERE id = $1', [id])) > 0;
    },

    async markDelayWarned(id, at) {
      return (await ctx.run('UPDATE queue SET delay_warned_at = $2 WHERE id = $1', [id, at.getTime()])) > 0;
    },

    async count() {
      return (await ctx.value<number>('SELECT count(*) FROM queue')) ?? 0;
    },

    async summary(opts) {
      // One statement: one snapshot, so the figures agree.
      const row = await ctx.one<{
        n: number;
        oldest: number | null;
        next: number | null;
        pending: number;
        deferred: number;
        groups: { error: string; recipients: number }[];
      }>(
        `WITH totals AS (SELECT count(*) AS n, min(created_at) AS oldest, min(next_attempt_at) AS next FROM queue),
         waiting AS (SELECT count(*) AS pending, count(last_error) AS deferred FROM queue_recipients
                     WHERE state = 'pending'),
         groups AS (SELECT last_error AS error, count(*) AS recipients FROM queue_recipients
                    WHERE state = 'pending' AND last_error IS NOT NULL
                    GROUP BY last_error ORDER BY recipients DESC, last_error COLLATE "C" LIMIT $1)
         SELECT totals.n, totals.oldest, totals.next, waiting.pending, waiting.deferred,
           (SELECT coalesce(json_agg(json_build_object('error', g.error, 'recipients', g.recipients)
              ORDER BY g.recipients DESC, g.error COLLATE "C"), '[]'::json) FROM groups g) AS groups
         FROM totals, waiting`,
        [Math.max(0, Math.floor(opts?.maxErrorGroups ?? 100))],
      );
      if (!row) throw new Error('queue summary returned no row');
      return {
        messages: row.n,
        recipientsPending: row.pending,
        oldestCreatedAt: row.oldest === null ? null : new Date(row.oldest),
        nextAttemptAt: row.next === null ? null : new Date(row.next),
        deferred: row.deferred,
        deferredByError: row.groups.map((g) => ({ error: g.error, recipients: g.recipients })),
      };
    },
  };
}
