/**
 * The session recorder: trace bus → live sessions in memory (capture.ts) → session history in the
 * store (persistence.ts, within the limits of retention.ts), and the live feeds the lab's SSE streams
 * subscribe to, filtered by who may see what (access.ts). This file composes them; its public API is
 * what the lab routes and the composition root use.
 *
 * Invariants:
 * - It exists only while the `http` listener is on (the composition root creates it); subscribing
 *   to the bus turns on line tracing for every session (SessionTrace.active), so it costs something.
 * - The bus callback does no I/O and no formatting (capture.ts) and marks the session dirty. Writes
 *   leave in batches every `flushMs` (one store transaction per batch, the prune in the same one when
 *   due), off the sessions' hot path.
 * - Engines keep transcripts small: a message sent with DATA shows its header and first body lines,
 *   then one note (src/smtp/commands/data.ts); literals and RETR show their size. The bytes
 *   themselves come through the bus's wire channel and are kept apart, redacted and bounded
 *   (capture.ts: `captureBytes` per session, `maxLiveBytes` in all), for the pcap; a cut capture says
 *   so in a note event.
 * - A live session leaves memory once its close has been written (or at once with history off). One
 *   that stays open but quiet lets go of its events and bytes once the history has them (capture.ts,
 *   releaseLive), or else is shrunk to its exact size (compactLive), at the next batch. `get`, `follow`
 *   and `wire` read what it let go back from the store, before what it holds: the retention never
 *   prunes an open session (docs/web.md), so the store has all of it.
 * - A failing subscriber (a closed HTTP stream) never breaks recording. Batch subscribers (the
 *   exercises' checker) get each batch of the history synchronously as the flush takes it; they must
 *   not block (they queue their I/O).
 * - Secrets: the bus's events never carry them (engines redact); its wire bytes do, and are masked
 *   (lab/redact.ts) before anything is kept. The originals of the masked ranges are kept only with
 *   `capturePasswords` and only for bytes before TLS. TLS key log lines never pass through here.
 */
import type { Logger } from '../../log.js';
import type { TlsKeyLog } from '../../net/keylog.js';
import type { LoggedEvent, LoggedSession, LoggedWire, SessionFilter, Store } from '../../store/types.js';
import type { SessionTrace, TraceBus, TraceEvent } from '../../trace/bus.js';
import type { SessionSummary } from '../api-types.js';
import { CAPTURE_CUT_NOTE } from '../lab/pcap.js';
import type { Redacted } from '../lab/redact.js';
import { matches, maySee, newestFirst, ownershipOf, toSummary, type Viewer, viewerFilter } from './access.js';
import {
  encryptedAt,
  eventsOf,
  keepWire,
  keptEvents,
  type Live,
  mayKeep,
  type OpenEvent,
  openLive,
  pushEvent,
  TextInterner,
  updateSummary,
} from './capture.js';
import { takeBatch, traceEventOf, wireOf } from './persistence.js';
import { Retention } from './retention.js';

export { maySee, ownershipOf, toSummary, type Viewer } from './access.js';
export { eventText, traceEventOf } from './persistence.js';

/** What a write of the history carried: the sessions that changed, and their new events. */
export interface WrittenBatch {
  sessions: readonly LoggedSession[];
  events: readonly LoggedEvent[];
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
  /** Payload bytes kept per session for its pcap (lab.capture_bytes, default 1 MiB); 0 keeps none. */
  captureBytes?: number;
  /** Payload bytes kept by all live sessions together (default 64 MiB). */
  maxLiveBytes?: number;
  /** Keep the passwords of cleartext sessions for the pcap's unredacted form (lab.capture_passwords). */
  capturePasswords?: boolean;
}

export class SessionRecorder {
  readonly #opts: Required<Omit<RecorderOptions, 'keylog'>> & { keylog: TlsKeyLog | undefined };
  readonly #live = new Map<string, Live>();
  /** Events held by all sessions in #live. */
  #liveEvents = 0;
  /** What the wire bytes of all sessions in #live cost (capture.ts). */
  #liveBytes = 0;
  #unwire: (() => void) | null = null;
  readonly #summaryListeners = new Set<(s: SessionSummary) => void>();
  readonly #batchListeners = new Set<(batch: WrittenBatch) => void>();
  readonly #eventListeners = new Map<string, Set<(e: TraceEvent | null) => void>>();
  readonly #texts = new TextInterner();
  readonly #retention: Retention;
  #unsubscribe: (() => void) | null = null;
  #unkeylog: (() => void) | null = null;
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;
  #stopped = false;

