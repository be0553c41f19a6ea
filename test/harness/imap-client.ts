/**
 * A minimal IMAP test client over TCP or TLS for black-box tests: reads whole responses (a line plus
 * any `{n}` literals it announces, inlined), sends tagged commands and collects their untagged
 * responses, and waits for unsolicited responses (IDLE) with a timeout on every wait.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface TaggedResult {
  tag: string;
  /** Untagged (`* ...`) and continuation (`+ ...`) responses before the tagged one, literals inlined. */
  untagged: string[];
  /** The tagged response line. */
  tagged: string;
  status: 'OK' | 'NO' | 'BAD';
}

export class ImapClient {
  #buf = Buffer.alloc(0);
  #waiters: (() => void)[] = [];
  #closed = false;
  #tagNo = 0;
  greeting = '';
  socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.#listen(socket);
  }

  #listen(socket: net.Socket): void {
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
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

  /** Connects and reads the greeting. */
  static async connect(
    port: number,
    opts: { tls?: boolean; greeting?: boolean; host?: string } = {},
  ): Promise<ImapClient> {
    const host = opts.host ?? '127.0.0.1';
    const socket = opts.tls ? tls.connect({ port, host, rejectUnauthorized: false }) : net.connect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    const c = new ImapClient(socket);
    if (opts.greeting !== false) c.greeting = await c.response();
    return c;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes received and not yet read. */
  get pending(): string {
    return this.#buf.toString('latin1');
  }

  async #wait(ms: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== done);
        reject(new Error(`imap timeout after ${ms} ms; buffered: ${JSON.stringify(this.pending)}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#waiters.push(done);
    });
  }

  /** One whole response (without the final CRLF); announced literals are inlined with their CRLF. */
  async response(ms = 5000): Promise<string> {
    let out = '';
    let from = 0;
    for (;;) {
      const nl = this.#buf.indexOf('\r\n', from);
      if (nl < 0) {
        if (this.#closed) throw new Error(`connection closed; buffered: ${JSON.stringify(this.pending)}`);
        await this.#wait(ms);
        continue;
      }
      const line = this.#buf.subarray(from, nl).toString('latin1');
      const lit = /\{(\d+)\}$/.exec(line);
      if (!lit) {
        out += line;
        this.#buf = this.#buf.subarray(nl + 2);
        return out;
      }
      const end = nl + 2 + Number(lit[1]);
      if (this.#buf.length < end) {
        if (this.#closed) throw new Error(`connection closed in a literal; buffered: ${JSON.stringify(this.pending)}`);
        await this.#wait(ms);
        continue;
      }
      out += this.#buf.subarray(from, end).toString('latin1');
      this.#buf = this.#buf.subarray(end);
      from = 0;
    }
  }

  /** True when a response arrives within `ms`, without consuming it. */
  async hasResponse(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.#buf.indexOf('\r\n') < 0 && !this.#closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      try {
        await this.#wait(left);
      } catch {
        return false;
      }
    }
    return this.#buf.indexOf('\r\n') >= 0;
  }

  /** Reads responses until one matches; returns all read, the match last. */
  async waitFor(re: RegExp, ms = 5000): Promise<string[]> {
    const deadline = Date.now() + ms;
    const seen: string[] = [];
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response matching ${re} in ${ms} ms; got ${JSON.stringify(seen)}`);
      const r = await this.response(left);
      seen.push(r);
      if (re.test(r)) return seen;
    }
  }

  nextTag(): string {
    this.#tagNo += 1;
    return `t${this.#tagNo}`;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  /** Reads responses up to the one tagged `tag`. */
  async until(tag: string, ms = 5000): Promise<TaggedResult> {
    const untagged: string[] = [];
    for (;;) {
      const r = await this.response(ms);
      if (r.startsWith(`${tag} `)) {
        const status = r.slice(tag.length + 1).split(' ')[0] as TaggedResult['status'];
        return { tag, untagged, tagged: r, status };
      }
      untagged.push(r);
    }
  }

  /** Sends `TAG text` and returns everything up to the tagged response. */
  async command(text: string, ms = 5000): Promise<TaggedResult> {
    const tag = this.nextTag();
    this.send(`${tag} ${text}`);
    return this.until(tag, ms);
  }

  /** Like command(), but throws unless the tagged status is OK. */
  async ok(text: string, ms = 5000): Promise<TaggedResult> {
    const r = await this.command(text, ms);
    if (r.status !== 'OK') throw new Error(`${text} -> ${r.tagged}\n${r.untagged.join('\n')}`);
    return r;
  }

  async login(user: string, pass: string): Promise<TaggedResult> {
    return this.ok(`LOGIN ${quote(user)} ${quote(pass)}`);
  }

  /** APPEND with a non-synchronizing literal (LITERAL+). */
  async append(mailbox: string, message: string | Buffer, flags = '', ms = 5000): Promise<TaggedResult> {
    const body = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
    const tag = this.nextTag();
    this.write(
      Buffer.concat([
        Buffer.from(`${tag} APPEND ${quote(mailbox)}${flags ? ` (${flags})` : ''} {${body.length}+}\r\n`),
        body,
        Buffer.from('\r\n'),
      ]),
    );
    return this.until(tag, ms);
  }

  /** Waits for the server to close the connection. */
  async closedByServer(ms = 5000): Promise<void> {
    while (!this.#closed) await this.#wait(ms);
  }

  async startTls(): Promise<void> {
    const secure = tls.connect({ socket: this.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket.removeAllListeners('data');
    this.socket = secure;
    this.#buf = Buffer.alloc(0);
    this.#listen(secure);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** An IMAP quoted string. */
export function quote(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** Sends a message over SMTP (port 25 style, no auth) and returns the final reply. */
export async function smtpSend(port: number, from: string, to: string[], data: string): Promise<string> {
  const c = await ImapLineSocket.connect(port);
  try {
    await c.expect(/^220 /);
    c.send('EHLO test.example');
    await c.expect(/^250 /);
    c.send(`MAIL FROM:<${from}>`);
    await c.expect(/^250 /);
    for (const r of to) {
      c.send(`RCPT TO:<${r}>`);
      await c.expect(/^250 /);
    }
    c.send('DATA');
    await c.expect(/^354 /);
    const body = data.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    c.write(`${body}${body.endsWith('\r\n') ? '' : '\r\n'}.\r\n`);
    const reply = await c.expect(/^250 /);
    c.send('QUIT');
    return reply;
  } finally {
    c.close();
  }
}

/** The small line reader smtpSend uses (SMTP multi-line replies are skipped up to their last line). */
class ImapLineSocket {
  #buf = '';
  #wake: (() => void) | null = null;
  #closed = false;
  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.#buf += d;
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake?.();
    });
    socket.on('error', () => {});
  }
  static async connect(port: number): Promise<ImapLineSocket> {
    const socket = net.connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    return new ImapLineSocket(socket);
  }
  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }
  write(data: string): void {
    this.socket.write(data);
  }
  async expect(re: RegExp): Promise<string> {
    for (;;) {
      const nl = this.#buf.indexOf('\n');
      if (nl >= 0) {
        const line = this.#buf.slice(0, nl).replace(/\r$/, '');
        this.#buf = this.#buf.slice(nl + 1);
        if (/^\d{3}-/.test(line)) continue;
        if (!re.test(line)) throw new Error(`smtp: expected ${re}, got ${line}`);
        return line;
      }
      if (this.#closed) throw new Error(`smtp connection closed; buffered ${JSON.stringify(this.#buf)}`);
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`smtp timeout; buffered ${JSON.stringify(this.#buf)}`)), 30_000);
        this.#wake = () => {
          clearTimeout(t);
          this.#wake = null;
          resolve();
        };
      });
    }
  }
  close(): void {
    this.socket.destroy();
  }
}
