/**
 * A minimal line-oriented TCP client for the benchmark: buffered reads of CRLF lines and of
 * dot-terminated multi-line blocks, plain writes. Deliberately small, so that the load generator
 * spends as little CPU as possible per command and the figures measure the server.
 *
 * Input is kept as a latin1 string (one char per byte: sizes stay exact and no UTF-8 decoding is paid).
 */
import net from 'node:net';

/** The message of an error, or the thrown value as text. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class ConnClosedError extends Error {
  override name = 'ConnClosedError';
}

export class LineConn {
  readonly socket: net.Socket;
  #buf = '';
  #pos = 0;
  #closed = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#buf =
        this.#pos === this.#buf.length
          ? chunk.toString('latin1')
          : this.#buf.slice(this.#pos) + chunk.toString('latin1');
      this.#pos = 0;
      this.#notify();
    });
    socket.on('error', (err) => {
      this.#error ??= err;
      this.#notify();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#notify();
    });
  }

  /** Connects, failing after `timeoutMs`. */
  static connect(host: string, port: number, timeoutMs = 10_000): Promise<LineConn> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        resolve(new LineConn(socket));
      });
      const onError = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once('error', onError);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #more(): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#closed) return Promise.reject(new ConnClosedError('connection closed by the server'));
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  /** The next line, without its CRLF. */
  async readLine(): Promise<string> {
    let from = this.#pos;
    for (;;) {
      const i = this.#buf.indexOf('\r\n', from);
      if (i >= 0) {
        const line = this.#buf.slice(this.#pos, i);
        this.#pos = i + 2;
        return line;
      }
      const unread = this.#buf.length - this.#pos;
      await this.#more();
      // The buffer is compacted when data arrives: the unread part now starts at 0 and held no CRLF.
      from = Math.max(0, unread - 1);
    }
  }

  /**
   * A dot-terminated block (POP3 multi-line response body, after its status line): returns the
   * number of bytes up to and excluding the terminating `.CRLF` line. Dot-unstuffing is not done.
   */
  async readDotBlock(): Promise<number> {
    let from = this.#pos;
    for (;;) {
      if (this.#buf.length - this.#pos >= 3 && this.#buf.startsWith('.\r\n', this.#pos)) {
        this.#pos += 3;
        return 0;
      }
      const i = this.#buf.indexOf('\r\n.\r\n', from);
      if (i >= 0) {
        const size = i + 2 - this.#pos;
        this.#pos = i + 5;
        return size;
      }
      const unread = this.#buf.length - this.#pos;
      await this.#more();
      from = Math.max(0, unread - 4);
    }
  }

  /**
   * Exactly `n` bytes (an IMAP literal). With `keep` false they are consumed without building a
   * string, which keeps the load generator cheap for large FETCH responses; '' is returned then.
   */
  async readBytes(n: number, keep = true): Promise<string> {
    let parts: string[] | null = keep ? [] : null;
    let left = n;
    for (;;) {
      const avail = this.#buf.length - this.#pos;
      const take = Math.min(avail, left);
      if (take > 0) {
        parts?.push(this.#buf.slice(this.#pos, this.#pos + take));
        this.#pos += take;
        left -= take;
      }
      if (left === 0) {
        const out = parts ? parts.join('') : '';
        parts = null;
        return out;
      }
      await this.#more();
    }
  }

  /** Whether unread input is waiting (a server that answered before it was asked). */
  get pending(): number {
    return this.#buf.length - this.#pos;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Closes gently (FIN) and resolves when the socket is closed, or destroys it after `timeoutMs`. */
  close(timeoutMs = 2000): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.end();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface TimedSessionOptions {
  /** One loop per entry, all at once. */
  users: readonly string[];
  seconds: number;
  /** Watchdog: after this, every open client is destroyed and the loops end. */
  timeoutMs: number;
  onStart?: () => void;
}

/**
 * Runs `session` back to back for each user until `seconds` have passed. A session hands each client
 * it opens to `track`, so that the watchdog can destroy it and a failed session's client is destroyed;
 * failures go to `errors` (a loop stops after 50 of them in all). Resolves with the seconds it ran.
 */
export async function timedSessions<C extends { conn: { destroy(): void } }>(
  opts: TimedSessionOptions,
  errors: string[],
  session: (user: string, track: (client: C) => C) => Promise<void>,
): Promise<number> {
  const live = new Set<C>();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    for (const c of live) c.conn.destroy();
  }, opts.timeoutMs);
  opts.onStart?.();
  const t0 = performance.now();
  const until = t0 + opts.seconds * 1000;
  await Promise.all(
    opts.users.map(async (user) => {
      while (performance.now() < until && !timedOut) {
        const opened: C[] = [];
        try {
          await session(user, (client) => {
            opened.push(client);
            live.add(client);
            return client;
          });
        } catch (err) {
          errors.push(`${user}: ${errorText(err)}`);
          for (const c of opened) c.conn.destroy();
          if (errors.length > 50) break;
        } finally {
          for (const c of opened) live.delete(c);
        }
      }
    }),
  );
  clearTimeout(timer);
  return (performance.now() - t0) / 1000;
}
