/**
 * The web lab's session history in SQLite (`log_sessions`, `log_chunks`).
 *
 * Invariants:
 * - `append` is one write job: sessions are upserted, then the events of each session go into ONE
 *   `log_chunks` row (a JSON array, see `encodeEvent`); the foreign key refuses events of unknown
 *   sessions, which rolls back the whole job. One row per session per batch instead of one per event
 *   is what keeps the recorder cheap (a busy SMTP session reports hundreds of lines per second).
 * - Reading a session's events decodes its chunks in insertion order; a later event with the same seq
 *   replaces an earlier one, and the result is sorted by seq.
 * - Pruning deletes sessions; their chunks go by cascade in the same transaction.
 * - Nothing is cached: the CLI may read the history from another process.
 */
import {
  type JsonValue,
  type LoggedEvent,
  type LoggedSession,
  type SessionLogStore,
  StoreNotFoundError,
} from '../types.js';
import type { SqliteContext } from './db.js';

interface SessionRow {
  id: string;
  proto: LoggedSession['proto'];
  listener: string;
  local_addr: string;
  local_port: number;
  remote_addr: string;
  remote_port: number;
  user: string | null;
  tls: string | null;
  start: number;
  end: number | null;
  state: string;
  close_reason: string | null;
  events: number;
  key_logged: number;
}

/**
 * One event in a chunk: `[seq, t, type, text, encrypted]`, with the structured `data` as a sixth
 * element when it is not null. `encrypted` is 1 or 0.
 */
type EncodedEvent =
  | [seq: number, t: number, type: string, text: string, encrypted: 0 | 1]
  | [seq: number, t: number, type: string, text: string, encrypted: 0 | 1, data: JsonValue];

const COLUMNS =
  'id, proto, listener, local_addr, local_port, remote_addr, remote_port, user, tls, start, end, state, close_reason, events, key_logged';

const UPSERT = `INSERT INTO log_sessions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET user = excluded.user, tls = excluded.tls, end = excluded.end,
    state = excluded.state, close_reason = excluded.close_reason, events = excluded.events,
    key_logged = excluded.key_logged`;

const INSERT_CHUNK = 'INSERT INTO log_chunks (session_id, events) VALUES (?, ?)';

function toSession(row: SessionRow): LoggedSession {
  return {
    id: row.id,
    proto: row.proto,
    listener: row.listener,
    localAddress: row.local_addr,
    localPort: row.local_port,
    remoteAddress: row.remote_addr,
    remotePort: row.remote_port,
    user: row.user,
    tls: row.tls,
    start: row.start,
    end: row.end,
    state: row.state,
    closeReason: row.close_reason,
    events: row.events,
    keyLogged: row.key_logged !== 0,
  };
}

function encodeEvent(e: LoggedEvent): EncodedEvent {
  const encrypted = e.encrypted ? 1 : 0;
  return e.data === null ? [e.seq, e.t, e.type, e.text, encrypted] : [e.seq, e.t, e.type, e.text, encrypted, e.data];
}

function decodeEvent(sessionId: string, e: EncodedEvent): LoggedEvent {
  return {
    sessionId,
    seq: e[0],
    t: e[1],
    type: e[2],
    text: e[3],
    encrypted: e[4] === 1,
    data: e.length > 5 ? (e[5] ?? null) : null,
  };
}

/** Escapes LIKE wildcards so a prefix filter matches literally. */
function likePrefix(text: string): string {
  return `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function sqliteSessionLog(ctx: SqliteContext): SessionLogStore {
  return {
    append({ sessions, events }) {
      if (sessions.length === 0 && events.length === 0) return Promise.resolve();
      return ctx.write(() => {
        const upsert = ctx.sql(UPSERT);
        for (const s of sessions) {
          upsert.run(
            s.id,
            s.proto,
            s.listener,
            s.localAddress,
            s.localPort,
            s.remoteAddress,
            s.remotePort,
            s.user,
            s.tls,
            s.start,
            s.end,
            s.state,
            s.closeReason,
            s.events,
            s.keyLogged ? 1 : 0,
          );
        }
        const bySession = new Map<string, EncodedEvent[]>();
        for (const e of events) {
          let chunk = bySession.get(e.sessionId);
          if (!chunk) {
            chunk = [];
            bySession.set(e.sessionId, chunk);
          }
          chunk.push(encodeEvent(e));
        }
        const insert = ctx.sql(INSERT_CHUNK);
        for (const [sessionId, chunk] of bySession) {
          try {
            insert.run(sessionId, JSON.stringify(chunk));
          } catch (err) {
            if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
              throw new StoreNotFoundError(`no logged session ${sessionId} for its ${chunk.length} events`);
            }
            throw err;
          }
        }
      });
    },

    async list(filter = {}) {
      const where: string[] = [];
      const args: (string | number)[] = [];
      if (filter.proto) {
        where.push('proto = ?');
        args.push(filter.proto);
      }
      if (filter.user) {
        where.push('user = ?');
        args.push(filter.user.toLowerCase());
      }
      if (filter.remote) {
        where.push("remote_addr LIKE ? ESCAPE '\\'");
        args.push(likePrefix(filter.remote));
      }
      if (filter.before !== undefined) {
        where.push('start < ?');
        args.push(filter.before);
      }
      const limit = Math.max(0, Math.min(filter.limit ?? 200, 10_000));
      const sql = `SELECT ${COLUMNS} FROM log_sessions ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY start DESC, id DESC LIMIT ${limit}`;
      return (ctx.sql(sql).all(...args) as SessionRow[]).map(toSession);
    },

    async get(id) {
      const row = ctx.sql(`SELECT ${COLUMNS} FROM log_sessions WHERE id = ?`).get(id) as SessionRow | undefined;
      return row ? toSession(row) : null;
    },

    async events(id) {
      const rows = ctx.sql('SELECT events FROM log_chunks WHERE session_id = ? ORDER BY id').all(id) as {
        events: string;
      }[];
      const bySeq = new Map<number, LoggedEvent>();
      for (const row of rows) {
        for (const e of JSON.parse(row.events) as EncodedEvent[]) bySeq.set(e[0], decodeEvent(id, e));
      }
      return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    },

    prune({ keep, startedBefore }) {
      return ctx.write(() => {
        let removed = 0;
        if (startedBefore !== undefined) {
          removed += ctx.sql('DELETE FROM log_sessions WHERE start < ?').run(startedBefore).changes;
        }
        if (keep !== undefined) {
          removed += ctx
            .sql(
              `DELETE FROM log_sessions WHERE id IN
                 (SELECT id FROM log_sessions ORDER BY start DESC, id DESC LIMIT -1 OFFSET ?)`,
            )
            .run(Math.max(0, keep)).changes;
        }
        return removed;
      });
    },

    finishOpen(end, reason) {
      return ctx.write(
        () =>
          ctx.sql('UPDATE log_sessions SET end = max(start, ?), close_reason = ? WHERE end IS NULL').run(end, reason)
            .changes,
      );
    },
  };
}
