/**
 * A raw ManageSieve (RFC 5804) test client over TCP or TLS: send bytes or lines, read whole responses
 * (data lines, then `OK`/`NO`/`BYE` with its response code and text), with server literals `{N}` read
 * by their octet count. Every wait has a timeout.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface SieveResponse {
  /** The lines before the final one, literals inlined: capabilities, script names, a script's source. */
  data: string[];
  status: 'OK' | 'NO' | 'BYE';
  /** The response code without its parentheses, e.g. `QUOTA/MAXSIZE` or `TAG "x"`; null when none. */
  code: string | null;
  /** The response's text (a quoted string or a literal), decoded; '' when none. */
  text: string;
  /** The final line as sent (a literal's bytes inlined). */
  line: string;
}

const FINAL = /^(OK|NO|BYE)(?=$| )/;

/** The value of a ManageSieve string at the start of `s` (quoted or inlined literal), and what follows. */
export function parseString(s: string): { value: string; rest: string } | null {
  if (s.startsWith('"')) {
    let value = '';
    for (let i = 1; i < s.length; i++) {
      const c = s[i];
      if (c === '\\') {
        value += s[++i];
        continue;
      }
      if (c === '"') return { value, rest: s.slice(i + 1) };
      value += c;
    }
    return null;
  }
  return null;
}

export class ManageSieveClient {
  #buf = Buffer.alloc(0);
  #waiters: (() => void)[] = [];
  #closed = false;
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

  static async connect(port: number, opts: { tls?: boolean; host?: string } = {}): Promise<ManageSieveClient> {
    const host = opts.host ?? '127.0.0.1';
    const socket = opts.tls ? tls.connect({ port, host, rejectUnauthorized: false }) : net.connect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new ManageSieveClient(socket);
  }

  get closed(): boolean {
    return this.#closed;
  }

  async #wait(ms: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timeout; buffered: ${JSON.stringify(this.#buf.toString('utf8'))}`)),
        ms,
      );
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async #bytes(n: number, ms: number): Promise<Buffer> {
    while (this.#buf.length < n) {
      if (this.#closed) throw new Error(`connection closed; buffered: ${JSON.stringify(this.#buf.toString('utf8'))}`);
      await this.#wait(ms);
    }
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  /** One raw line without its CRLF. */
  async rawLine(ms = 5000): Promise<string> {
    for (;;) {
      const nl = this.#buf.indexOf(0x0a);
      if (nl >= 0) {
        const line = this.#buf.subarray(0, nl).toString('utf8').replace(/\r$/, '');
        this.#buf = this.#buf.subarray(nl + 1);
        return line;
      }
      if (this.#closed) throw new Error(`connection closed; buffered: ${JSON.stringify(this.#buf.toString('utf8'))}`);
      await this.#wait(ms);
    }
  }

  /** One logical line: a line ending in `{N}` continues after N octets (inlined as a quoted string). */
  async line(ms = 5000): Promise<string> {
    let line = await this.rawLine(ms);
    for (;;) {
      const m = /\{(\d+)\}$/.exec(line);
      if (!m) return line;
      const content = (await this.#bytes(Number(m[1]), ms)).toString('utf8');
      const rest = await this.rawLine(ms);
      line = `${line.slice(0, m.index)}"${content.replace(/[\\"]/g, (c) => `\\${c}`)}"${rest}`;
    }
  }

  /** A whole response: data lines, then the final OK/NO/BYE. */
  async response(ms = 5000): Promise<SieveResponse> {
    const data: string[] = [];
    for (;;) {
      const line = await this.line(ms);
      const m = FINAL.exec(line);
      if (!m) {
        data.push(line);
        continue;
      }
      let rest = line.slice(m[0].length).trimStart();
      let code: string | null = null;
      if (rest.startsWith('(')) {
        // A code holds at most one string (TAG, SASL): find the ")" after it.
        let depth = 0;
        let i = 0;
        for (; i < rest.length; i++) {
          if (rest[i] === '"') {
            const s = parseString(rest.slice(i));
            i = rest.length - (s?.rest.length ?? 0) - 1;
          } else if (rest[i] === '(') depth++;
          else if (rest[i] === ')' && --depth === 0) break;
        }
        code = rest.slice(1, i);
        rest = rest.slice(i + 1).trimStart();
      }
      const text = parseString(rest)?.value ?? '';
      return { data, status: m[1] as SieveResponse['status'], code, text, line };
    }
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  async cmd(line: string): Promise<SieveResponse> {
    this.send(line);
    return this.response();
  }

  /** PUTSCRIPT with the script as a non-synchronizing literal. */
  async putScript(name: string, source: string): Promise<SieveResponse> {
    this.write(`PUTSCRIPT ${quote(name)} {${Buffer.byteLength(source)}+}\r\n${source}\r\n`);
    return this.response();
  }

  /** AUTHENTICATE PLAIN with the credentials as the initial response (a quoted string). */
  async login(user: string, password: string): Promise<SieveResponse> {
    const plain = Buffer.from(`\0${user}\0${password}`).toString('base64');
    return this.cmd(`AUTHENTICATE "PLAIN" "${plain}"`);
  }

  async upgradeTls(): Promise<void> {
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

  /** Waits for the server to close the connection. */
  async closedByServer(ms = 5000): Promise<void> {
    while (!this.#closed) await this.#wait(ms);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A quoted ManageSieve string. */
export function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
