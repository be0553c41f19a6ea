/**
 * The session recorder: trace bus → live sessions in memory → session history in the store, and the
 * live feeds the lab's SSE streams subscribe to.
 *
 * Invariants:
 * - It exists only while the `http` listener is on (the composition root creates it); subscribing
 *   to the bus turns on line tracing for every session (SessionTrace.active), so it costs something.
 * - The bus callback does no I/O and no formatting: it appends the event to its session's columns
 *   (kind, seq, time and text in four arrays; the rare events without a text are kept whole) and marks
 *   the session dirty. The bus's event object is not kept, so a line costs the garbage collector no
 *   object that outlives the line; events are rebuilt, and text, structured data and annotations
 *   derived, only when a batch is written or a session is read. Writes leave in batches every
 *   `flushMs` (one store transaction per batch, one chunk row per session in it), off the sessions'
 *   hot path.
 * - Retention is applied when writing, not only after: finished sessions of a batch beyond its newest
 *   `historySessions` are never written (the next prune would delete them). When sessions arrive
 *   faster than `historySessions` a second, batches stretch to `BUSY_FLUSH_MS`, so that most of them
 *   fall in that case; a busy server then writes `historySessions` sessions a second at most.
 *   The prune itself runs in the transaction of a batch, once half `historySessions` new sessions
 *   were written or every `PRUNE_EVERY_MS`.
 * - A session keeps at most `maxEvents` events (the close event always); beyond that only the
 *   summary changes. All live sessions together keep at most about `maxLiveEvents`: once that many are
 *   held, a session keeps only its first `EVENTS_ALWAYS_KEPT` (greeting, login) and its share of the
 *   total, so 2,000 long IDLE sessions told of every delivery cannot fill the memory. Engines keep transcripts small: a message sent with DATA shows its header and
 *   first body lines, then one note (src/smtp/commands/data.ts); literals and RETR show their size.
 * - A live session leaves memory once its close has been written (or at once with history off).
 * - Who may see a session: admins all; a mail user only those where they authenticated as themselves
 *   (an `auth` event with ok = true for their address).
 * - Secrets: the bus never carries them (engines redact). TLS key log lines never pass through here.
 */
import type { Logger } from '../log.js';
import type { TlsKeyLog } from '../net/keylog.js';
import type { JsonValue, LoggedEvent, LoggedSession, SessionFilter, Store } from '../store/types.js';
import type { TraceBus, TraceEvent } from '../trace/bus.js';
import type { SessionSummary } from './api-types.js';

/** Who asks: admins see every session, users only their own. */
export interface Viewer {
  role: 'admin' | 'user';
  name: string;
}

export interface RecorderOptions {
  bus: TraceBus;
  store: Store;
  log: Logger;
  keylog?: TlsKeyLog;
  /** Finished sessions kept in the store (web.history_sessions); 0 keeps none. */
  historySessions: number;
  /** Sessions older than this many days are deleted (web.history_days); 0: no age limit. */
  historyDays: number;
  /** Events kept per session (default 5000). */
  maxEvents?: number;
  /** Events kept by all live sessions together (default 1,000,000, about 40 MB). */
  maxLiveEvents?: number;
  /** Milliseconds between batched writes (default 250). */
  flushMs?: number;
}

/** Events of a session kept whatever the total held (see maxLiveEvents). */
const EVENTS_ALWAYS_KEPT = 100;

/** Kinds of events in `Live.kinds`: the text events are stored by column, the others whole. */
const IN = 0;
const OUT = 1;
const NOTE = 2;
const WHOLE = 3;
const TEXT_TYPES = ['in', 'out', 'note'] as const;

interface Live {
  session: LoggedSession;
  /**
   * The events as they came, by column: `kinds[i]` is IN, OUT, NOTE or WHOLE; `items[i]` is the text
   * of a text event and the event itself for any other. Arrays of small integers and numbers hold no
   * objects, so keeping thousands of lines for a batch costs the garbage collector one array of
   * strings instead of one object per line.
   */
  kinds: number[];
  seqs: number[];
  times: number[];
  items: (string | TraceEvent)[];
  /**
   * Index of the first event that travelled inside TLS (0 with implicit TLS; Infinity without TLS).
   * A session turns TLS on at most once, so one number replaces a flag per event; the `tls` event
   * itself is never encrypted.
   */
  encryptedFrom: number;
  /** Events of `events` already handed to the store. */
  written: number;
  dirty: boolean;
  closed: boolean;
}

