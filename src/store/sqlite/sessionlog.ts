/**
 * The web lab's session history in SQLite (`log_sessions`, `log_chunks`).
 *
 * Invariants:
 * - `append` is one write job: sessions are upserted, then the events of each session go into ONE
 *   `log_chunks` row (a JSON object by column, see `Chunk`); the foreign key refuses events of unknown
 *   sessions, which rolls back the whole job. One row per session per batch instead of one per event
 *   is what keeps the recorder cheap (a busy SMTP session reports hundreds of lines per second); by
 *   column rather than one array per event makes the row about 2.5 times smaller and 3 times faster to
 *   encode (a POP3 session of 100 RETR: 6.5 KB instead of 16 KB).
 * - Rows written before the column format (a JSON array of `RowEvent`) are still read.
 * - Reading a session's events decodes its chunks in insertion order; a later event with the same seq
 *   replaces an earlier one, and the result is sorted by seq.
 * - Pruning deletes sessions; their chunks go by cascade in the same transaction.
 * - A session's bytes (the lab's capture) are in `log_wire`, one row per session per batch: the
 *   chunks' bytes joined in one BLOB, their times, directions and lengths in `parts`.
 * - Nothing is cached: the CLI may read the history from another process.
 */
import {
  type JsonValue,
  type LoggedEvent,
  type LoggedSession,
  type LoggedWire,
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
  helo: string | null;
  mail_from: string | null;
}

/**
 * The first chunk format (before this file wrote `Chunk`s): a JSON array with one array per event,
 * `[seq, t, type, text, encrypted]` plus the structured `data` as a sixth element when it is not null.
 */
type RowEvent =
  | [seq: number, t: number, type: string, text: string, encrypted: 0 | 1]
  | [seq: number, t: number, type: string, text: string, encrypted: 0 | 1, data: JsonValue];

/**
 * A chunk by column: the events of one session in one batch, in the order given. Event i has:
 * - type: the letter `k[i]` of `KIND_LETTERS`, or `y[j + 1]` where `y[j] = i` when `k[i]` is `?`;
 * - text: `x[i]`, or when that is a number j, the text of event j (a line seen before in the chunk:
 *   a POP3 session repeats `+OK 4608 octets` and `.` for every message);
 * - time: `t` plus `dt[0..i]` (a delta from the previous event, mostly 0);
 * - seq: one more than event i - 1's (the first: `s`), except where `q[j] = i`: then `q[j + 1]`;
 * - encrypted: false at first, flipped at every index listed in `e`;
 * - data: `d[j + 1]` where `d[j] = i`, otherwise null.
 * The lists `q`, `e`, `d` and `y` are left out when empty.
 */
interface Chunk {
  s: number;
  t: number;
  k: string;
  x: (string | number)[];
  dt: number[];
  q?: number[];
  e?: number[];
  d?: JsonValue[];
  y?: (number | string)[];
}

const KIND_LETTERS: Record<string, string> = {
  in: 'i',
  out: 'o',
  note: 'n',
  open: 'O',
  tls: 'T',
  auth: 'A',
  state: 'S',
  close: 'C',
};
const LETTER_KINDS = new Map(Object.entries(KIND_LETTERS).map(([kind, letter]) => [letter, kind]));

const COLUMNS =
  'id, proto, listener, local_addr, local_port, remote_addr, remote_port, user, tls, start, end, state, close_reason, events, key_logged, helo, mail_from';

const UPSERT = `INSERT INTO log_sessions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET user = excluded.user, tls = excluded.tls, end = excluded.end,
    state = excluded.state, close_reason = excluded.close_reason, events = excluded.events,
    key_logged = excluded.key_logged, helo = excluded.helo, mail_from = excluded.mail_from`;

const INSERT_CHUNK = 'INSERT INTO log_chunks (session_id, events) VALUES (?, ?)';
const INSERT_WIRE = 'INSERT INTO log_wire (session_id, parts, data, secrets) VALUES (?, ?, ?, ?)';

/** The wire chunks of one session in one batch as a `log_wire` row. */
function encodeWire(chunks: readonly LoggedWire[]): { parts: string; data: Buffer; secrets: string | null } {
  const parts: number[] = [];
  const secrets: (number | string)[] = [];
  chunks.forEach((c, i) => {
    parts.push(c.t, c.dir === 'in' ? 0 : 1, c.data.length);
    for (const [offset, original] of c.secrets ?? []) secrets.push(i, offset, original.toString('base64'));
  });
  return {
    parts: JSON.stringify(parts),
    data: Buffer.concat(chunks.map((c) => c.data)),
    secrets: secrets.length ? JSON.stringify(secrets) : null,
  };
}

