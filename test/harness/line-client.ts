/**
 * A minimal line-oriented test client for SMTP and POP3 over TCP or TLS: send raw bytes or lines,
 * read replies (SMTP multi-line replies are joined), with a timeout on every wait.
 */
import net from 'node:net';
import tls from 'node:tls';

export class LineClient {
  #buf = '';
  #waiters: (() => void)[] = [];
  #closed = false;
  socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.#listen(socket);
  }

  #listen(socket: net.Socket): void {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.#buf += d;
      this.#wake();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** `localAddress`: the client's own address, e.g. 127.0.0.2 to play another machine over loopback. */
  static async connect(
    port: number,
    opts: { tls?: boolean; host?: string; localAddress?: string } = {},
  ): Promise<LineClient> {
    const host = opts.host ?? '127.0.0.1';
    const local = opts.localAddress ? { localAddress: opts.localAddress } : {};
    const socket = opts.tls
      ? tls.connect({ port, host, rejectUnauthorized: false, ...local })
      : net.connect({ port, host, ...local });
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new LineClient(socket);
  }

  get closed(): boolean {
    return this.#closed;
  }

  async #wait(ms: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timeout; buffered: ${JSON.stringify(this.#buf)}`)), ms);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** One line, without CRLF. */
  async line(ms = 5000): Promise<string> {
    for (;;) {
      const nl = this.#buf.indexOf('\n');
      if (nl >= 0) {
        const line = this.#buf.slice(0, nl).replace(/\r$/, '');
        this.#buf = this.#buf.slice(nl + 1);
        return line;
      }
      if (this.#closed) throw new Error(`connection closed; buffered: ${JSON.stringify(this.#buf)}`);
      await this.#wait(ms);
    }
  }

  /** A whole SMTP reply (all `code-` lines up to `code `), joined with newlines. */
  async reply(ms = 5000): Promise<string> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.line(ms);
      lines.push(line);
      if (!/^\d{3}-/.test(line)) return lines.join('\n');
    }
  }

  /** POP3 multi-line response body up to the "." line (still byte-stuffed), without the final ".". */
  async multiline(ms = 5000): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.line(ms);
      if (line === '.') return lines;
      lines.push(line);
    }
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  async cmd(line: string): Promise<string> {
    this.send(line);
    return this.reply();
  }

  /** Waits for the server to close the connection. */
  async closedByServer(ms = 5000): Promise<void> {
    while (!this.#closed) await this.#wait(ms);
  }

  async upgradeTls(): Promise<void> {
    const secure = tls.connect({ socket: this.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket.removeAllListeners('data');
    this.socket = secure;
    this.#buf = '';
    this.#listen(secure);
  }

  close(): void {
    this.socket.destroy();
  }
}
