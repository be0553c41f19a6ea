/**
 * The web lab's session history in SQLite (`log_sessions`, `log_chunks`).
 *
 * Invariants:
 * - `append` is one write job: sessions are upserted, then the events of each session go into ONE
 *   `log_chunks` row (../sessionlog-codec.ts `Chunk`: why one row per session per batch, by column);
 *   the foreign key refuses events of unknown sessions, which rolls back the whole job.
 * - Reading a session's events decodes its chunks in insertion order; a later event with the same seq
 *   replaces an earlier one, and the result is sorted by seq.
 * - Pruning deletes finished sessions only (an open one is live: the recorder reads its start back from
 *   here); their chunks go by cascade in the same transaction.
 * - A session's bytes (the lab's capture) are indexed by `log_wire`, one row per session per batch:
 *   their times, directions and lengths in `parts`; the bytes themselves appended to the session's
 *   capture file (capture-files.ts, `file_at` the offset; appended before the write job, on the
 *   thread pool) from CAPTURE_FILE_MIN_BYTES per row on, else
 *   (and without a folder for the files: a database in memory, and in rows written before schema
 *   V18) joined in the row's `data`.
 * - A session's capture file is removed after the COMMIT that deleted the session (prune, delete).
 * - Nothing is cached: the CLI may read the history from another process.
 */
import {
  decodeChunk,
  decodeWire,
  encodeChunk,
  encodeWireParts,
  type SessionRow,
  toSession,
  wireLength,
} from '../sessionlog-codec.js';
import { type LoggedEvent, type LoggedWire, type SessionLogStore, StoreNotFoundError } from '../types.js';
import type { CaptureFiles } from './capture-files.js';
import type { SqliteContext } from './db.js';

const COLUMNS =
  'id, proto, listener, local_addr, local_port, remote_addr, remote_port, user, tls, start, end, state, close_reason, events, key_logged, helo, mail_from';

const UPSERT = `INSERT INTO log_sessions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET user = excluded.user, tls = excluded.tls, end = excluded.end,
    state = excluded.state, close_reason = excluded.close_reason, events = excluded.events,
    key_logged = excluded.key_logged, helo = excluded.helo, mail_from = excluded.mail_from`;

const INSERT_CHUNK = 'INSERT INTO log_chunks (session_id, events) VALUES (?, ?)';
const INSERT_WIRE = 'INSERT INTO log_wire (session_id, parts, data, secrets, file_at) VALUES (?, ?, ?, ?, ?)';
const NO_BYTES = Buffer.alloc(0);
/**
 * A row's bytes from this size on go to the session's capture file; fewer stay in the row (an SMTP
 * session's few KB cost SQLite a page or two, less than the file's open, stat, write and close).
 */
export const CAPTURE_FILE_MIN_BYTES = 16 * 1024;
/** Ids per DELETE statement (SQLite binds at most 32,766 parameters; far fewer keeps each statement small). */
const DELETE_SLICE = 500;