function encryptedAt(live: Live, i: number): boolean {
  return i >= live.encryptedFrom && (live.kinds[i] !== WHOLE || (live.items[i] as TraceEvent).type !== 'tls');
}

/** The bus event at index `i` of a live session, rebuilt from its columns. */
function eventAt(live: Live, i: number): TraceEvent {
  const kind = live.kinds[i];
  // The kind says which of the two an item is.
  if (kind === WHOLE) return live.items[i] as TraceEvent;
  return {
    type: TEXT_TYPES[kind],
    sid: live.session.id,
    t: live.times[i],
    text: live.items[i] as string,
    seq: live.seqs[i],
  };
}

function eventsOf(live: Live): TraceEvent[] {
  const events: TraceEvent[] = new Array(live.kinds.length);
  for (let i = 0; i < events.length; i++) events[i] = eventAt(live, i);
  return events;
}

type OpenEvent = Extract<TraceEvent, { type: 'open' }>;

const DAY_MS = 86_400_000;
/** Retention runs at least this often after new sessions were written (also when fewer than half). */
const PRUNE_EVERY_MS = 10_000;
/** Time between batches while sessions arrive faster than `historySessions` a second. */
const BUSY_FLUSH_MS = 1000;
/** Lines up to this length are kept once however often they recur (see `SessionRecorder.#intern`). */
const INTERN_MAX_LENGTH = 160;
/** Distinct lines remembered for that; the table starts afresh when full. */
const INTERN_MAX_ENTRIES = 8192;

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

export function toSummary(s: LoggedSession, active: boolean): SessionSummary {
  return {
    id: s.id,
    proto: s.proto,
    listener: s.listener,
    localPort: s.localPort,
    remote: s.remoteAddress,
    remotePort: s.remotePort,
    user: s.user,
    tls: s.tls !== null,
    tlsInfo: s.tls,
    start: s.start,
    end: s.end,
    state: s.state,
    active,
    events: s.events,
    closeReason: s.closeReason,
    keyLogged: s.keyLogged,
  };
}

/** Whether `viewer` may see a session of `user` (null: nobody authenticated). */
export function maySee(viewer: Viewer, user: string | null): boolean {
  return viewer.role === 'admin' || (user !== null && user === viewer.name.toLowerCase());
}

export class SessionRecorder {
  readonly #opts: Required<Omit<RecorderOptions, 'keylog'>> & { keylog: TlsKeyLog | undefined };
  readonly #live = new Map<string, Live>();
  /** Events held by all sessions in #live. */
  #liveEvents = 0;
  readonly #summaryListeners = new Set<(s: SessionSummary) => void>();
  readonly #eventListeners = new Map<string, Set<(e: TraceEvent | null) => void>>();
  #unsubscribe: (() => void) | null = null;
  #unkeylog: (() => void) | null = null;
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;
  #lastPrune = 0;
  /** Sessions written for the first time since the last prune. */
  #newSince = 0;
  #lastFlush = Date.now();
  /** Sessions arrive faster than `historySessions` a second: batches are `BUSY_FLUSH_MS` apart. */
  #busy = false;
  /** One copy of each recurring short line (greetings, capability lists, `+OK`, `.`, `a1 LOGOUT`). */
  readonly #texts = new Map<string, string>();
  #stopped = false;

  constructor(opts: RecorderOptions) {
    this.#opts = { maxEvents: 5000, maxLiveEvents: 1_000_000, flushMs: 250, ...opts, keylog: opts.keylog };
  }

