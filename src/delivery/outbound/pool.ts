/**
 * Outbound connection reuse: SMTP sessions to one destination (host:port) are kept open between
 * transactions and handed to the next message for the same destination.
 *
 * Invariants:
 * - At most `limit` sessions to one destination are open at a time, busy and idle together: a
 *   transaction takes an idle session before it opens a new one, and a session only turns idle when
 *   its transaction ends.
 * - A transaction that ended early (a refused recipient, an error) is followed by RSET (RFC 5321
 *   §4.1.1.5) before the session is parked; a completed DATA needs none (§4.1.1.4). A session that
 *   fails RSET, broke, or carried `maxMessagesPerConnection` transactions is closed with QUIT.
 * - An idle session is closed after `idleMs` (servers drop idle clients anyway: RFC 5321 §4.5.3.2.7
 *   gives them 5 minutes). A session the peer closed while idle is forgotten at once.
 * - A reused session that turns out dead before any recipient was answered is replaced once by a fresh
 *   connection (the peer may close an idle connection just as we start).
 * - Sessions with different TLS demands (MTA-STS verified TLS, relay AUTH) are never shared.
 * - A transaction's `settle` (the caller's record of its outcome) runs before its session is parked or
 *   its slot freed: the next message on that session (or slot) starts only after the previous one's
 *   outcome is recorded, so at most `limit` messages per destination are accepted by the peer and not
 *   yet recorded (what a crash can make the queue send again).
 */
import {
  type ClientOptions,
  connectionFailed,
  type HostDeliveryResult,
  SmtpSession,
  type Transaction,
} from './client.js';
import type { RouteHost } from './routes.js';

export interface PoolOptions {
  client: ClientOptions;
  /** Open sessions per destination host:port (busy + idle). */
  limit: number;
  /** Transactions per connection before it is closed (default 100). */
  maxMessagesPerConnection?: number;
  /** How long an idle session is kept (default 5 s). */
  idleMs?: number;
}

/** A counting semaphore per key. */
export class KeyedLimit {
  readonly #active = new Map<string, number>();
  readonly #waiting = new Map<string, (() => void)[]>();

  constructor(private readonly limit: number) {}

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if ((this.#active.get(key) ?? 0) >= this.limit) {
      await new Promise<void>((resolve) => {
        const q = this.#waiting.get(key) ?? [];
        q.push(resolve);
        this.#waiting.set(key, q);
      });
    } else {
      this.#active.set(key, (this.#active.get(key) ?? 0) + 1);
    }
    try {
      return await fn();
    } finally {
      const next = this.#waiting.get(key)?.shift();
      if (next) {
        next(); // hands the slot over
      } else {
        const n = (this.#active.get(key) ?? 1) - 1;
        if (n <= 0) this.#active.delete(key);
        else this.#active.set(key, n);
        this.#waiting.delete(key);
      }
    }
  }
}

interface Idle {
  session: SmtpSession;
  key: string;
  timer: NodeJS.Timeout;
}

export class SessionPool {
  readonly #opts: PoolOptions;
  readonly #limit: KeyedLimit;
  /** Idle sessions per destination host:port. */
  readonly #idle = new Map<string, Idle[]>();
  /** Connections opened so far (tests and logs). */
  opened = 0;

  constructor(opts: PoolOptions) {
    this.#opts = opts;
    this.#limit = new KeyedLimit(Math.max(1, opts.limit));
  }

  /**
   * Runs one transaction on a pooled session to `host`; never throws for SMTP or network failures.
   * `settle` runs with the result while the session and its slot are still held (see the header); an
   * error of `settle` is thrown after the session went back.
   */
  deliver(
    host: RouteHost,
    tx: Transaction,
    settle?: (result: HostDeliveryResult) => Promise<void>,
  ): Promise<HostDeliveryResult> {
    const destination = `${host.host}:${host.port}`;
    const key = `${destination}|${host.verifiedTls ? 'verified' : 'opportunistic'}|${host.relay?.auth?.user ?? ''}`;
    return this.#limit.run(destination, async () => {
      let session = this.#takeIdle(destination, key);
      let reused = session !== null;
      for (;;) {
        if (!session) {
          const opened = await SmtpSession.open(host, this.#opts.client);
          this.opened++;
          if (!opened.ok) {
            const failed = connectionFailed(tx, opened.error);
            await settle?.(failed);
            return failed;
          }
          session = opened.session;
        }
        const result = await session.send(tx);
        if (reused && result.hostFailed && !session.alive) {
          // The idle connection was gone: once more on a new one.
          await session.close();
          session = null;
          reused = false;
          continue;
        }
        // After a completed DATA the peer is ready for the next MAIL (RFC 5321 §4.1.1.4); only a
        // transaction that ended early needs an RSET.
        const clean = result.error === null && result.recipients.every((r) => r.state === 'delivered');
        try {
          await settle?.(result);
        } finally {
          await this.#release(destination, key, session, !clean);
        }
        return result;
      }
    });
  }

  /** Closes every idle session (the worker stops). Busy ones close when their transaction ends. */
  close(): void {
    for (const list of this.#idle.values()) {
      for (const idle of list) {
        clearTimeout(idle.timer);
        void idle.session.close();
      }
    }
    this.#idle.clear();
  }

  /** Idle sessions (tests). */
  get idleCount(): number {
    let n = 0;
    for (const list of this.#idle.values()) n += list.length;
    return n;
  }

  #takeIdle(destination: string, key: string): SmtpSession | null {
    const list = this.#idle.get(destination) ?? [];
    let found: SmtpSession | null = null;
    for (const idle of [...list]) {
      if (found === null && idle.key === key && idle.session.alive) {
        found = idle.session;
      } else if (idle.key !== key || !idle.session.alive) {
        // A session we cannot use would count against the destination's limit: close it.
        void idle.session.close();
      } else {
        continue;
      }
      idle.session.onGone = null;
      clearTimeout(idle.timer);
      list.splice(list.indexOf(idle), 1);
    }
    if (list.length === 0) this.#idle.delete(destination);
    return found;
  }

  async #release(destination: string, key: string, session: SmtpSession, needsReset: boolean): Promise<void> {
    const max = this.#opts.maxMessagesPerConnection ?? 100;
    if (!session.alive || session.transactions >= max || (needsReset && !(await session.reset()))) {
      // Waits for the connection to go, so that it no longer counts against the limit.
      await session.close();
      return;
    }
    const idle: Idle = {
      session,
      key,
      timer: setTimeout(() => this.#drop(destination, idle), this.#opts.idleMs ?? 5_000),
    };
    idle.timer.unref();
    const list = this.#idle.get(destination) ?? [];
    list.push(idle);
    this.#idle.set(destination, list);
    session.onGone = () => this.#drop(destination, idle);
  }

  #drop(destination: string, idle: Idle): void {
    clearTimeout(idle.timer);
    const list = this.#idle.get(destination);
    const i = list?.indexOf(idle) ?? -1;
    if (!list || i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.#idle.delete(destination);
    void idle.session.close();
  }
}
