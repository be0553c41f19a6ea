/**
 * The outbound queue in SQLite: one row per queued message (`queue`) and one per recipient
 * (`queue_recipients`, kept in the order given).
 *
 * Invariants:
 * - A queue entry references its message by blob; deleting the entry deletes the blob too when nothing
 *   else references it (trigger, same transaction).
 * - Recipient state is per recipient (Maddy-style partial retries). An attempt that leaves no recipient
 *   `pending` deletes the entry: the delivery layer must have sent any DSN before recording it.
 * - Envelope addresses keep the case of their local part (RFC 5321 §2.4 says relays must preserve it);
 *   only the domain is lower-cased (normalize.ts `normalizeEnvelopeAddress`). `recordAttempt` matches
 *   recipients case-insensitively.
 * - Recording an attempt for an entry that is gone (deleted meanwhile, e.g. by the CLI) is a no-op.
 * - Claims (`claim`) select and lease in one write job, which holds SQLite's write lock: two claims,
 *   from this process or another, never return the same entry while its lease runs. A claim that finds
 *   nothing to take costs a read, not a write. Recording an attempt ends the lease; one recorded for an
 *   owner that no longer holds the entry changes nothing (types.ts `recordAttempt`). `retry` keeps a
 *   lease, so flushing the queue never sends an entry that is being attempted a second time.
 * - Lease times are the caller's clock (`now`), as next attempts are.
 */
import { normalizeEnvelopeAddress } from '../normalize.js';
import type { NewQueueEntry, QueueEntry, QueueStore, RecipientState } from '../types.js';
import type { SqliteContext } from './db.js';
import { ESSENTIAL } from './writer.js';

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
}

interface RecipientRow {
  position: number;
  address: string;
  notify: string | null;
  orcpt: string | null;
  state: RecipientState;
  last_error: string | null;
}

const SELECT_ENTRY = `SELECT q.id, q.envelope_from, q.blob_id, b.size, q.dsn_ret, q.dsn_envid, q.created_at,
  q.next_attempt_at, q.attempts, q.last_error, q.delay_warned_at FROM queue q JOIN blobs b ON b.id = q.blob_id`;

/** Due and held by nobody (no lease, or one that ran out); binds `now` twice. */
const CLAIMABLE = 'q.next_attempt_at <= ? AND (q.lease_until IS NULL OR q.lease_until < ?)';

/** Inserts a queue entry due now. Call inside a write job. */
export function insertQueueEntry(ctx: SqliteContext, blobId: number, entry: NewQueueEntry, now: number): number {
  if (entry.recipients.length === 0) throw new Error('a queue entry needs at least one recipient');
  // Ids are never given twice, even after the queue emptied (queue_seq, schema V13).
  const id = ctx
    .pluck(
      `INSERT INTO queue (id, envelope_from, blob_id, dsn_ret, dsn_envid, created_at, next_attempt_at, attempts)
       VALUES (MAX((SELECT last FROM queue_seq), (SELECT COALESCE(MAX(id), 0) FROM queue)) + 1, ?, ?, ?, ?, ?, ?, 0)
       RETURNING id`,
    )
    .get(normalizeEnvelopeAddress(entry.envelopeFrom), blobId, entry.dsnRet, entry.dsnEnvid, now, now) as number;
  ctx.sql('UPDATE queue_seq SET last = ?').run(id);
  const insert = ctx.sql(
    `INSERT INTO queue_recipients (queue_id, position, address, notify, orcpt, state) VALUES (?, ?, ?, ?, ?, 'pending')`,
  );
  entry.recipients.forEach((r, position) => {
    insert.run(id, position, normalizeEnvelopeAddress(r.address), r.notify ? JSON.stringify(r.notify) : null, r.orcpt);
  });
  return id;
}

