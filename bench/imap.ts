/**
 * A raw-socket IMAP client (RFC 9051 / RFC 3501 subset) and the IMAP loads: logins per second, full-
 * message FETCH throughput, and timing of single commands (SEARCH, FETCH FLAGS) on a large mailbox.
 *
 * The client sends tagged commands and reads responses line by line; a line ending in a literal
 * announcement `{N}` is followed by N bytes and then the rest of the same response, so responses are
 * read literal-aware. Literal bytes can be kept (small responses) or only counted (FETCH bodies).
 */
import { LineConn, timedSessions } from './conn.js';
import { errorText } from './smtp.js';

export class ImapError extends Error {
  override name = 'ImapError';
  /** The tagged status: NO or BAD (or BYE/greeting problems: null). */
  readonly status: string | null;
  constructor(message: string, status: string | null = null) {
    super(message);
    this.status = status;
  }
}

/** A command the server does not implement (BAD/NO naming it unknown or unsupported). */
export function notImplemented(err: unknown): boolean {
  return (
    err instanceof ImapError &&
    err.status !== null &&
    /not (supported|implemented)|unknown command|unrecognized|invalid command/i.test(err.message)
  );
}

export interface Response {
  /** The response with literals inline (when kept) or as `{N}` placeholders (when only counted). */
  text: string;
  /** Sizes of the literals it carried. */
  literals: number[];
}

export interface CommandResult {
  status: 'OK';
  /** The tagged line without tag and status. */
  text: string;
  untagged: Response[];
  /** Total literal bytes in the untagged responses (also when they were not kept). */
  literalBytes: number;
  /** Number of literals in the untagged responses. */
  literalCount: number;
}

export interface CommandOptions {
  /** Keep untagged responses in the result (default true). */
  collect?: boolean;
  /** Keep literal bytes in the text (default true); false only counts them. */
  keepLiterals?: boolean;
}

const LITERAL_AT_END = /\{(\d+)\+?\}$/;

export class ImapClient {
  #tag = 0;
  greeting = '';

  private constructor(readonly conn: LineConn) {}

  /** Connects and reads the `* OK` greeting. */
  static async open(host: string, port: number, timeoutMs = 10_000): Promise<ImapClient> {
    const client = new ImapClient(await LineConn.connect(host, port, timeoutMs));
    try {
      const greeting = await client.conn.readLine();
      if (!greeting.startsWith('* OK') && !greeting.startsWith('* PREAUTH'))
        throw new ImapError(`greeting: ${greeting.slice(0, 120)}`);
      client.greeting = greeting;
    } catch (err) {
      client.conn.destroy();
      throw err;
    }
    return client;
  }

  /** One whole response (line plus literals plus continuation lines). */
  async readResponse(keepLiterals = true): Promise<Response> {
    let line = await this.conn.readLine();
    const literals: number[] = [];
    let text = '';
    for (;;) {
      const m = LITERAL_AT_END.exec(line);
      if (!m) return { text: text + line, literals };
      const n = Number(m[1]);
      literals.push(n);
      const body = await this.conn.readBytes(n, keepLiterals);
      text += keepLiterals ? `${line}\r\n${body}` : line;
      line = await this.conn.readLine();
    }
  }

  nextTag(): string {
    return `A${++this.#tag}`;
  }

  /**
   * Sends `line` (already formatted; may contain LITERAL+ literals) under a new tag and reads
   * responses until the tagged one; NO/BAD throw an ImapError.
   */
  async command(line: string, opts: CommandOptions = {}): Promise<CommandResult> {
    const tag = this.nextTag();
    this.conn.write(`${tag} ${line}\r\n`);
    return this.readUntilTagged(tag, line, opts);
  }

  async readUntilTagged(tag: string, line: string, opts: CommandOptions = {}): Promise<CommandResult> {
    const collect = opts.collect ?? true;
    const keep = opts.keepLiterals ?? true;
    const untagged: Response[] = [];
    let literalBytes = 0;
    let literalCount = 0;
    const prefix = `${tag} `;
    for (;;) {
      const r = await this.readResponse(keep);
      if (r.text.startsWith(prefix)) {
        const rest = r.text.slice(prefix.length);
        const status = rest.slice(0, rest.indexOf(' ') >>> 0).toUpperCase();
        if (status === 'OK') return { status: 'OK', text: rest.slice(3), untagged, literalBytes, literalCount };
        throw new ImapError(`${commandName(line)}: ${r.text.slice(0, 200)}`, status);
      }
      if (r.text.startsWith('* BYE')) {
        if (/^LOGOUT$/i.test(line)) continue;
        throw new ImapError(`${commandName(line)}: ${r.text.slice(0, 200)}`);
      }
      for (const n of r.literals) literalBytes += n;
      literalCount += r.literals.length;
      if (collect) untagged.push(r);
    }
  }

