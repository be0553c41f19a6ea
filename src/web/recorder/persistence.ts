/**
 * Persistence: live sessions → the session history in the store (`Store.sessionLog`), and stored
 * events back into trace events for the lab's annotations and exports.
 *
 * Invariants:
 * - A batch takes every session changed since the last one: its summary, and its events not yet
 *   written; the recorder writes a batch in one store transaction (one chunk row per session), off the
 *   sessions' hot path.
 * - Finished sessions never written before are left to retention (`keepNewest`): those beyond the
 *   newest `historySessions` of a batch are never written, since the next prune would delete them.
 * - Text and structured data of an event are derived here, at write time, never on the bus callback.
 * - A session that got nothing new since the last batch is shrunk (`compactLive`) or, when the history
 *   is kept and has all it holds, lets it go (`releaseLive`): the batch that wrote it has completed,
 *   since batches are written one after another.
 */
import type { JsonValue, LoggedEvent, LoggedSession, LoggedWire } from '../../store/types.js';
import type { TraceEvent } from '../../trace/bus.js';
import {
  compactLive,
  encryptedAt,
  type Live,
  releasable,
  releaseLive,
  TEXT_TYPES,
  WHOLE,
  wireChunk,
  wireChunkCount,
} from './capture.js';
import { keepNewest } from './retention.js';

/** The text a stored event shows for each trace event type. */
export function eventText(event: TraceEvent): string {
  switch (event.type) {
    case 'open':
      return `${event.proto} session on ${event.listener} from ${event.remote}:${event.remotePort}${event.tls ? ' (implicit TLS)' : ''}`;
    case 'in':
    case 'out':
    case 'note':
      return event.text;
    case 'tls':
      return `TLS established: ${event.protocol} ${event.cipher}`;
    case 'auth':
      return `${event.ok ? 'authenticated' : 'authentication failed'}: ${event.user} (${event.mechanism})`;
    case 'state':
      return `state: ${event.state}`;
    case 'close':
      return `closed: ${event.reason}`;
  }
}

/** The structured fields of an event that its text does not carry exactly. */
function eventData(event: TraceEvent): JsonValue {
  switch (event.type) {
    case 'open':
      return {
        proto: event.proto,
        listener: event.listener,
        remote: event.remote,
        remotePort: event.remotePort,
        local: event.local,
        localPort: event.localPort,
        tls: event.tls,
      };
    case 'tls':
      return { protocol: event.protocol, cipher: event.cipher };
    case 'auth':
      return { user: event.user, ok: event.ok, mechanism: event.mechanism };
    case 'state':
      return { state: event.state };
    case 'close':
      return { reason: event.reason };
    default:
      return null;
  }
}

function str(data: JsonValue, key: string): string {
  if (data && typeof data === 'object' && !Array.isArray(data)) {
    const v = data[key];
    if (typeof v === 'string') return v;
  }
  return '';
}

/** The wire chunks a live session holds, as the store gives them back (for a live session's pcap). */
export function wireOf(live: Live): LoggedWire[] {
  const w = live.wire;
  const out: LoggedWire[] = [];
  for (let i = 0; i < wireChunkCount(w); i++) out.push({ sessionId: live.session.id, ...wireChunk(w, i) });
  return out;
}