  constructor(opts: RecorderOptions) {
    this.#opts = {
      maxEvents: 5000,
      maxLiveEvents: 1_000_000,
      flushMs: 250,
      captureBytes: 1 << 20,
      maxLiveBytes: 64 << 20,
      capturePasswords: false,
      ...opts,
      keylog: opts.keylog,
    };
    this.#retention = new Retention(this.#opts);
  }

  get #keep(): boolean {
    return this.#opts.historySessions > 0;
  }

  /** Ends sessions a previous run left open, applies retention and starts listening to the bus. */
  async start(): Promise<void> {
    try {
      await this.#opts.store.sessionLog.finishOpen(Date.now(), 'server stopped');
      await this.#retention.prune();
    } catch (err) {
      // A full disk at start must not keep the mail server down for the lab's history: the sessions left
      // open stay so until the next start, and the history is pruned at the next batch.
      this.#opts.log.warn({ err }, 'lab history: could not close the sessions left open at the last stop');
    }
    this.#unsubscribe = this.#opts.bus.subscribe(this.#onEvent);
    if (this.#opts.captureBytes > 0) this.#unwire = this.#opts.bus.subscribeWire(this.#onWire);
    if (this.#opts.keylog) this.#unkeylog = this.#opts.keylog.onAttach((sid) => this.#markKeyLogged(sid));
  }

  /** Stops listening and writes what is pending. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#unwire?.();
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

  /** Called for every chunk of bytes a session carried: redacts, keeps within the limits, no I/O. */
  #onWire = (trace: SessionTrace, dir: 'in' | 'out', bytes: Buffer, t: number): void => {
    let live = this.#live.get(trace.sid);
    if (!live) {
      const opened = this.#opts.bus.open.get(trace.sid);
      if (!opened) return;
      live = this.#open(opened);
    }
    if (live.closed || live.wire.cut) return;
    this.#keepBytes(live, dir, t, live.wire.redactor.feed(dir, bytes), trace);
  };

  #keepBytes(live: Live, dir: 'in' | 'out', t: number, r: Redacted, trace?: SessionTrace): void {
    if (r.bytes.length === 0) return;
    const w = live.wire;
    const o = this.#opts;
    let room = o.captureBytes - w.cost;
    let why = `lab.capture_bytes (${o.captureBytes} bytes per session)`;
    if (this.#liveBytes >= o.maxLiveBytes) {
      const share = Math.floor(o.maxLiveBytes / Math.max(1, this.#live.size)) - (w.cost - w.released);
      if (share < room) {
        room = share;
        why = 'the memory for live captures is full';
      }
    }
    this.#liveBytes += keepWire(
      w,
      dir,
      t,
      r,
      room,
      o.capturePasswords && live.encryptedFrom === Number.POSITIVE_INFINITY,
    );
    live.dirty = true;
    if (!this.#timer) this.#schedule();
    if (w.cut) {
      const note = `${CAPTURE_CUT_NOTE}${w.bytes} bytes: ${why}; the pcap ends here`;
      if (trace) trace.note(note);
    }
  }

  #open(event: OpenEvent): Live {
    const live = openLive(event, this.#opts.keylog?.has(event.sid) ?? false);
    this.#live.set(event.sid, live);
    this.#append(live, event);
    this.#changed(live);
    return live;
  }

  #record(live: Live, event: Exclude<TraceEvent, OpenEvent>): void {
    // A last client line without its end, held by the redactor, is kept before the close.
    if (event.type === 'close' && !live.wire.cut) this.#keepBytes(live, 'in', event.t, live.wire.redactor.end());
    const summaryChanged = updateSummary(live, event);
    this.#append(live, event);
    if (event.type === 'tls') live.encryptedFrom = Math.min(live.encryptedFrom, keptEvents(live));
    if (summaryChanged) {
      // Also beyond maxEvents, where #append keeps nothing: the stored summary must follow.
      live.dirty = true;
      this.#schedule();
      this.#changed(live);
    }
    if (live.closed) {
      const listeners = this.#eventListeners.get(live.session.id);
      if (listeners) for (const fn of listeners) safeCall(fn, null);
      this.#eventListeners.delete(live.session.id);
    }
  }

  /** Keeps the event when the limits allow (capture.ts) and tells the session's followers. */
  #append(live: Live, event: TraceEvent): void {
    const limits = {
      maxEvents: this.#opts.maxEvents,
      maxLiveEvents: this.#opts.maxLiveEvents,
      liveEvents: this.#liveEvents,
      liveSessions: this.#live.size,
    };
    if (!mayKeep(keptEvents(live), event, limits)) return;
    this.#liveEvents++;
    pushEvent(live, event, this.#texts);
    if (this.#eventListeners.size > 0) {
      const listeners = this.#eventListeners.get(live.session.id);
      if (listeners) for (const fn of listeners) safeCall(fn, event);
    }
    if (!this.#timer) this.#schedule();
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
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.flush();
    }, this.#retention.flushDelay(this.#opts.flushMs));
    this.#timer.unref();
  }

  /** Writes every pending change in one transaction, then prunes when due (waits for a write in progress first). */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    const batch = takeBatch(this.#live.values(), this.#retention.share());
    const { sessions, events, done } = batch;
    const now = Date.now();
    this.#retention.batchTaken(batch.firstWritten, this.#keep ? done.length : 0, now);
    this.#liveEvents -= batch.releasedEvents;
    this.#liveBytes -= batch.releasedCost;
    if (sessions.length === 0 && done.length === 0) return;
    if (sessions.length > 0) for (const fn of this.#batchListeners) safeCall(fn, { sessions, events });
    this.#flushing = (async () => {
      try {
        if (sessions.length) await this.#opts.store.sessionLog.append({ sessions, events, wire: batch.wire });
      } catch (err) {
        this.#opts.log.warn({ err, sessions: sessions.length }, 'could not write the session history');
        // The store may lack what this batch held: those sessions keep all of it in memory.
        for (const live of batch.written) live.pinned = true;
      }
      // The prune once the batch is written: a prune beside the write (PostgreSQL runs two writes side
      // by side, each in its own transaction) would not see the sessions the batch adds.
      const pruned = this.#retention.pruneDue(now) ? this.#retention.prune() : null;
      for (const live of done) {
        if (!live.dirty && this.#live.delete(live.session.id)) {
          this.#liveEvents -= live.kinds.length;
          this.#liveBytes -= live.wire.cost - live.wire.released;
        }
        this.#eventListeners.delete(live.session.id);
      }
      await pruned;
    })();
    try {
      await this.#flushing;
    } finally {
      this.#flushing = null;
    }
    // One more pass once they have been quiet for a while: takeBatch lets go of or compacts the
    // sessions that got nothing new (capture.ts), such as a client that has just gone into IDLE.
    if (sessions.length > 0) this.#schedule();
  }

  /** Sessions newest first, live and from the store, that `viewer` may see. */
  async list(viewer: Viewer, filter: SessionFilter & { active?: boolean } = {}): Promise<SessionSummary[]> {
    const f = viewerFilter(viewer, filter);
    if (!f) return [];
    const byId = new Map<string, SessionSummary>();
    for (const live of this.#live.values()) {
      if (matches(live.session, f)) byId.set(live.session.id, toSummary(live.session, !live.closed));
    }
    if (!filter.active && this.#keep) {
      for (const s of await this.#opts.store.sessionLog.list(f)) {
        if (!byId.has(s.id)) byId.set(s.id, toSummary(s, false));
      }
    }
    return [...byId.values()].sort(newestFirst).slice(0, f.limit);
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
      if (!maySee(viewer, ownershipOf(live.session))) return 'forbidden';
      // What it holds now, then what it let go before (events arriving meanwhile come after both).
      const summary = toSummary(live.session, !live.closed);
      const held = eventsOf(live);
      const encrypted = live.kinds.map((_, i) => encryptedAt(live, i));
      const released = await this.#released(live);
      if (released.length === 0) return { summary, events: held, encrypted };
      return {
        summary,
        events: [...released.map((e) => traceEventOf(e, live.session)), ...held],
        encrypted: [...released.map((e) => e.encrypted), ...encrypted],
      };
    }
    const stored = await this.#opts.store.sessionLog.get(id);
    if (!stored) return null;
    if (!maySee(viewer, ownershipOf(stored))) return 'forbidden';
    const logged = await this.#opts.store.sessionLog.events(id);
    return {
      summary: toSummary(stored, false),
      events: logged.map((e) => traceEventOf(e, stored)),
      encrypted: logged.map((e) => e.encrypted),
    };
  }

  /**
   * The bytes of a session for its pcap (empty for sessions recorded before captures were kept). Call
   * `get` first to check that the viewer may see it.
   */
  async wire(id: string): Promise<LoggedWire[]> {
    const live = this.#live.get(id);
    if (live) {
      const held = wireOf(live);
      const base = live.wire.base;
      if (base === 0) return held;
      // The store has the released chunks first, in order (then some of those held).
      const stored = await this.#opts.store.sessionLog.wire(id);
      return [...stored.slice(0, base), ...held];
    }
    return this.#keep ? await this.#opts.store.sessionLog.wire(id) : [];
  }

  /** The events a live session let go (capture.ts, releaseLive), from the store; [] when none. */
  async #released(live: Live): Promise<LoggedEvent[]> {
    if (live.base === 0) return [];
    const last = live.releasedSeq;
    const stored = await this.#opts.store.sessionLog.events(live.session.id);
    let n = 0;
    while (n < stored.length && stored[n].seq <= last) n++;
    return n === stored.length ? stored : stored.slice(0, n);
  }

  /** What the live sessions hold in memory: sessions, events and capture cost (capture.ts). */
  held(): { sessions: number; events: number; captureCost: number } {
    return { sessions: this.#live.size, events: this.#liveEvents, captureCost: this.#liveBytes };
  }

  /** Whether the recorder keeps the passwords of cleartext sessions (lab.capture_passwords). */
  get capturePasswords(): boolean {
    return this.#opts.capturePasswords;
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
      if (maySee(viewer, s)) fn(s);
    };
    this.#summaryListeners.add(filtered);
    return () => this.#summaryListeners.delete(filtered);
  }

  /**
   * Calls `fn` with every batch of the history as it is written: the summaries of the sessions that
   * changed and their new events, in seq order per session (the exercises' checker reads them,
   * src/web/exercises/). Nothing comes while the history is off (web.history_sessions = 0). `fn` must
   * not block: it runs in the flush. Returns the unsubscribe function.
   */
  subscribeBatches(fn: (batch: WrittenBatch) => void): () => void {
    this.#batchListeners.add(fn);
    return () => this.#batchListeners.delete(fn);
  }

  /**
   * Follows one live session: `fn` gets each new event, then `null` when it closes. Resolves to the
   * events so far (to replay first) and the unsubscribe function, or null when the session is not
   * live. `fn` may be called before it resolves (events that came while the events a quiet session let
   * go were read back): they come after the events so far. Call `get` first to check that the viewer
   * may see it.
   */
  async follow(
    id: string,
    fn: (e: TraceEvent | null) => void,
  ): Promise<{ events: TraceEvent[]; stop: () => void } | null> {
    const live = this.#live.get(id);
    if (!live || live.closed) return null;
    let set = this.#eventListeners.get(id);
    if (!set) {
      set = new Set();
      this.#eventListeners.set(id, set);
    }
    set.add(fn);
    const listeners = set;
    const stop = () => {
      listeners.delete(fn);
      if (listeners.size === 0 && this.#eventListeners.get(id) === listeners) this.#eventListeners.delete(id);
    };
    const held = eventsOf(live);
    try {
      const released = await this.#released(live);
      const events = released.length === 0 ? held : [...released.map((e) => traceEventOf(e, live.session)), ...held];
      return { events, stop };
    } catch (err) {
      stop();
      throw err;
    }
  }
}

function safeCall<T>(fn: (value: T) => void, value: T): void {
  try {
    fn(value);
  } catch {
    // A failing subscriber (a closed HTTP stream) must not break recording.
  }
}