export function sqliteQueue(ctx: SqliteContext): QueueStore {
  const withRecipients = (row: QueueRow): QueueEntry => {
    const recipients = ctx
      .sql(
        'SELECT position, address, notify, orcpt, state, last_error FROM queue_recipients WHERE queue_id = ? ORDER BY position',
      )
      .all(row.id) as RecipientRow[];
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
      recipients: recipients.map((r) => ({
        address: r.address,
        notify: r.notify === null ? null : (JSON.parse(r.notify) as string[]),
        orcpt: r.orcpt,
        state: r.state,
        lastError: r.last_error,
      })),
    };
  };

  return {
    async list() {
      return (ctx.sql(`${SELECT_ENTRY} ORDER BY q.id`).all() as QueueRow[]).map(withRecipients);
    },

    async get(id) {
      const row = ctx.sql(`${SELECT_ENTRY} WHERE q.id = ?`).get(id) as QueueRow | undefined;
      return row ? withRecipients(row) : null;
    },

    async due(now, limit) {
      const rows = ctx
        .sql(`${SELECT_ENTRY} WHERE q.next_attempt_at <= ? ORDER BY q.next_attempt_at, q.id LIMIT ?`)
        .all(now.getTime(), Math.max(0, Math.floor(limit))) as QueueRow[];
      return rows.map(withRecipients);
    },

    async claim(now, limit, lease) {
      const t = now.getTime();
      const n = Math.max(0, Math.floor(limit));
      // A scan that finds nothing to take costs no write (and no fsync): it runs after every queued message.
      if (n === 0 || ctx.sql(`SELECT 1 FROM queue q WHERE ${CLAIMABLE} LIMIT 1`).get(t, t) === undefined) return [];
      return ctx.write(() => {
        const rows = ctx
          .sql(`${SELECT_ENTRY} WHERE ${CLAIMABLE} ORDER BY q.next_attempt_at, q.id LIMIT ?`)
          .all(t, t, n) as QueueRow[];
        const take = ctx.sql('UPDATE queue SET leased_by = ?, lease_until = ? WHERE id = ?');
        for (const row of rows) take.run(lease.owner, t + lease.leaseMs, row.id);
        return rows.map(withRecipients);
      }, ESSENTIAL);
    },

    async renew(ids, now, lease) {
      if (ids.length === 0) return [];
      const held = await ctx.write(
        () =>
          ctx
            .pluck(
              'UPDATE queue SET lease_until = ? WHERE leased_by = ? AND id IN (SELECT value FROM json_each(?)) RETURNING id',
            )
            .all(now.getTime() + lease.leaseMs, lease.owner, JSON.stringify(ids)) as number[],
        ESSENTIAL,
      );
      return held.sort((a, b) => a - b);
    },

    release(owner, ids) {
      return ctx.write(() => {
        const end = 'UPDATE queue SET leased_by = NULL, lease_until = NULL WHERE leased_by = ?';
        return ids === undefined
          ? ctx.sql(end).run(owner).changes
          : ctx.sql(`${end} AND id IN (SELECT value FROM json_each(?))`).run(owner, JSON.stringify(ids)).changes;
      }, ESSENTIAL);
    },

    async leases() {
      const rows = ctx
        .sql(
          `SELECT leased_by AS owner, count(*) AS entries, max(lease_until) AS until FROM queue
           WHERE leased_by IS NOT NULL GROUP BY leased_by ORDER BY leased_by`,
        )
        .all() as { owner: string; entries: number; until: number }[];
      return rows.map((r) => ({ owner: r.owner, entries: r.entries, until: new Date(r.until) }));
    },

    recordAttempt(id, result, lease) {
      return ctx.write(() => {
        // Strict about the owner (see the header): a taken-over entry is the new holder's to record.
        const found = ctx
          .sql(
            `UPDATE queue SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, leased_by = NULL,
               lease_until = NULL WHERE id = ? AND (? IS NULL OR leased_by = ?)`,
          )
          .run(result.nextAttemptAt.getTime(), result.error, id, lease?.owner ?? null, lease?.owner ?? null);
        if (found.changes === 0) return false;
        const rows = ctx.sql('SELECT position, address FROM queue_recipients WHERE queue_id = ?').all(id) as {
          position: number;
          address: string;
        }[];
        const update = ctx.sql(
          'UPDATE queue_recipients SET state = ?, last_error = ? WHERE queue_id = ? AND position = ?',
        );
        for (const r of result.recipients) {
          const address = r.address.trim().toLowerCase();
          for (const row of rows) {
            if (row.address.toLowerCase() === address) update.run(r.state, r.error, id, row.position);
          }
        }
        const pending = ctx
          .sql(`SELECT 1 FROM queue_recipients WHERE queue_id = ? AND state = 'pending' LIMIT 1`)
          .get(id);
        if (!pending) ctx.sql('DELETE FROM queue WHERE id = ?').run(id);
        return true;
      }, ESSENTIAL);
    },

    retry(id) {
      return ctx.write(
        () => ctx.sql('UPDATE queue SET next_attempt_at = ? WHERE id = ?').run(Date.now(), id).changes > 0,
      );
    },

    delete(id) {
      return ctx.write(() => ctx.sql('DELETE FROM queue WHERE id = ?').run(id).changes > 0, ESSENTIAL);
    },

    markDelayWarned(id, at) {
      return ctx.write(
        () => ctx.sql('UPDATE queue SET delay_warned_at = ? WHERE id = ?').run(at.getTime(), id).changes > 0,
      );
    },

    async count() {
      return ctx.pluck('SELECT count(*) FROM queue').get() as number;
    },

    async summary(opts) {
      // Synchronous reads on one connection: nothing commits in between, so the figures agree.
      const totals = ctx
        .sql('SELECT count(*) AS n, min(created_at) AS oldest, min(next_attempt_at) AS next FROM queue')
        .get() as { n: number; oldest: number | null; next: number | null };
      const pending = ctx
        .sql(`SELECT count(*) AS pending, count(last_error) AS deferred FROM queue_recipients WHERE state = 'pending'`)
        .get() as { pending: number; deferred: number };
      const groups = ctx
        .sql(
          `SELECT last_error AS error, count(*) AS recipients FROM queue_recipients
           WHERE state = 'pending' AND last_error IS NOT NULL
           GROUP BY last_error ORDER BY recipients DESC, last_error LIMIT ?`,
        )
        .all(Math.max(0, Math.floor(opts?.maxErrorGroups ?? 100))) as { error: string; recipients: number }[];
      return {
        messages: totals.n,
        recipientsPending: pending.pending,
        oldestCreatedAt: totals.oldest === null ? null : new Date(totals.oldest),
        nextAttemptAt: totals.next === null ? null : new Date(totals.next),
        deferred: pending.deferred,
        deferredByError: groups.map((g) => ({ error: g.error, recipients: g.recipients })),
      };
    },
  };
}
