/**
 * The trace bus: every protocol session reports what crosses the wire, line by line, with timestamps,
 * TLS upgrades, authentication and state changes. Subscribers (the log, `postbode trace`, the web lab)
 * receive events; with no subscriber, producing an event costs one boolean check.
 *
 * Invariants:
 * - Secrets never enter the bus's events: engines pass already-redacted text for client lines that
 *   carry credentials (AUTH arguments and continuations, PASS, APOP digests, LOGIN).
 * - The wire channel is apart from the events: `wire` listeners get every payload byte a connection
 *   carried (after TLS decryption and COMPRESS inflation), credentials included, and only while one is
 *   subscribed. Its one subscriber, the lab recorder, masks credentials before it keeps anything
 *   (src/web/lab/redact.ts); the log and `postbode trace` never see these bytes.
 * - Events of one session arrive in order; `seq` numbers them per session.
 */

export type Protocol = 'smtp' | 'pop3' | 'imap' | 'managesieve';

export type TraceEvent =
  | {
      type: 'open';
      sid: string;
      t: number;
      proto: Protocol;
      listener: string;
      remote: string;
      remotePort: number;
      local: string;
      localPort: number;
      tls: boolean;
    }
  | { type: 'in'; sid: string; t: number; text: string; seq: number }
  | { type: 'out'; sid: string; t: number; text: string; seq: number }
  | { type: 'tls'; sid: string; t: number; protocol: string; cipher: string; seq: number }
  | { type: 'auth'; sid: string; t: number; user: string; ok: boolean; mechanism: string; seq: number }
  | { type: 'state'; sid: string; t: number; state: string; seq: number }
  | { type: 'note'; sid: string; t: number; text: string; seq: number }
  | { type: 'close'; sid: string; t: number; reason: string; seq: number };

export type TraceListener = (event: TraceEvent) => void;

/**
 * Payload bytes of a session as they crossed the wire: `in` when received, `out` when written. The
 * buffer is the connection's own (do not change it; copy what you keep). `trace` lets the listener
 * add a note to the session's events.
 */
export type WireListener = (trace: SessionTrace, dir: 'in' | 'out', bytes: Buffer, t: number) => void;

export class TraceBus {
  /** Replaced on (un)subscribe, never changed in place: `emit` loops over it by index, no iterator. */
  #listeners: readonly TraceListener[] = [];
  /** Sessions currently open, with their opening event, for subscribers that join late. */
  readonly open = new Map<string, Extract<TraceEvent, { type: 'open' }>>();

  #wireListeners: readonly WireListener[] = [];

  get active(): boolean {
    return this.#listeners.length > 0;
  }

  /** Whether someone takes the wire bytes (see the header): connections copy nothing otherwise. */
  get wireActive(): boolean {
    return this.#wireListeners.length > 0;
  }

  subscribeWire(listener: WireListener): () => void {
    if (!this.#wireListeners.includes(listener)) this.#wireListeners = [...this.#wireListeners, listener];
    return () => {
      this.#wireListeners = this.#wireListeners.filter((l) => l !== listener);
    };
  }

  emitWire(trace: SessionTrace, dir: 'in' | 'out', bytes: Buffer): void {
    const listeners = this.#wireListeners;
    const t = Date.now();
    for (let i = 0; i < listeners.length; i++) {
      try {
        listeners[i](trace, dir, bytes, t);
      } catch {
        // A failing subscriber must not break a session.
      }
    }
  }

  subscribe(listener: TraceListener): () => void {
    if (!this.#listeners.includes(listener)) this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  emit(event: TraceEvent): void {
    if (event.type === 'open') this.open.set(event.sid, event);
    else if (event.type === 'close') this.open.delete(event.sid);
    const listeners = this.#listeners;
    for (let i = 0; i < listeners.length; i++) {
      try {
        listeners[i](event);
      } catch {
        // A failing subscriber must not break a session.
      }
    }
  }
}

/** One session's handle on the bus. */
export class SessionTrace {
  #seq = 0;
  constructor(
    readonly bus: TraceBus,
    readonly sid: string,
  ) {}

  get active(): boolean {
    return this.bus.active;
  }

  get wireActive(): boolean {
    return this.bus.wireActive;
  }

  /** Payload bytes as they crossed the wire (see TraceBus's header); a no-op with no wire listener. */
  wire(dir: 'in' | 'out', bytes: Buffer): void {
    if (this.bus.wireActive && bytes.length > 0) this.bus.emitWire(this, dir, bytes);
  }

  // Each method builds its event as one object literal with its fields in the order of its type:
  // no spread, no intermediate payload object, and events of one type share one shape, which keeps
  // the bus and its subscribers monomorphic on the per-line path.

  /** A line from the client, already redacted by the engine. */
  in(text: string): void {
    if (this.bus.active) this.bus.emit({ type: 'in', sid: this.sid, t: Date.now(), text, seq: ++this.#seq });
  }

  out(text: string): void {
    if (this.bus.active) this.bus.emit({ type: 'out', sid: this.sid, t: Date.now(), text, seq: ++this.#seq });
  }

  tls(protocol: string, cipher: string): void {
    this.bus.emit({ type: 'tls', sid: this.sid, t: Date.now(), protocol, cipher, seq: ++this.#seq });
  }

  auth(user: string, ok: boolean, mechanism: string): void {
    this.bus.emit({ type: 'auth', sid: this.sid, t: Date.now(), user, ok, mechanism, seq: ++this.#seq });
  }

  state(state: string): void {
    this.bus.emit({ type: 'state', sid: this.sid, t: Date.now(), state, seq: ++this.#seq });
  }

  note(text: string): void {
    if (this.bus.active) this.bus.emit({ type: 'note', sid: this.sid, t: Date.now(), text, seq: ++this.#seq });
  }

  close(reason: string): void {
    this.bus.emit({ type: 'close', sid: this.sid, t: Date.now(), reason, seq: ++this.#seq });
  }
}
