/**
 * A raw-socket SMTP client (RFC 5321 with PIPELINING, RFC 2920) and the SMTP loads: parallel sessions,
 * each sending many messages over one connection (smtpLoad), or one message per connection
 * (smtpConnectionLoad, over one or several nodes). Per message a session sends MAIL, RCPT and DATA in
 * one write, reads the three replies, sends the message with its end-of-data line, and waits for the
 * final reply before the next MAIL (no RSET). Only a 250 after the data counts as accepted.
 */
import { errorText, LineConn } from './conn.js';

export interface SmtpReply {
  code: number;
  /** All lines of the reply, joined with ' / '. */
  text: string;
  lines: string[];
}

export class SmtpClient {
  pipelining = false;

  private constructor(readonly conn: LineConn) {}

  /** Connects, reads the 220 greeting and says EHLO. */
  static async open(host: string, port: number, helo: string): Promise<SmtpClient> {
    const client = new SmtpClient(await LineConn.connect(host, port));
    try {
      const greeting = await client.readReply();
      if (greeting.code !== 220) throw new Error(`greeting: ${greeting.text}`);
      client.conn.write(`EHLO ${helo}\r\n`);
      const ehlo = await client.readReply();
      if (ehlo.code !== 250) throw new Error(`EHLO: ${ehlo.text}`);
      client.pipelining = ehlo.lines.some((l) => /^250[ -]PIPELINING\b/i.test(l));
    } catch (err) {
      client.conn.destroy();
      throw err;
    }
    return client;
  }

  async readReply(): Promise<SmtpReply> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.conn.readLine();
      lines.push(line);
      if (line.length < 4 || line[3] !== '-') break;
    }
    const first = lines[0];
    const code = /^\d{3}/.test(first) ? Number(first.slice(0, 3)) : 0;
    return { code, text: lines.join(' / '), lines };
  }

  async command(line: string): Promise<SmtpReply> {
    this.conn.write(`${line}\r\n`);
    return this.readReply();
  }

  /**
   * Sends one message. `payload` is the message with dot-stuffing and the final `.CRLF` line.
   * Resolves to the reply after the data, or to the first refusal (then nothing was sent).
   */
  async send(from: string, rcpts: readonly string[], payload: Buffer): Promise<SmtpReply> {
    const commands = [`MAIL FROM:<${from}>`, ...rcpts.map((r) => `RCPT TO:<${r}>`), 'DATA'];
    const replies: SmtpReply[] = [];
    if (this.pipelining) {
      this.conn.write(`${commands.join('\r\n')}\r\n`);
      for (let i = 0; i < commands.length; i++) replies.push(await this.readReply());
    } else {
      for (const c of commands) {
        const r = await this.command(c);
        replies.push(r);
        if (r.code >= 400) break;
      }
    }
    const data = replies[replies.length - 1];
    if (replies.length < commands.length || data.code !== 354) {
      // With pipelining the server answers DATA with 503/554 when MAIL or all RCPTs failed.
      const refusal = replies.find((r) => r.code >= 400) ?? data;
      if (data.code === 354) {
        // Should not happen: DATA accepted although we are giving up. End the transaction cleanly.
        this.conn.write('.\r\n');
        await this.readReply();
      }
      return refusal;
    }
    this.conn.write(payload);
    return this.readReply();
  }

  async quit(): Promise<void> {
    try {
      if (!this.conn.closed) await this.command('QUIT');
    } catch {
      // the server may close first
    }
    await this.conn.close();
  }
}

const FILLER =
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et ' +
  'dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ' +
  'ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat ';

/**
 * A plain-text message of exactly `size` bytes (CRLF line endings, lines of at most 80 bytes), as it
 * goes on the wire: no line starts with a dot, and the end-of-data line `.CRLF` is appended.
 */
