/**
 * A small raw-socket POP3 client for the engine's tests: it sends exactly the bytes it is given and
 * reads status lines, multi-line responses and message bodies (as Buffers, to compare bytes exactly).
 * Every wait has a timeout so a broken server fails a test instead of hanging it.
 */
import net from 'node:net';
import tls from 'node:tls';

const CRLF_DOT_CRLF = Buffer.from('\r\n.\r\n');
const DOT_CRLF = Buffer.from('.\r\n');

export class Pop3TestClient {
  socket: net.Socket;
  /** The greeting line, read by `connect`. */
  greeting = '';
  #buf: Buffer = Buffer.alloc(0);
  #closed = false;
  #wake: (() => void) | null = null;
  readonly timeoutMs: number;

  private constructor(socket: net.Socket, timeoutMs: number) {
    this.socket = socket;
    this.timeoutMs = timeoutMs;
    this.#listen(socket);
  }

  /** Connects (with `tls`, implicit TLS as on port 995) and reads the greeting. */
  static async connect(
    port: number,
    opts: { host?: string; timeoutMs?: number; tls?: boolean } = {},
  ): Promise<Pop3TestClient> {
    const host = opts.host ?? '127.0.0.1';
    const socket = opts.tls
      ? tls.connect({ port, host, rejectUnauthorized: false, servername: 'localhost' })
      : net.connect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', resolve);
      socket.once('error', reject);
    });
    const client = new Pop3TestClient(socket, opts.timeoutMs ?? 5000);
    client.greeting = await client.readLine();
    return client;
  }

  #listen(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
      this.#notify();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#notify();
    });
    socket.on('error', () => {});
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** True once the server closed the connection (or it was destroyed). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes received and not read yet. */
  get pending(): Buffer {
    return this.#buf;
  }

  async #wait(what: string): Promise<void> {
    if (this.#closed)
      throw new Error(
        `connection closed while waiting for ${what}; unread: ${JSON.stringify(this.#buf.toString('latin1'))}`,
      );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => {
        this.#wake = resolve;
      }),
      new Promise<void>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`timed out waiting for ${what}; unread: ${JSON.stringify(this.#buf.toString('latin1'))}`)),
          this.timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** Sends raw text or bytes, as given. */
  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends a line with CRLF. */
  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  /** The next line, without its CRLF. */
  async readLine(): Promise<string> {
    for (;;) {
      const lf = this.#buf.indexOf(0x0a);
      if (lf >= 0) {
        const end = lf > 0 && this.#buf[lf - 1] === 0x0d ? lf - 1 : lf;
        const line = this.#buf.toString('utf8', 0, end);
        this.#buf = this.#buf.subarray(lf + 1);
        return line;
      }
      await this.#wait('a line');
    }
  }

  /** The lines of a multi-line response up to the `.` line, un-stuffed. */
  async readLines(): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.readLine();
      if (line === '.') return lines;
      lines.push(line.startsWith('..') ? line.slice(1) : line);
    }
  }

  /** The raw bytes of a multi-line body as sent (still dot-stuffed), without the final `.` line. */
  async readRawBody(): Promise<Buffer> {
    for (;;) {
      if (this.#buf.subarray(0, 3).equals(DOT_CRLF)) {
        this.#buf = this.#buf.subarray(3);
        return Buffer.alloc(0);
      }
      const end = this.#buf.indexOf(CRLF_DOT_CRLF);
      if (end >= 0) {
        const body = Buffer.from(this.#buf.subarray(0, end + 2));
        this.#buf = this.#buf.subarray(end + CRLF_DOT_CRLF.length);
        return body;
      }
      await this.#wait('the end of a multi-line body');
    }
  }

  /** Sends a command and returns its status line. */
  async command(line: string): Promise<string> {
    this.send(line);
    return this.readLine();
  }

  /** Sends a command; when it succeeds, also reads its multi-line body as lines. */
  async multi(line: string): Promise<{ status: string; lines: string[] }> {
    const status = await this.command(line);
    return { status, lines: status.startsWith('+OK') ? await this.readLines() : [] };
  }

  /** RETR or TOP: the status line and the body's bytes exactly as sent (still stuffed). */
  async body(line: string): Promise<{ status: string; raw: Buffer }> {
    const status = await this.command(line);
    return { status, raw: status.startsWith('+OK') ? await this.readRawBody() : Buffer.alloc(0) };
  }

  /** USER + PASS; returns the reply to PASS. */
  async login(user: string, password: string): Promise<string> {
    const reply = await this.command(`USER ${user}`);
    if (!reply.startsWith('+OK')) return reply;
    return this.command(`PASS ${password}`);
  }

  /** After `+OK` to STLS: the TLS handshake over the same socket. */
  async startTls(): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = tls.connect({ socket: plain, rejectUnauthorized: false, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.#buf = Buffer.alloc(0);
    this.#listen(secure);
  }

  /** Waits until the server closes the connection. */
  async waitClosed(): Promise<void> {
    while (!this.#closed) await this.#wait('the server to close the connection');
  }

  /** Drops the connection without QUIT (as a crashed client would). */
  destroy(): void {
    this.socket.destroy();
  }
}

/** Removes POP3 dot-stuffing from a body as sent (RFC 1939 §3). */
export function unstuff(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  while (pos < raw.length) {
    const lf = raw.indexOf(0x0a, pos);
    const next = lf < 0 ? raw.length : lf + 1;
    parts.push(raw[pos] === 0x2e ? raw.subarray(pos + 1, next) : raw.subarray(pos, next));
    pos = next;
  }
  return Buffer.concat(parts);
}

/** Dot-stuffs a message as a POP3 server must (for expected values). */
export function stuff(raw: Buffer): Buffer {
  return Buffer.from(raw.toString('latin1').replace(/(^|\n)\./g, '$1..'), 'latin1');
}