  async login(user: string, password: string): Promise<void> {
    await this.command(`LOGIN ${quote(user)} ${quote(password)}`, { collect: false });
  }

  /** SELECT (or EXAMINE); returns EXISTS. */
  async select(mailbox = 'INBOX', examine = false): Promise<number> {
    const r = await this.command(`${examine ? 'EXAMINE' : 'SELECT'} ${quote(mailbox)}`);
    let exists = 0;
    for (const u of r.untagged) {
      const m = /^\* (\d+) EXISTS/i.exec(u.text);
      if (m) exists = Number(m[1]);
    }
    return exists;
  }

  /** SEARCH; returns the matching sequence numbers (or UIDs). */
  async search(criteria: string, uid = false): Promise<number[]> {
    const r = await this.command(`${uid ? 'UID ' : ''}SEARCH ${criteria}`);
    const out: number[] = [];
    for (const u of r.untagged) {
      if (!/^\* SEARCH\b/i.test(u.text)) continue;
      for (const n of u.text.slice(8).trim().split(' ')) if (n) out.push(Number(n));
    }
    return out;
  }

  async logout(): Promise<void> {
    try {
      if (!this.conn.closed) await this.command('LOGOUT', { collect: false });
    } catch {
      // already gone
    }
    await this.conn.close();
  }
}

function commandName(line: string): string {
  const words = line.split(' ');
  return (words[0].toUpperCase() === 'UID' ? `UID ${words[1] ?? ''}` : words[0]).toUpperCase();
}

/** An IMAP quoted string. */
export function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Messages in the mailbox, from SELECT's EXISTS (works on servers without STATUS). */
export async function imapCount(
  host: string,
  port: number,
  user: string,
  password: string,
  mailbox = 'INBOX',
): Promise<number> {
  const client = await ImapClient.open(host, port);
  try {
    await client.login(user, password);
    return await client.select(mailbox, true);
  } finally {
    await client.logout();
  }
}

/**
 * Appends messages with LITERAL+ (no round trip per literal), `batch` messages per MULTIAPPEND
 * command when the server has MULTIAPPEND (RFC 3502), else one APPEND per message with up to `batch`
 * commands in flight.
 */
export async function imapAppendAll(opts: {
  host: string;
  port: number;
  user: string;
  password: string;
  mailbox?: string;
  count: number;
  message: (i: number) => { raw: Buffer; flags: string[] };
  connections: number;
  batch: number;
  onProgress?: (done: number) => void;
}): Promise<void> {
  let next = 0;
  let done = 0;
  const mailbox = quote(opts.mailbox ?? 'INBOX');
  await Promise.all(
    Array.from({ length: opts.connections }, async () => {
      const client = await ImapClient.open(opts.host, opts.port);
      try {
        await client.login(opts.user, opts.password);
        const caps = (await client.command('CAPABILITY')).untagged.map((u) => u.text.toUpperCase()).join(' ');
        if (!/\bLITERAL[+-]/.test(caps)) throw new ImapError('the server has no LITERAL+ (needed to fill a mailbox)');
        const multi = /\bMULTIAPPEND\b/.test(caps);
        while (next < opts.count) {
          const from = next;
          const to = Math.min(opts.count, from + opts.batch);
          next = to;
          if (multi) {
            const parts: Buffer[] = [];
            const tag = client.nextTag();
            parts.push(Buffer.from(`${tag} APPEND ${mailbox}`));
            for (let i = from; i < to; i++) {
              const { raw, flags } = opts.message(i);
              parts.push(Buffer.from(` (${flags.join(' ')}) {${raw.length}+}\r\n`), raw);
            }
            parts.push(Buffer.from('\r\n'));
            client.conn.write(Buffer.concat(parts));
            await client.readUntilTagged(tag, 'APPEND', { collect: false });
          } else {
            const tags: string[] = [];
            const parts: Buffer[] = [];
            for (let i = from; i < to; i++) {
              const { raw, flags } = opts.message(i);
              const tag = client.nextTag();
              tags.push(tag);
              parts.push(Buffer.from(`${tag} APPEND ${mailbox} (${flags.join(' ')}) {${raw.length}+}\r\n`), raw);
              parts.push(Buffer.from('\r\n'));
            }
            client.conn.write(Buffer.concat(parts));
            for (const tag of tags) await client.readUntilTagged(tag, 'APPEND', { collect: false });
          }
          done += to - from;
          opts.onProgress?.(done);
        }
      } finally {
        await client.logout();
      }
    }),
  );
}

// ---------------------------------------------------------------------------------------------------
// loads

