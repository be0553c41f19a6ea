/**
 * The web lab's session history in SQLite (`log_sessions`, `log_events`).
 *
 * Invariants:
 * - `append` is one write job: sessions are upserted, then events inserted (or replaced by seq); the
 *   foreign key refuses events of unknown sessions, which rolls back the whole job.
 * - Pruning deletes sessions; their events go by cascade in the same transaction.
 * - Nothing is cached: the CLI may read the history from another process.
 */
import { type LoggedEvent, type LoggedSession, type SessionLogStore, StoreNotFoundError } from '../types.js';
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

interface EventRow {
  session_id: string;
  seq: number;
  t: number;
  type: string;
  text: string;
  encrypted: number;
  data: string | null;
}

const COLUMNS =
  'id, proto, listener, local_addr, local_port, remote_addr, remote_port, user, tls, start, end, state, close_reason, events, key_logged';

const UPSERT = `INSERT INTO log_sessions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET user = excluded.user, tls = excluded.tls, end = excluded.end,
    state = excluded.state, close_reason = excluded.close_reason, events = excluded.events,
    key_logged = excluded.key_logged`;

const INSERT_EVENT = `INSERT OR REPLACE INTO log_events (session_id, seq, t, type, text, encrypted, data)
  VALUES (?, ?, ?, ?, ?, ?, ?)`;

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

function toEvent(row: EventRow): LoggedEvent {
  return {
    sessionId: row.session_id,
    seq: row.seq,
    t: row.t,
    type: row.type,
    text: row.text,
    encrypted: row.encrypted !== 0,
    data: row.data === null ? null : JSON.parse(row.data),
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
        const insert = ctx.sql(INSERT_EVENT);
        for (const e of events) {
          try {
            insert.run(
              e.sessionId,
              e.seq,
              e.t,
              e.type,
              e.text,
              e.encrypted ? 1 : 0,
              e.data === null ? null : JSON.stringify(e.data),
            );
          } catch (err) {
            if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
              throw new StoreNotFoundError(`no logged session ${e.sessionId} for event ${e.seq}`);
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
      const rows = ctx
        .sql('SELECT session_id, seq, t, type, text, encrypted, data FROM log_events WHERE session_id = ? ORDER BY seq')
        .all(id) as EventRow[];
      return rows.map(toEvent);
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
