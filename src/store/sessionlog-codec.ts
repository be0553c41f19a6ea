/**
 * The encoding of the web lab's session history rows, shared by the SQLite and PostgreSQL backends
 * (their `log_chunks.events` and `log_wire` columns hold the same formats).
 *
 * Invariants:
 * - The events of one session in one batch are ONE chunk: a JSON object by column (see `Chunk`). One
 *   row per session per batch instead of one per event is what keeps the recorder cheap (a busy SMTP
 *   session reports hundreds of lines per second); by column rather than one array per event makes
 *   the row about 2.5 times smaller and 3 times faster to encode (a POP3 session of 100 RETR: 6.5 KB
 *   instead of 16 KB).
 * - Rows written before the column format (a JSON array of `RowEvent`) are still read.
 * - Decoding a session's chunks in insertion order, a later event with the same seq replaces an
 *   earlier one.
 * - A session's bytes (the lab's capture) are one row per session per batch: the chunks' bytes
 *   joined in one buffer, their times, directions and lengths in `parts`, the originals of masked
 *   ranges in `secrets`.
 * - A `log_sessions` row reads the same on both backends (`SessionRow`, `toSession`); `key_logged` is
 *   0/1 on SQLite and a boolean on PostgreSQL.
 */
import type { JsonValue, LoggedEvent, LoggedSession, LoggedWire } from './types.js';

/** A row of `log_sessions`. */
export interface SessionRow {
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
  key_logged: number | boolean;
  helo: string | null;
  mail_from: string | null;
}

export function toSession(row: SessionRow): LoggedSession {
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
    keyLogged: Boolean(row.key_logged),
    helo: row.helo,
    mailFrom: row.mail_from,
  };
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

/** The wire chunks of one session in one batch as a `log_wire` row. */
export function encodeWire(chunks: readonly LoggedWire[]): { parts: string; data: Buffer; secrets: string | null } {
  return { ...encodeWireParts(chunks), data: Buffer.concat(chunks.map((c) => c.data)) };
}

/**
 * A `log_wire` row without its bytes (SQLite keeps them in a file, capture-files.ts): `length` is
 * how many bytes the chunks hold in all.
 */
export function encodeWireParts(chunks: readonly LoggedWire[]): {
  parts: string;
  secrets: string | null;
  length: number;
} {
  const parts: number[] = [];
  const secrets: (number | string)[] = [];
  let length = 0;
  chunks.forEach((c, i) => {
    parts.push(c.t, c.dir === 'in' ? 0 : 1, c.data.length);
    length += c.data.length;
    for (const [offset, original] of c.secrets ?? []) secrets.push(i, offset, original.toString('base64'));
  });
  return { parts: JSON.stringify(parts), secrets: secrets.length ? JSON.stringify(secrets) : null, length };
}

/** How many bytes a `log_wire` row's chunks hold (the sum of the lengths in `parts`). */
export function wireLength(parts: string): number {
  const list = JSON.parse(parts) as number[];
  let length = 0;
  for (let j = 2; j < list.length; j += 3) length += list[j];
  return length;
}

export function decodeWire(
  sessionId: string,
  row: { parts: string; data: Buffer; secrets: string | null },
): LoggedWire[] {
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
export function decodeChunk(sessionId: string, text: string, into: Map<number, LoggedEvent>): void {
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
