/**
 * A raw-socket POP3 client (RFC 1939) and the POP3 load: concurrent clients, each repeatedly logging in
 * with USER/PASS, retrieving every message with RETR (one command at a time, as mail clients do) and
 * leaving with QUIT without DELE, until the time is up.
 */
import { LineConn, timedSessions } from './conn.js';

export class Pop3Error extends Error {
  override name = 'Pop3Error';
}

export class Pop3Client {
  private constructor(readonly conn: LineConn) {}

  /** Connects and reads the +OK greeting. */
  static async open(host: string, port: number): Promise<Pop3Client> {
    const client = new Pop3Client(await LineConn.connect(host, port));
    try {
      const greeting = await client.conn.readLine();
      if (!greeting.startsWith('+OK')) throw new Pop3Error(`greeting: ${greeting}`);
    } catch (err) {
      client.conn.destroy();
      throw err;
    }
    return client;
  }

  /** Sends a command and returns its status line; -ERR throws. */
  async command(line: string): Promise<string> {
    this.conn.write(`${line}\r\n`);
    const status = await this.conn.readLine();
    if (!status.startsWith('+OK')) throw new Pop3Error(`${line.split(' ')[0]}: ${status}`);
    return status;
  }

  async login(user: string, password: string): Promise<void> {
    await this.command(`USER ${user}`);
    await this.command(`PASS ${password}`);
  }

  /** Message count and octets. */
  async stat(): Promise<{ count: number; octets: number }> {
    const m = /^\+OK (\d+) (\d+)/.exec(await this.command('STAT'));
    if (!m) throw new Pop3Error('STAT: unexpected reply');
    return { count: Number(m[1]), octets: Number(m[2]) };
  }

  /** Retrieves message `n`; returns its size on the wire (before dot-unstuffing). */
  async retr(n: number): Promise<number> {
    await this.command(`RETR ${n}`);
    return this.conn.readDotBlock();
  }

  async quit(): Promise<void> {
    try {
      if (!this.conn.closed) await this.command('QUIT');
    } catch {
      // already gone
    }
    await this.conn.close();
  }
}

/** Logs in and returns the message count of the maildrop. */
export async function pop3Count(host: string, port: number, user: string, password: string): Promise<number> {
  const client = await Pop3Client.open(host, port);
  try {
    await client.login(user, password);
    return (await client.stat()).count;
  } finally {
    await client.quit();
  }
}

export interface Pop3LoadOptions {
  host: string;
  port: number;
  /** One client per user (POP3 servers may lock a maildrop to one session, RFC 1939 §8). */
  users: readonly string[];
  password: string;
  seconds: number;
  timeoutMs: number;
  onStart?: () => void;
}

export interface Pop3LoadResult {
  retrieved: number;
  bytes: number;
  sessions: number;
  /** Messages listed per session (min and max over sessions). */
  mailboxMin: number;
  mailboxMax: number;
  errors: string[];
  seconds: number;
  /** Milliseconds from connect to the +OK after PASS, per session. */
  loginMs: number[];
}

export async function pop3Load(opts: Pop3LoadOptions): Promise<Pop3LoadResult> {
  const result: Pop3LoadResult = {
    retrieved: 0,
    bytes: 0,
    sessions: 0,
    mailboxMin: Number.POSITIVE_INFINITY,
    mailboxMax: 0,
    errors: [],
    seconds: 0,
    loginMs: [],
  };
  result.seconds = await timedSessions<Pop3Client>(opts, result.errors, async (user, track) => {
    const started = performance.now();
    const client = track(await Pop3Client.open(opts.host, opts.port));
    await client.login(user, opts.password);
    result.loginMs.push(performance.now() - started);
    const { count } = await client.stat();
    result.mailboxMin = Math.min(result.mailboxMin, count);
    result.mailboxMax = Math.max(result.mailboxMax, count);
    for (let n = 1; n <= count; n++) {
      result.bytes += await client.retr(n);
      result.retrieved++;
    }
    await client.quit();
    result.sessions++;
  });
  if (result.mailboxMin === Number.POSITIVE_INFINITY) result.mailboxMin = 0;
  return result;
}