/** Escapes LIKE wildcards so a prefix filter matches literally. */
function likePrefix(text: string): string {
  return `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** `files`: where the captured bytes go (null: into the rows). */
export function sqliteSessionLog(ctx: SqliteContext, files: CaptureFiles | null): SessionLogStore {
  /** Runs a deleting job and removes the capture files of the sessions it deleted, once committed. */
  const deleting = async (job: () => string[]): Promise<number> => {
    const ids = await ctx.write(job);
    files?.remove(ids);
    return ids.length;
  };
  return {
    async append({ sessions, events, wire = [] }) {
      if (sessions.length === 0 && events.length === 0 && wire.length === 0) return;
      const bySessionWire = new Map<string, LoggedWire[]>();
      for (const w of wire) {
        const list = bySessionWire.get(w.sessionId);
        if (list) list.push(w);
        else bySessionWire.set(w.sessionId, [w]);
      }
      const wireRows = [...bySessionWire].map(([sessionId, chunks]) => ({
        sessionId,
        chunks,
        row: encodeWireParts(chunks),
        fileAt: null as number | null,
      }));
      // The bytes of the big rows first, off the event loop, then the rows that point at them: if the
      // job fails, the bytes stay behind unreferenced and the next row starts after them.
      if (files) {
        await Promise.all(
          wireRows
            .filter((w) => w.row.length >= CAPTURE_FILE_MIN_BYTES)
            .map(async (w) => {
              w.fileAt = await files.append(
                w.sessionId,
                w.chunks.map((c) => c.data),
              );
            }),
        );
      }
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
            s.helo,
            s.mailFrom,
          );
        }
        // The recorder hands the events of a session together; grouping keeps any order correct.
        const bySession = new Map<string, LoggedEvent[]>();
        let last: LoggedEvent[] | undefined;
        let lastId = '';
        for (const e of events) {
          if (last === undefined || e.sessionId !== lastId) {
            lastId = e.sessionId;
            last = bySession.get(lastId);
            if (!last) {
              last = [];
              bySession.set(lastId, last);
            }
          }
          last.push(e);
        }
        const insert = ctx.sql(INSERT_CHUNK);
        for (const [sessionId, chunk] of bySession) {
          try {
            insert.run(sessionId, encodeChunk(chunk));
          } catch (err) {
            if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
              throw new StoreNotFoundError(`no logged session ${sessionId} for its ${chunk.length} events`);
            }
            throw err;
          }
        }
        const insertWire = ctx.sql(INSERT_WIRE);
        for (const { sessionId, chunks, row, fileAt } of wireRows) {
          try {
            if (fileAt !== null) insertWire.run(sessionId, row.parts, NO_BYTES, row.secrets, fileAt);
            else {
              const data = Buffer.concat(
                chunks.map((c) => c.data),
                row.length,
              );
              insertWire.run(sessionId, row.parts, data, row.secrets, null);
            }
          } catch (err) {
            if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
              throw new StoreNotFoundError(`no logged session ${sessionId} for its captured bytes`);
            }
            throw err;
          }
        }
      });
    },

    async wire(id) {
      const rows = ctx
        .sql('SELECT parts, data, secrets, file_at FROM log_wire WHERE session_id = ? ORDER BY id')
        .all(id) as { parts: string; data: Buffer; secrets: string | null; file_at: number | null }[];
      const inFile = rows.filter((row) => row.file_at !== null);
      const read =
        files && inFile.length > 0
          ? files.read(
              id,
              inFile.map((row) => ({ at: row.file_at ?? 0, length: wireLength(row.parts) })),
            )
          : [];
      const out: LoggedWire[] = [];
      let k = 0;
      for (const row of rows) {
        if (row.file_at === null) {
          for (const w of decodeWire(id, row)) out.push(w);
          continue;
        }
        const data = read[k++] ?? NO_BYTES;
        if (data.length === wireLength(row.parts)) {
          for (const w of decodeWire(id, { ...row, data })) out.push(w);
          continue;
        }
        // A file cut by a crash: the capture ends with the last chunk whose bytes are there whole.
        const parts = JSON.parse(row.parts) as number[];
        let end = 0;
        let whole = 0;
        for (let j = 2; j < parts.length && end + parts[j] <= data.length; j += 3, whole++) end += parts[j];
        for (const w of decodeWire(id, { ...row, data }).slice(0, whole)) out.push(w);
        break;
      }
      return out;
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
      if (filter.visibleTo) {
        // access.ts `maySeeSession` in SQL: logged in as the user, or an SMTP session without a login
        // that names them (HELO/EHLO, MAIL FROM) or came from their address.
        const v = filter.visibleTo;
        const helos = v.heloNames.length ? v.heloNames : [''];
        const remotes = v.remotes.length ? v.remotes : [''];
        where.push(
          `(user = ? OR (user IS NULL AND proto = 'smtp' AND (mail_from = ? OR helo IN (${helos.map(() => '?').join(', ')}) OR remote_addr IN (${remotes.map(() => '?').join(', ')}))))`,
        );
        args.push(v.user, v.user, ...helos, ...remotes);
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
      for (const row of rows) decodeChunk(id, row.events, bySeq);
      return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    },

    prune({ keep, startedBefore }) {
      return deleting(() => {
        const removed: string[] = [];
        if (startedBefore !== undefined) {
          const rows = ctx
            .pluck('DELETE FROM log_sessions WHERE start < ? AND end IS NOT NULL RETURNING id')
            .all(startedBefore) as string[];
          for (const id of rows) removed.push(id);
        }
        if (keep !== undefined) {
          const rows = ctx
            .pluck(
              `DELETE FROM log_sessions WHERE id IN
                 (SELECT id FROM log_sessions WHERE end IS NOT NULL ORDER BY start DESC, id DESC LIMIT -1 OFFSET ?)
               RETURNING id`,
            )
            .all(Math.max(0, keep)) as string[];
          for (const id of rows) removed.push(id);
        }
        return removed;
      });
    },

    delete(ids) {
      if (ids.length === 0) return Promise.resolve(0);
      return deleting(() => {
        const removed: string[] = [];
        // In slices, under SQLite's limit on bound parameters; events and wire go by ON DELETE CASCADE.
        for (let i = 0; i < ids.length; i += DELETE_SLICE) {
          const slice = ids.slice(i, i + DELETE_SLICE);
          const rows = ctx
            .pluck(`DELETE FROM log_sessions WHERE id IN (${slice.map(() => '?').join(', ')}) RETURNING id`)
            .all(...slice) as string[];
          for (const id of rows) removed.push(id);
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