  get #keep(): boolean {
    return this.#opts.historySessions > 0;
  }

  /** Ends sessions a previous run left open, applies retention and starts listening to the bus. */
  async start(): Promise<void> {
    await this.#opts.store.sessionLog.finishOpen(Date.now(), 'server stopped');
    await this.#prune();
    this.#unsubscribe = this.#opts.bus.subscribe(this.#onEvent);
    if (this.#opts.keylog) this.#unkeylog = this.#opts.keylog.onAttach((sid) => this.#markKeyLogged(sid));
  }

  /** Stops listening and writes what is pending. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#unkeylog?.();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.flush();
  }

  /** Called for every bus event: memory only, no I/O. */
  #onEvent = (event: TraceEvent): void => {
    if (event.type === 'open') {
      this.#open(event);
      return;
    }
    let live = this.#live.get(event.sid);
    if (!live) {
      // A session that opened before the recorder started: adopt it from the bus's list of open ones.
      const opened = this.#opts.bus.open.get(event.sid);
      if (!opened) return;
      live = this.#open(opened);
    }
    this.#record(live, event);
  };

  #open(event: OpenEvent): Live {
    const session: LoggedSession = {
      id: event.sid,
      proto: event.proto,
      listener: event.listener,
      localAddress: event.local,
      localPort: event.localPort,
      remoteAddress: event.remote,
      remotePort: event.remotePort,
      user: null,
      // Implicit TLS: the details follow in the 'tls' event the connection reports first.
      tls: event.tls ? 'TLS' : null,
      start: event.t,
      end: null,
      state: 'connected',
      closeReason: null,
      events: 0,
      keyLogged: this.#opts.keylog?.has(event.sid) ?? false,
    };
    const live: Live = {
      session,
      kinds: [],
      seqs: [],
      times: [],
      items: [],
      encryptedFrom: event.tls ? 0 : Number.POSITIVE_INFINITY,
      written: 0,
      dirty: true,
      closed: false,
    };
    this.#live.set(event.sid, live);
    this.#append(live, event);
    this.#changed(live);
    return live;
  }

  #record(live: Live, event: Exclude<TraceEvent, OpenEvent>): void {
    const s = live.session;
    let summaryChanged = false;
    switch (event.type) {
      case 'tls':
        s.tls = `${event.protocol} ${event.cipher}`;
        summaryChanged = true;
        break;
      case 'auth':
        if (event.ok) {
          s.user = event.user.toLowerCase();
          summaryChanged = true;
        }
        break;
      case 'state':
        s.state = event.state;
        summaryChanged = true;
        break;
      case 'close':
        s.end = event.t;
        s.closeReason = event.reason;
        live.closed = true;
        summaryChanged = true;
        break;
      default:
        break;
    }
    this.#append(live, event);
    if (event.type === 'tls') live.encryptedFrom = Math.min(live.encryptedFrom, live.kinds.length);
    if (summaryChanged) {
      // Also beyond maxEvents, where #append keeps nothing: the stored summary must follow.
      live.dirty = true;
      this.#schedule();
      this.#changed(live);
    }
    if (live.closed) {
      const listeners = this.#eventListeners.get(s.id);
      if (listeners) for (const fn of listeners) safeCall(fn, null);
      this.#eventListeners.delete(s.id);
    }
  }

  /** The hot path: four pushes, no copies, no text; beyond maxEvents only a close still counts. */
  #append(live: Live, event: TraceEvent): void {
    const i = live.kinds.length;
    if (event.type !== 'close') {
      const { maxEvents, maxLiveEvents } = this.#opts;
      if (i >= maxEvents) return;
      if (i >= EVENTS_ALWAYS_KEPT && this.#liveEvents >= maxLiveEvents) {
        if (i >= Math.floor(maxLiveEvents / Math.max(1, this.#live.size))) return;
      }
    }
    this.#liveEvents++;
    switch (event.type) {
      case 'in':
        live.kinds.push(IN);
        live.items.push(this.#intern(event.text));
        break;
      case 'out':
        live.kinds.push(OUT);
        live.items.push(this.#intern(event.text));
        break;
      case 'note':
        live.kinds.push(NOTE);
        live.items.push(this.#intern(event.text));
        break;
      default:
        live.kinds.push(WHOLE);
        live.items.push(event);
    }
    live.seqs.push(event.type === 'open' ? 0 : event.seq);
    live.times.push(event.t);
    live.session.events = i + 1;
    if (this.#eventListeners.size > 0) {
      const listeners = this.#eventListeners.get(live.session.id);
      if (listeners) for (const fn of listeners) safeCall(fn, event);
    }
    live.dirty = true;
    if (!this.#timer) this.#schedule();
  }

  /**
   * The copy of `text` kept already, if the line was seen before. Engines make a new string for each
   * line, even one sent a thousand times a second; keeping that new string until the batch is written
   * would carry it into the old generation of the heap. With one copy per distinct line, the new one
   * dies young and only the column arrays outlive the line.
   */
  #intern(text: string): string {
    if (text.length > INTERN_MAX_LENGTH) return text;
    const known = this.#texts.get(text);
    if (known !== undefined) return known;
    if (this.#texts.size >= INTERN_MAX_ENTRIES) this.#texts.clear();
    this.#texts.set(text, text);
    return text;
  }

  #markKeyLogged(sid: string): void {
    const live = this.#live.get(sid);
    if (!live || live.session.keyLogged) return;
    live.session.keyLogged = true;
    live.dirty = true;
    this.#changed(live);
    this.#schedule();
  }

  #changed(live: Live): void {
    if (this.#summaryListeners.size === 0) return;
    const summary = toSummary(live.session, !live.closed);
    for (const fn of this.#summaryListeners) safeCall(fn, summary);
  }

  #schedule(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        void this.flush();
      },
      Math.max(this.#opts.flushMs, this.#busy ? BUSY_FLUSH_MS : 0),
    );
    this.#timer.unref();
  }

  /** Writes every pending change in one transaction (waits for a write in progress first). */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    const sessions: LoggedSession[] = [];
    const events: LoggedEvent[] = [];
    const done: Live[] = [];
    /** Finished sessions not written before: retention may leave some of them out. */
    const fresh: Live[] = [];
    const write = (live: Live): void => {
      if (live.written === 0) this.#newSince++;
      sessions.push({ ...live.session });
      const n = live.kinds.length;
      for (let i = live.written; i < n; i++) events.push(logged(live, i));
      live.written = n;
    };
    for (const live of this.#live.values()) {
      if (!live.dirty) continue;
      live.dirty = false;
      if (this.#keep) {
        if (live.closed && live.written === 0) fresh.push(live);
        else write(live);
      }
      if (live.closed) done.push(live);
    }
    const { historySessions } = this.#opts;
    if (fresh.length > historySessions) {
      // Newest first in the prune's order: the rest have historySessions newer ones in this batch alone.
      fresh.sort((a, b) => b.session.start - a.session.start || (b.session.id < a.session.id ? -1 : 1));
      fresh.length = historySessions;
    }
    for (const live of fresh) write(live);
    const now = Date.now();
    // Finished sessions per second against historySessions per second.
    this.#busy = this.#keep && done.length * BUSY_FLUSH_MS >= historySessions * (now - this.#lastFlush);
    this.#lastFlush = now;
    if (sessions.length === 0 && done.length === 0) return;
    this.#flushing = (async () => {
      // Both jobs are queued before either runs, so they share one transaction, the prune second.
      const appended = sessions.length ? this.#opts.store.sessionLog.append({ sessions, events }) : null;
      const pruned =
        this.#newSince > 0 && (this.#newSince * 2 >= historySessions || now - this.#lastPrune >= PRUNE_EVERY_MS)
          ? this.#prune()
          : null;
      try {
        await appended;
      } catch (err) {
        this.#opts.log.warn({ err, sessions: sessions.length }, 'could not write the session history');
      }
      for (const live of done) {
        if (!live.dirty && this.#live.delete(live.session.id)) this.#liveEvents -= live.kinds.length;
        this.#eventListeners.delete(live.session.id);
      }
      await pruned;
    })();
    try {
      await this.#flushing;
    } finally {
      this.#flushing = null;
    }
  }

  /** Applies retention (the caller decides when: at start, or when `flush` finds it due). */
  async #prune(): Promise<void> {
    const now = Date.now();
    this.#lastPrune = now;
    this.#newSince = 0;
    const { historySessions, historyDays } = this.#opts;
    try {
      await this.#opts.store.sessionLog.prune({
        keep: historySessions,
        ...(historyDays > 0 ? { startedBefore: now - historyDays * DAY_MS } : {}),
      });
    } catch (err) {
      this.#opts.log.warn({ err }, 'could not prune the session history');
    }
  }

  /** Sessions newest first, live and from the store, that `viewer` may see. */
  async list(viewer: Viewer, filter: SessionFilter & { active?: boolean } = {}): Promise<SessionSummary[]> {
    const limit = Math.max(1, Math.min(filter.limit ?? 200, 1000));
    const f: SessionFilter = { ...filter, limit };
    if (viewer.role !== 'admin') {
      if (f.user && f.user.toLowerCase() !== viewer.name.toLowerCase()) return [];
      f.user = viewer.name.toLowerCase();
    }
    const byId = new Map<string, SessionSummary>();
    for (const live of this.#live.values()) {
      if (matches(live.session, f)) byId.set(live.session.id, toSummary(live.session, !live.closed));
    }
    if (!filter.active && this.#keep) {
      for (const s of await this.#opts.store.sessionLog.list(f)) {
        if (!byId.has(s.id)) byId.set(s.id, toSummary(s, false));
      }
    }
    return [...byId.values()]
      .sort((a, b) => b.start - a.start || (b.id < a.id ? -1 : b.id > a.id ? 1 : 0))
      .slice(0, limit);
  }

  /**
   * One session with its events in order, or null when unknown; 'forbidden' when `viewer` may not
   * see it.
   */
  async get(
    viewer: Viewer,
    id: string,
  ): Promise<{ summary: SessionSummary; events: TraceEvent[]; encrypted: boolean[] } | null | 'forbidden'> {
    const live = this.#live.get(id);
    if (live) {
      if (!maySee(viewer, live.session.user)) return 'forbidden';
      return {
        summary: toSummary(live.session, !live.closed),
        events: eventsOf(live),
        encrypted: live.kinds.map((_, i) => encryptedAt(live, i)),
      };
    }
    const stored = await this.#opts.store.sessionLog.get(id);
    if (!stored) return null;
    if (!maySee(viewer, stored.user)) return 'forbidden';
    const logged = await this.#opts.store.sessionLog.events(id);
    return {
      summary: toSummary(stored, false),
      events: logged.map((e) => traceEventOf(e, stored)),
      encrypted: logged.map((e) => e.encrypted),
    };
  }

  /** Whether a session is live (still open, or closed and not yet written). */
  isLive(id: string): boolean {
    const live = this.#live.get(id);
    return live !== undefined && !live.closed;
  }

  /**
   * Calls `fn` with the summary of every session `viewer` may see each time one opens, changes
   * state/user/TLS or closes. Returns the unsubscribe function.
   */
  subscribeSessions(viewer: Viewer, fn: (s: SessionSummary) => void): () => void {
    const filtered = (s: SessionSummary) => {
      if (maySee(viewer, s.user)) fn(s);
    };
    this.#summaryListeners.add(filtered);
    return () => this.#summaryListeners.delete(filtered);
  }

  /**
   * Follows one live session: `fn` gets each new event, then `null` when it closes. Returns the events
   * so far (to replay first) and the unsubscribe function, or null when the session is not live.
   * Call `get` first to check that the viewer may see it.
   */
  follow(id: string, fn: (e: TraceEvent | null) => void): { events: TraceEvent[]; stop: () => void } | null {
    const live = this.#live.get(id);
    if (!live || live.closed) return null;
    let set = this.#eventListeners.get(id);
    if (!set) {
      set = new Set();
      this.#eventListeners.set(id, set);
    }
    set.add(fn);
    const listeners = set;
    return {
      events: eventsOf(live),
      stop: () => {
        listeners.delete(fn);
        if (listeners.size === 0 && this.#eventListeners.get(id) === listeners) this.#eventListeners.delete(id);
      },
    };
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
      encrypted: i >= live.encryptedFrom,
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

function matches(s: LoggedSession, f: SessionFilter): boolean {
  if (f.proto && s.proto !== f.proto) return false;
  if (f.user && s.user !== f.user.toLowerCase()) return false;
  if (f.remote && !s.remoteAddress.startsWith(f.remote)) return false;
  if (f.before !== undefined && s.start >= f.before) return false;
  return true;
}

function safeCall<T>(fn: (value: T) => void, value: T): void {
  try {
    fn(value);
  } catch {
    // A failing subscriber (a closed HTTP stream) must not break recording.
  }
}
