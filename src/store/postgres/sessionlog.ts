/**
 * The web lab's session history in PostgreSQL (`log_sessions`, `log_chunks`, `log_wire`), as
 * sqlite/sessionlog.ts; the rows' formats are ../sessionlog-codec.ts's, shared with SQLite.
 *
 * Invariants:
 * - `append` is one transaction: sessions are upserted (one statement), then the events of each
 *   session go into ONE `log_chunks` row (one statement for all sessions, in the order given), then
 *   the captured bytes into one `log_wire` row per session (one statement for all sessions too). The
 *   foreign key refuses events or bytes of unknown sessions, which rolls back the whole batch
 *   (StoreNotFoundError).
 * - A session summary given twice in one batch counts as given once, the last time (as the upserts
 *   one after the other on SQLite). A NUL in its text fields (a client's HELO name) is stored as
 *   U+FFFD: PostgreSQL text cannot hold it, and refusing would lose the whole batch. Event texts are
 *   inside JSON, where NUL is escaped.
 * - Reading a session's events decodes its chunks in id order (the order they were appended); a
 *   later event with the same seq replaces an earlier one, and the result is sorted by seq.
 * - Each session row records the node that wrote it (`node`); `finishOpen` ends only the open
 *   sessions of this node: a node that restarts must not end the live sessions of the others.
 * - Lists are newest first by start, then id in byte order (`COLLATE "C"`, as SQLite compares).
 * - Pruning deletes finished sessions only (an open one is live: its node's recorder reads its start
 *   back from here; `finishOpen` ends those of a node that restarts); their chunks and bytes go by
 *   cascade in the same transaction.
 * - Nothing is cached: the CLI and the other nodes read the history too.
 */
import { decodeChunk, decodeWire, encodeChunk, encodeWire, type SessionRow, toSession } from '../sessionlog-codec.js';
import {
  type LoggedEvent,
  type LoggedSession,
  type LoggedWire,
  type SessionLogStore,
  StoreNotFoundError,
} from '../types.js';
import { type PgContext, sqlState } from './db.js';

const COLUMNS =
  'id, proto, listener, local_addr, local_port, remote_addr, remote_port, "user", tls, start, "end", state, close_reason, events, key_logged, helo, mail_from';

/** Upserts the sessions given column by column ($1…$17 arrays) for node $18. */
const UPSERT = `INSERT INTO log_sessions (${COLUMNS}, node)
  SELECT s.*, $18 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::text[],
    $7::integer[], $8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::text[], $13::text[], $14::integer[],
    $15::boolean[], $16::text[], $17::text[]) AS s
  ON CONFLICT (id) DO UPDATE SET "user" = excluded."user", tls = excluded.tls, "end" = excluded."end",
    state = excluded.state, close_reason = excluded.close_reason, events = excluded.events,
    key_logged = excluded.key_logged, helo = excluded.helo, mail_from = excluded.mail_from`;

/** One chunk per session, ids (and so the read order) in the order of the arrays. */
const INSERT_CHUNKS = `INSERT INTO log_chunks (session_id, events)
  SELECT c.session_id, c.events FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS c(session_id, events, n)
  ORDER BY c.n`;

/** One row per session, ids in the order of the arrays. */
const INSERT_WIRE = `INSERT INTO log_wire (session_id, parts, data, secrets)
  SELECT w.session_id, w.parts, w.data, w.secrets
  FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[]) WITH ORDINALITY AS w(session_id, parts, data, secrets, n)
  ORDER BY w.n`;

/** The sessions as the 17 column arrays of UPSERT, the last summary of each id winning. */
function sessionColumns(sessions: readonly LoggedSession[]): unknown[][] {
  const last = new Map<string, LoggedSession>();
  for (const s of sessions) {
    last.delete(s.id);
    last.set(s.id, s);
  }
  const list = [...last.values()];
  const column = <T>(get: (s: LoggedSession) => T): T[] => list.map(get);
  const text = (get: (s: LoggedSession) => string | null): (string | null)[] => list.map((s) => noNul(get(s)));
  return [
    column((s) => s.id),
    column((s) => s.proto),
    text((s) => s.listener),
    text((s) => s.localAddress),
    column((s) => s.localPort),
    text((s) => s.remoteAddress),
    column((s) => s.remotePort),
    text((s) => s.user),
    text((s) => s.tls),
    column((s) => s.start),
    column((s) => s.end),
    text((s) => s.state),
    text((s) => s.closeReason),
    column((s) => s.events),
    column((s) => s.keyLogged),
    text((s) => s.helo),
    text((s) => s.mailFrom),
  ];
}

/**
 * PostgreSQL text cannot hold NUL, which a client can put in what the recorder takes from its lines
 * (`EHLO a<NUL>b`): stored as U+FFFD rather than losing the whole batch.
 */
function noNul(value: string | null): string | null {
  return value?.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value;
}

/** Items grouped by session id, groups in order of first appearance, items in the order given. */
function bySession<T extends { sessionId: string }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const list = groups.get(item.sessionId);
    if (list) list.push(item);
    else groups.set(item.sessionId, [item]);
  }
  return groups;
}

/** The session a foreign key violation names (`Key (session_id)=(x) is not present…`), if it does. */
function missingSession(error: unknown, fallback: string): string {
  const detail = (error as { detail?: unknown } | null)?.detail;
  const match = typeof detail === 'string' ? /^Key \(session_id\)=\((.*)\) is not present/.exec(detail) : null;
  return match ? match[1] : fallback;
}

