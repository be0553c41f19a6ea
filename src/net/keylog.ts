/**
 * Opt-in TLS key logging for the web lab: with it on, every TLS session started afterwards (implicit
 * TLS and STARTTLS) keeps the lines Node's `keylog` event gives, in the NSS key log format
 * (`CLIENT_HANDSHAKE_TRAFFIC_SECRET <client random> <secret>`, ...), so Wireshark can decrypt a real
 * capture of that session.
 *
 * Invariants:
 * - Off by default; only an admin turns it on (web API). Turning it off keeps what was logged so far.
 * - Anyone holding a session's lines can decrypt that session: they stay in memory only (never in
 *   the store or the log), for the newest `maxSessions` sessions, and are served to admins only.
 * - A session is marked key-logged as soon as the hook is attached, before its handshake.
 */
import type tls from 'node:tls';

/** The transcript note of a key-logged session. */
export const KEYLOG_NOTE = "TLS key log on: this session's traffic keys are kept, so its secrecy is weakened";

export class TlsKeyLog {
  #enabled = false;
  readonly #sessions = new Map<string, string[]>();
  readonly #maxSessions: number;
  readonly #listeners = new Set<(sid: string) => void>();

  constructor(opts: { maxSessions?: number } = {}) {
    this.#maxSessions = opts.maxSessions ?? 1000;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  set enabled(on: boolean) {
    this.#enabled = on;
  }

  /**
   * Hooks a server-side TLS socket of session `sid` before its handshake; does nothing when key logging
   * is off. Returns whether the session is now key-logged.
   */
  attach(socket: tls.TLSSocket, sid: string): boolean {
    if (!this.#enabled) return false;
    let lines = this.#sessions.get(sid);
    if (!lines) {
      lines = [];
      this.#sessions.set(sid, lines);
      while (this.#sessions.size > this.#maxSessions) {
        const oldest = this.#sessions.keys().next().value;
        if (oldest === undefined) break;
        this.#sessions.delete(oldest);
      }
    }
    const kept = lines;
    socket.on('keylog', (line: Buffer) => {
      // Node gives one NSS key log line per event, with its trailing newline.
      kept.push(line.toString('latin1').trimEnd());
    });
    for (const listener of this.#listeners) listener(sid);
    return true;
  }

  /** Whether key logging was on for this session. */
  has(sid: string): boolean {
    return this.#sessions.has(sid);
  }

  /** The session's key log lines (NSS key log format), or null when it was not key-logged. */
  lines(sid: string): string[] | null {
    const lines = this.#sessions.get(sid);
    return lines ? [...lines] : null;
  }

  /** Calls `listener` with the session id each time a session becomes key-logged. */
  onAttach(listener: (sid: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