export interface LoginLoadOptions {
  host: string;
  port: number;
  /** One client per entry, looping; several clients may share an account. */
  users: readonly string[];
  password: string;
  seconds: number;
  timeoutMs: number;
  onStart?: () => void;
}

export interface LoginLoadResult {
  /** Completed connect → greeting → LOGIN → LOGOUT cycles. */
  logins: number;
  seconds: number;
  /** Milliseconds from connect to the tagged OK of LOGIN, per cycle. */
  loginMs: number[];
  errors: string[];
}

/**
 * Each client first does one untimed cycle (so a server's one-time work per account, such as
 * postbode's first scrypt verification before its cache holds the password, stays out of the rate),
 * then loops until the time is up.
 */
export async function imapLoginLoad(opts: LoginLoadOptions): Promise<LoginLoadResult> {
  const result: LoginLoadResult = { logins: 0, seconds: 0, loginMs: [], errors: [] };
  await Promise.all(
    [...new Set(opts.users)].map(async (user) => {
      const client = await ImapClient.open(opts.host, opts.port);
      try {
        await client.login(user, opts.password);
      } finally {
        await client.logout();
      }
    }),
  );
  result.seconds = await timedSessions<ImapClient>(opts, result.errors, async (user, track) => {
    const started = performance.now();
    const client = track(await ImapClient.open(opts.host, opts.port));
    await client.login(user, opts.password);
    result.loginMs.push(performance.now() - started);
    await client.command('LOGOUT', { collect: false });
    await client.conn.close();
    result.logins++;
  });
  return result;
}

export interface FetchLoadOptions {
  host: string;
  /** The IMAP port, or the ports of several nodes: client i connects to `port[i mod length]`. */
  port: number | readonly number[];
  /** One client per account. */
  users: readonly string[];
  password: string;
  seconds: number;
  timeoutMs: number;
  /** e.g. `FETCH 1:100 (BODY.PEEK[])`, or the i-th command of a client. */
  command: string | ((i: number) => string);
  onStart?: () => void;
}

export interface FetchLoadResult {
  /** Message bodies received (literals in FETCH responses). */
  messages: number;
  bytes: number;
  commands: number;
  seconds: number;
  /** Milliseconds per FETCH command. */
  commandMs: number[];
  /** EXISTS of each client's mailbox (min, max). */
  mailboxMin: number;
  mailboxMax: number;
  errors: string[];
  /** The first error when the very first FETCH failed with BAD/NO (e.g. not implemented). */
  refused: ImapError | null;
}

/**
 * Every client logs in and SELECTs once (not timed), then repeats the FETCH command until the time
 * is up; a command in flight at the end completes and counts.
 */
export async function imapFetchLoad(opts: FetchLoadOptions): Promise<FetchLoadResult> {
  const result: FetchLoadResult = {
    messages: 0,
    bytes: 0,
    commands: 0,
    seconds: 0,
    commandMs: [],
    mailboxMin: Number.POSITIVE_INFINITY,
    mailboxMax: 0,
    errors: [],
    refused: null,
  };
  const ports = typeof opts.port === 'number' ? [opts.port] : opts.port;
  const clients = await Promise.all(
    opts.users.map(async (user, i) => {
      const c = await ImapClient.open(opts.host, ports[i % ports.length]);
      try {
        await c.login(user, opts.password);
        const n = await c.select('INBOX', true);
        result.mailboxMin = Math.min(result.mailboxMin, n);
        result.mailboxMax = Math.max(result.mailboxMax, n);
      } catch (err) {
        c.conn.destroy();
        throw err;
      }
      return c;
    }),
  );
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    for (const c of clients) c.conn.destroy();
  }, opts.timeoutMs);
  opts.onStart?.();
  const t0 = performance.now();
  const until = t0 + opts.seconds * 1000;
  await Promise.all(
    clients.map(async (client) => {
      let i = 0;
      while (performance.now() < until && !timedOut && result.refused === null) {
        try {
          const started = performance.now();
          const line = typeof opts.command === 'string' ? opts.command : opts.command(i++);
          const r = await client.command(line, { collect: false, keepLiterals: false });
          result.commandMs.push(performance.now() - started);
          result.messages += r.literalCount;
          result.bytes += r.literalBytes;
          result.commands++;
        } catch (err) {
          if (result.commands === 0 && err instanceof ImapError && err.status !== null) {
            result.refused ??= err;
            break;
          }
          result.errors.push(errorText(err));
          break;
        }
      }
    }),
  );
  result.seconds = (performance.now() - t0) / 1000;
  clearTimeout(timer);
  await Promise.all(clients.map((c) => c.logout()));
  if (result.mailboxMin === Number.POSITIVE_INFINITY) result.mailboxMin = 0;
  return result;
}