/** Escapes LIKE wildcards so a prefix filter matches literally (backslash is LIKE's escape). */
function likePrefix(text: string): string {
  return `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function pgSessionLog(ctx: PgContext): SessionLogStore {
  return {
    append({ sessions, events, wire = [] }) {
      if (sessions.length === 0 && events.length === 0 && wire.length === 0) return Promise.resolve();
      // Encoded before the transaction: a retried transaction does not encode again.
      const chunks = [...bySession<LoggedEvent>(events)].map(([sessionId, list]) => ({
        sessionId,
        count: list.length,
        events: encodeChunk(list),
      }));
      const wires = [...bySession<LoggedWire>(wire)].map(([sessionId, list]) => ({ sessionId, ...encodeWire(list) }));
      return ctx.tx(async (tx) => {
        if (sessions.length > 0) await tx.run(UPSERT, [...sessionColumns(sessions), ctx.node]);
        if (chunks.length > 0) {
          try {
            await tx.run(INSERT_CHUNKS, [chunks.map((c) => c.sessionId), chunks.map((c) => c.events)]);
          } catch (error) {
            if (sqlState(error) !== '23503') throw error;
            const id = missingSession(error, chunks[0].sessionId);
            const count = chunks.find((c) => c.sessionId === id)?.count ?? 0;
            throw new StoreNotFoundError(`no logged session ${id} for its ${count} events`, { cause: error });
          }
        }
        if (wires.length > 0) {
          try {
            await tx.run(INSERT_WIRE, [
              wires.map((w) => w.sessionId),
              wires.map((w) => w.parts),
              wires.map((w) => w.data),
              wires.map((w) => w.secrets),
            ]);
          } catch (error) {
            if (sqlState(error) !== '23503') throw error;
            const id = missingSession(error, wires[0].sessionId);
            throw new StoreNotFoundError(`no logged session ${id} for its captured bytes`, { cause: error });
          }
        }
      });
    },

    async wire(id) {
      const rows = await ctx.rows<{ parts: string; data: Buffer; secrets: string | null }>(
        'SELECT parts, data, secrets FROM log_wire WHERE session_id = $1 ORDER BY id',
        [id],
      );
      return rows.flatMap((row) => decodeWire(id, row));
    },

    async list(filter = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      const arg = (value: unknown): string => {
        args.push(value);
        return `$${args.length}`;
      };
      if (filter.proto) where.push(`proto = ${arg(filter.proto)}`);
      if (filter.user) where.push(`"user" = ${arg(filter.user.toLowerCase())}`);
      if (filter.remote) where.push(`remote_addr LIKE ${arg(likePrefix(filter.remote))}`);
      if (filter.visibleTo) {
        // access.ts `maySee` in SQL: logged in as the user, or an SMTP session without a login that
        // names them (HELO/EHLO, MAIL FROM) or came from one of their addresses (an empty list: none).
        const v = filter.visibleTo;
        const user = arg(v.user);
        where.push(
          `("user" = ${user} OR ("user" IS NULL AND proto = 'smtp' AND (mail_from = ${user}
            OR helo = ANY(${arg(v.heloNames)}::text[]) OR remote_addr = ANY(${arg(v.remotes)}::text[]))))`,
        );
      }
      if (filter.before !== undefined) where.push(`start < ${arg(filter.before)}`);
      const limit = Math.max(0, Math.min(filter.limit ?? 200, 10_000));
      const rows = await ctx.rows<SessionRow>(
        `SELECT ${COLUMNS} FROM log_sessions ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY start DESC, id DESC LIMIT ${arg(limit)}`,
        args,
      );
      return rows.map(toSession);
    },

    async get(id) {
      const row = await ctx.one<SessionRow>(`SELECT ${COLUMNS} FROM log_sessions WHERE id = $1`, [id]);
      return row ? toSession(row) : null;
    },

    async events(id) {
      const rows = await ctx.rows<{ events: string }>(
        'SELECT events FROM log_chunks WHERE session_id = $1 ORDER BY id',
        [id],
      );
      const bySeq = new Map<number, LoggedEvent>();
      for (const row of rows) decodeChunk(id, row.events, bySeq);
      return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    },

    prune({ keep, startedBefore }) {
      return ctx.tx(async (tx) => {
        let removed = 0;
        if (startedBefore !== undefined) {
          removed += await tx.run('DELETE FROM log_sessions WHERE start < $1 AND "end" IS NOT NULL', [startedBefore]);
        }
        if (keep !== undefined) {
          removed += await tx.run(
            `DELETE FROM log_sessions WHERE id IN
               (SELECT id FROM log_sessions WHERE "end" IS NOT NULL ORDER BY start DESC, id DESC OFFSET $1)`,
            [Math.max(0, Math.floor(keep))],
          );
        }
        return removed;
      });
    },

    delete(ids) {
      if (ids.length === 0) return Promise.resolve(0);
      // Events and wire go by ON DELETE CASCADE.
      return ctx.tx((tx) => tx.run('DELETE FROM log_sessions WHERE id = ANY($1::text[])', [[...ids]]));
    },

    finishOpen(end, reason) {
      return ctx.tx((tx) =>
        tx.run(
          'UPDATE log_sessions SET "end" = GREATEST(start, $1), close_reason = $2 WHERE "end" IS NULL AND node = $3',
          [end, reason, ctx.node],
        ),
      );
    },
  };
}