export function buildMessage(opts: { size: number; from: string; to: string; id: string; subject: string }): Buffer {
  const header =
    `From: Bench Sender <${opts.from}>\r\n` +
    `To: <${opts.to}>\r\n` +
    `Subject: ${opts.subject}\r\n` +
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}\r\n` +
    `Message-ID: <${opts.id}>\r\n` +
    'MIME-Version: 1.0\r\n' +
    'Content-Type: text/plain; charset=us-ascii\r\n' +
    '\r\n';
  const remaining = opts.size - header.length;
  if (remaining < 3) throw new Error(`message size ${opts.size} is too small for the headers (${header.length} bytes)`);
  let offset = 0;
  const text = (n: number) => {
    let s = '';
    while (s.length < n) {
      const take = Math.min(n - s.length, FILLER.length - offset);
      s += FILLER.slice(offset, offset + take);
      offset = (offset + take) % FILLER.length;
    }
    return s.replace(/^[. ]/, 'x'); // no line starts with a dot (no stuffing needed) or a space
  };
  // Lines of 76 characters + CRLF; the rest goes to a shorter last line, or, when only 1 or 2 bytes
  // are left, lengthens the last full line.
  const full = Math.floor(remaining / 78);
  const rest = remaining % 78;
  const lines: string[] = [];
  if (rest === 0 || rest >= 3) {
    for (let i = 0; i < full; i++) lines.push(`${text(76)}\r\n`);
    if (rest > 0) lines.push(`${text(rest - 2)}\r\n`);
  } else {
    for (let i = 0; i < full - 1; i++) lines.push(`${text(76)}\r\n`);
    lines.push(`${text(76 + rest)}\r\n`);
  }
  const body = header + lines.join('');
  if (body.length !== opts.size) throw new Error(`internal: built ${body.length} bytes instead of ${opts.size}`);
  return Buffer.from(`${body}.\r\n`, 'latin1');
}

export interface SmtpLoadOptions {
  host: string;
  port: number;
  sessions: number;
  messages: number;
  size: number;
  from: string;
  /** Recipients of every message. */
  rcpts: readonly string[];
  helo: string;
  /** A tag for Message-IDs and subjects, unique per run. */
  runId: string;
  /** Give up (destroy the connections) after this long. */
  timeoutMs: number;
  /** Called once all sessions are open and greeted, right before the first MAIL. */
  onStart?: () => void;
}

export interface SmtpLoadResult {
  /** 250 replies after the data. */
  accepted: number;
  /** Messages refused at MAIL, RCPT, DATA or after the data, by reply text (first 10 distinct). */
  refused: number;
  refusals: Map<string, number>;
  /** Sessions that failed to open, or broke off (connection lost, timeout). */
  sessionErrors: string[];
  /** From the first MAIL to the last reply. */
  seconds: number;
  /** Milliseconds from MAIL to the 250 after the data, per accepted message. */
  latenciesMs: number[];
  pipelining: boolean;
}

export async function smtpLoad(opts: SmtpLoadOptions): Promise<SmtpLoadResult> {
  const sessionErrors: string[] = [];
  const opened = await Promise.allSettled(
    Array.from({ length: opts.sessions }, () => SmtpClient.open(opts.host, opts.port, opts.helo)),
  );
  const clients: SmtpClient[] = [];
  for (const o of opened) {
    if (o.status === 'fulfilled') clients.push(o.value);
    else sessionErrors.push(`open: ${errorText(o.reason)}`);
  }
  const result: SmtpLoadResult = {
    accepted: 0,
    refused: 0,
    refusals: new Map(),
    sessionErrors,
    seconds: 0,
    latenciesMs: [],
    pipelining: clients.length > 0 && clients.every((c) => c.pipelining),
  };
  if (clients.length === 0) return result;

  // Messages are built ahead (the clock must measure the server, not Buffer.from).
  const payloads: Buffer[] = [];
  for (let i = 0; i < opts.messages; i++) {
    payloads.push(
      buildMessage({
        size: opts.size,
        from: opts.from,
        to: opts.rcpts[0],
        id: `${opts.runId}.${i}@bench.invalid`,
        subject: `bench ${opts.runId} message ${i + 1} of ${opts.messages}`,
      }),
    );
  }

  let next = 0;
  const timer = setTimeout(() => {
    for (const c of clients) c.conn.destroy();
  }, opts.timeoutMs);
  opts.onStart?.();
  const t0 = performance.now();
  let tEnd = t0;
  await Promise.all(
    clients.map(async (client) => {
      let refusedInARow = 0;
      try {
        while (next < opts.messages) {
          const payload = payloads[next++];
          const started = performance.now();
          const reply = await client.send(opts.from, opts.rcpts, payload);
          const now = performance.now();
          tEnd = now;
          if (reply.code === 250) {
            result.accepted++;
            result.latenciesMs.push(now - started);
            refusedInARow = 0;
          } else {
            result.refused++;
            const key = reply.text.slice(0, 120);
            if (result.refusals.has(key) || result.refusals.size < 10)
              result.refusals.set(key, (result.refusals.get(key) ?? 0) + 1);
            if (++refusedInARow >= 20) throw new Error(`20 refusals in a row, last: ${reply.text}`);
          }
        }
      } catch (err) {
        sessionErrors.push(errorText(err));
      }
    }),
  );
  clearTimeout(timer);
  result.seconds = (tEnd - t0) / 1000;
  await Promise.all(clients.map((c) => c.quit()));
  return result;
}

export interface SmtpConnectionLoadOptions {
  host: string;
  /** The listeners to spread the connections over, round-robin (several nodes). */
  ports: readonly number[];
  sessions: number;
  messages: number;
  size: number;
  from: string;
  /** Message i goes to `rcpts[i mod length]` alone (one account, or spread over several). */
  rcpts: readonly string[];
  helo: string;
  runId: string;
  timeoutMs: number;
  onStart?: () => void;
}

export interface SmtpConnectionLoadResult {
  accepted: number;
  refused: number;
  refusals: Map<string, number>;
  errors: string[];
  seconds: number;
  /** Milliseconds from connect to the 250 after the data, per accepted message. */
  latenciesMs: number[];
}

/**
 * One message per connection, as mail arrives from many MTAs: `sessions` clients each loop connect →
 * greeting → EHLO → MAIL/RCPT/DATA (pipelined) → data → 250 → QUIT until `messages` are sent; the n-th
 * connection goes to `ports[n mod ports.length]`.
 */
export async function smtpConnectionLoad(opts: SmtpConnectionLoadOptions): Promise<SmtpConnectionLoadResult> {
  const result: SmtpConnectionLoadResult = {
    accepted: 0,
    refused: 0,
    refusals: new Map(),
    errors: [],
    seconds: 0,
    latenciesMs: [],
  };
  const payloads: Buffer[] = [];
  const rcptOf = (i: number) => opts.rcpts[i % opts.rcpts.length];
  for (let i = 0; i < opts.messages; i++) {
    payloads.push(
      buildMessage({
        size: opts.size,
        from: opts.from,
        to: rcptOf(i),
        id: `${opts.runId}.${i}@bench.invalid`,
        subject: `bench ${opts.runId} message ${i + 1} of ${opts.messages}`,
      }),
    );
  }
  const open = new Set<SmtpClient>();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    for (const c of open) c.conn.destroy();
  }, opts.timeoutMs);
  let next = 0;
  opts.onStart?.();
  const t0 = performance.now();
  let tEnd = t0;
  await Promise.all(
    Array.from({ length: opts.sessions }, async () => {
      while (next < opts.messages && !timedOut && result.errors.length < 20) {
        const i = next++;
        const started = performance.now();
        let client: SmtpClient | null = null;
        try {
          client = await SmtpClient.open(opts.host, opts.ports[i % opts.ports.length], opts.helo);
          open.add(client);
          const reply = await client.send(opts.from, [rcptOf(i)], payloads[i]);
          const now = performance.now();
          tEnd = now;
          if (reply.code === 250) {
            result.accepted++;
            result.latenciesMs.push(now - started);
          } else {
            result.refused++;
            const key = reply.text.slice(0, 120);
            if (result.refusals.has(key) || result.refusals.size < 10)
              result.refusals.set(key, (result.refusals.get(key) ?? 0) + 1);
          }
          await client.quit();
        } catch (err) {
          result.errors.push(errorText(err));
          client?.conn.destroy();
        } finally {
          if (client) open.delete(client);
        }
      }
    }),
  );
  clearTimeout(timer);
  result.seconds = (tEnd - t0) / 1000;
  return result;
}

/**
 * Sends messages over one session, for filling mailboxes: every message goes to all `rcpts`.
 * Throws when a message is refused.
 */
export async function sendMessages(opts: {
  host: string;
  port: number;
  helo: string;
  from: string;
  rcpts: readonly string[];
  count: number;
  size: number;
  runId: string;
}): Promise<void> {
  const client = await SmtpClient.open(opts.host, opts.port, opts.helo);
  try {
    for (let i = 0; i < opts.count; i++) {
      const payload = buildMessage({
        size: opts.size,
        from: opts.from,
        to: opts.rcpts[0],
        id: `${opts.runId}.fill.${i}@bench.invalid`,
        subject: `bench ${opts.runId} mailbox message ${i + 1} of ${opts.count}`,
      });
      const reply = await client.send(opts.from, opts.rcpts, payload);
      if (reply.code !== 250) throw new Error(`filling mailboxes: message ${i + 1} refused: ${reply.text}`);
    }
  } finally {
    await client.quit();
  }
}

export { errorText };
