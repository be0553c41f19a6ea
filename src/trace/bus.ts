/**
 * The trace bus: every protocol session reports what crosses the wire, line by line, with timestamps,
 * TLS upgrades, authentication and state changes. Subscribers (the log, `postbode trace`, the web lab)
 * receive events; with no subscriber, producing an event costs one boolean check.
 *
 * Invariants:
 * - Secrets never enter the bus: engines pass already-redacted text for client lines that carry
 *   credentials (AUTH arguments and continuations, PASS, APOP digests, LOGIN).
 * - Events of one session arrive in order; `seq` numbers them per session.
 */

export type Protocol = 'smtp' | 'pop3' | 'imap';

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

export class TraceBus {
  /** Replaced on (un)subscribe, never changed in place: `emit` loops over it by index, no iterator. */
  #listeners: readonly TraceListener[] = [];
  /** Sessions currently open, with their opening event, for subscribers that join late. */
  readonly open = new Map<string, Extract<TraceEvent, { type: 'open' }>>();

  get active(): boolean {
    return this.#listeners.length > 0;
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