function decodeWire(sessionId: string, row: { parts: string; data: Buffer; secrets: string | null }): LoggedWire[] {
  const parts = JSON.parse(row.parts) as number[];
  const out: LoggedWire[] = [];
  let offset = 0;
  for (let j = 0; j + 2 < parts.length; j += 3) {
    const length = parts[j + 2];
    out.push({
      sessionId,
      t: parts[j],
      dir: parts[j + 1] === 0 ? 'in' : 'out',
      data: row.data.subarray(offset, offset + length),
      secrets: null,
    });
    offset += length;
  }
  if (row.secrets) {
    const list = JSON.parse(row.secrets) as (number | string)[];
    for (let j = 0; j + 2 < list.length; j += 3) {
      const chunk = out[Number(list[j])];
      if (!chunk) continue;
      chunk.secrets ??= [];
      chunk.secrets.push([Number(list[j + 1]), Buffer.from(String(list[j + 2]), 'base64')]);
    }
  }
  return out;
}

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
    helo: row.helo,
    mailFrom: row.mail_from,
  };
}

/** Encodes events of one session, in the order given, as one chunk (JSON text). */
export function encodeChunk(events: readonly LoggedEvent[]): string {
  const first = events[0];
  const x: (string | number)[] = new Array(events.length);
  /** Where each text first occurs; only texts short enough that a reference saves bytes are looked up. */
  const seen = new Map<string, number>();
  const dt: number[] = new Array(events.length);
  const q: number[] = [];
  const e: number[] = [];
  const d: JsonValue[] = [];
  const y: (number | string)[] = [];
  let k = '';
  let t = first.t;
  let seq = first.seq - 1;
  let encrypted = false;
  for (let i = 0; i < events.length; i++) {
    const ev = events[i];
    const letter = KIND_LETTERS[ev.type];
    if (letter === undefined) {
      k += '?';
      y.push(i, ev.type);
    } else {
      k += letter;
    }
    const text = ev.text;
    if (text.length > 3) {
      const first = seen.get(text);
      if (first === undefined) {
        seen.set(text, i);
        x[i] = text;
      } else {
        x[i] = first;
      }
    } else {
      x[i] = text;
    }
    dt[i] = ev.t - t;
    t = ev.t;
    if (ev.seq !== seq + 1) q.push(i, ev.seq);
    seq = ev.seq;
    if (ev.encrypted !== encrypted) {
      e.push(i);
      encrypted = ev.encrypted;
    }
    if (ev.data !== null) d.push(i, ev.data);
  }
  const chunk: Chunk = { s: first.seq, t: first.t, k, x, dt };
  if (q.length) chunk.q = q;
  if (e.length) chunk.e = e;
  if (d.length) chunk.d = d;
  if (y.length) chunk.y = y;
  return JSON.stringify(chunk);
}

function textAt(x: (string | number)[], i: number): string {
  const v = x[i];
  return typeof v === 'number' ? String(x[v]) : v;
}

/** Decodes a chunk row (either format) into `into`, a later event replacing one with the same seq. */
function decodeChunk(sessionId: string, text: string, into: Map<number, LoggedEvent>): void {
  const parsed = JSON.parse(text) as Chunk | RowEvent[];
  if (Array.isArray(parsed)) {
    for (const r of parsed) {
      into.set(r[0], {
        sessionId,
        seq: r[0],
        t: r[1],
        type: r[2],
        text: r[3],
        encrypted: r[4] === 1,
        data: r.length > 5 ? (r[5] ?? null) : null,
      });
    }
    return;
  }
  const c = parsed;
  const pairs = <T>(list: T[] | undefined): Map<number, T> => {
    const m = new Map<number, T>();
    if (list) for (let j = 0; j + 1 < list.length; j += 2) m.set(list[j] as number, list[j + 1]);
    return m;
  };
  const seqAt = pairs(c.q);
  const dataAt = pairs(c.d);
  const typeAt = pairs(c.y);
  const flips = new Set(c.e ?? []);
  let t = c.t;
  let seq = c.s - 1;
  let encrypted = false;
  for (let i = 0; i < c.k.length; i++) {
    t += c.dt[i];
    seq = seqAt.get(i) ?? seq + 1;
    if (flips.has(i)) encrypted = !encrypted;
    const letter = c.k[i];
    into.set(seq, {
      sessionId,
      seq,
      t,
      type: letter === '?' ? String(typeAt.get(i)) : (LETTER_KINDS.get(letter) ?? letter),
      text: textAt(c.x, i),
      encrypted,
      data: dataAt.get(i) ?? null,
    });
  }
}

/** Escapes LIKE wildcards so a prefix filter matches literally. */
function likePrefix(text: string): string {
  return `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function sqliteSessionLog(ctx: SqliteContext): SessionLogStore {
  return {
    append({ sessions, events, wire = [] }) {
      if (sessions.length === 0 && events.length === 0 && wire.length === 0) return Promise.resolve();
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
        const bySessionWire = new Map<string, LoggedWire[]>();
        for (const w of wire) {
          const list = bySessionWire.get(w.sessionId);
          if (list) list.push(w);
          else bySessionWire.set(w.sessionId, [w]);
        }
        const insertWire = ctx.sql(INSERT_WIRE);
        for (const [sessionId, chunks] of bySessionWire) {
          const row = encodeWire(chunks);
          try {
            insertWire.run(sessionId, row.parts, row.data, row.secrets);
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
      const rows = ctx.sql('SELECT parts, data, secrets FROM log_wire WHERE session_id = ? ORDER BY id').all(id) as {
        parts: string;
        data: Buffer;
        secrets: string | null;
      }[];
      return rows.flatMap((row) => decodeWire(id, row));
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