/** Rebuilds the trace event of a stored one (for annotations and exports). */
export function traceEventOf(e: LoggedEvent, session: LoggedSession): TraceEvent {
  const base = { sid: e.sessionId, t: e.t, seq: e.seq };
  const d = e.data;
  switch (e.type) {
    case 'open':
      return {
        type: 'open',
        sid: e.sessionId,
        t: e.t,
        proto: session.proto,
        listener: session.listener,
        remote: session.remoteAddress,
        remotePort: session.remotePort,
        local: session.localAddress,
        localPort: session.localPort,
        tls: d !== null && typeof d === 'object' && !Array.isArray(d) ? d.tls === true : false,
      };
    case 'in':
    case 'out':
    case 'note':
      return { type: e.type, ...base, text: e.text };
    case 'tls':
      return { type: 'tls', ...base, protocol: str(d, 'protocol'), cipher: str(d, 'cipher') };
    case 'auth': {
      const ok = d !== null && typeof d === 'object' && !Array.isArray(d) ? d.ok === true : false;
      return { type: 'auth', ...base, user: str(d, 'user'), ok, mechanism: str(d, 'mechanism') };
    }
    case 'state':
      return { type: 'state', ...base, state: str(d, 'state') };
    case 'close':
      return { type: 'close', ...base, reason: str(d, 'reason') || e.text };
    default:
      return { type: 'note', ...base, text: e.text };
  }
}

/** Event `i` of a live session as the store takes it. */
function logged(live: Live, i: number): LoggedEvent {
  const kind = live.kinds[i];
  if (kind !== WHOLE) {
    return {
      sessionId: live.session.id,
      seq: live.seqs[i],
      t: live.times[i],
      type: TEXT_TYPES[kind],
      text: live.items[i] as string, // the kind says which of the two an item is
      encrypted: live.base + i >= live.encryptedFrom,
      data: null,
    };
  }
  const event = live.items[i] as TraceEvent;
  return {
    sessionId: live.session.id,
    seq: live.seqs[i],
    t: live.times[i],
    type: event.type,
    text: eventText(event),
    encrypted: encryptedAt(live, i),
    data: eventData(event),
  };
}

/** What one write of the history holds, and what the recorder does after it. */
export interface Batch {
  /** For `sessionLog.append`. */
  sessions: LoggedSession[];
  events: LoggedEvent[];
  wire: LoggedWire[];
  /** Closed sessions of the batch (written or left out): they leave memory once it is written. */
  done: Live[];
  /** The sessions written: if the write fails, they keep what they hold (`Live.pinned`). */
  written: Live[];
  /** Sessions written for the first time (retention counts them). */
  firstWritten: number;
  /** Events and capture cost that quiet sessions let go (`releaseLive`). */
  releasedEvents: number;
  releasedCost: number;
}

/**
 * Takes what changed in `lives` since the last batch, marking them clean: all of it when the history
 * is kept (`historySessions` > 0), else only which sessions are done.
 */
export function takeBatch(lives: Iterable<Live>, historySessions: number): Batch {
  const batch: Batch = {
    sessions: [],
    events: [],
    wire: [],
    done: [],
    written: [],
    firstWritten: 0,
    releasedEvents: 0,
    releasedCost: 0,
  };
  /** Finished sessions not written before: retention may leave some of them out. */
  const fresh: Live[] = [];
  const write = (live: Live): void => {
    if (live.written === 0 && live.base === 0) batch.firstWritten++;
    batch.written.push(live);
    batch.sessions.push({ ...live.session });
    const n = live.kinds.length;
    for (let i = live.written; i < n; i++) batch.events.push(logged(live, i));
    live.written = n;
    const w = live.wire;
    const chunks = wireChunkCount(w);
    for (let i = w.written; i < chunks; i++) batch.wire.push({ sessionId: live.session.id, ...wireChunk(w, i) });
    w.written = chunks;
  };
  for (const live of lives) {
    if (!live.dirty) {
      // Quiet since the last batch: what the store has leaves memory, or else the spare room goes
      // (once, until it grows again).
      if (!live.compact && !live.closed) {
        if (historySessions > 0 && releasable(live)) {
          const released = releaseLive(live);
          batch.releasedEvents += released.events;
          batch.releasedCost += released.cost;
        } else compactLive(live);
      }
      continue;
    }
    live.dirty = false;
    live.compact = false;
    if (historySessions > 0) {
      if (live.closed && live.written === 0 && live.base === 0) fresh.push(live);
      else write(live);
    }
    if (live.closed) batch.done.push(live);
  }
  for (const live of keepNewest(fresh, historySessions)) write(live);
  return batch;
}
