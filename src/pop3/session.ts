/**
 * One POP3 session (RFC 1939): the greeting with its APOP timestamp, the command loop, and the state the
 * handlers in ./commands share. The loop reads a line, finds the command by keyword, checks the state
 * and the argument lengths, and counts errors.
 *
 * Invariants:
 * - States: AUTHORIZATION until a login succeeds *and* the INBOX lock is taken, then TRANSACTION;
 *   UPDATE only inside QUIT (RFC 1939 §6). A login whose maildrop is locked stays in AUTHORIZATION.
 * - The maildrop is a snapshot taken at login; message numbers never change during the session
 *   (RFC 1939 §8). DELE only marks; the store changes only in QUIT, and `+OK` follows the durable
 *   expunge. A dropped connection, a timeout or an error deletes nothing.
 * - The maildrop lock is released when the session ends, however it ends (`run`'s finally).
 * - Plaintext credentials (USER/PASS, AUTH PLAIN/LOGIN) are refused unless the backend allows them on
 *   this connection (TLS, or a plaintext network); APOP never sends the password and is always allowed.
 * - Secrets never reach the trace: PASS, APOP digests, AUTH initial responses and continuations are
 *   redacted before `trace.in`.
 * - Client mistakes get `-ERR` with a hint and count toward `maxErrors`; failed logins count toward
 *   `maxAuthFailures`; server faults get `-ERR [SYS/TEMP]` and a log line, never internal text.
 */
import { randomBytes } from 'node:crypto';
import type tls from 'node:tls';
import { type LoginClient, type LoginResult, throttledText } from '../auth/service.js';
import type { Logger } from '../log.js';
import type { Connection } from '../net/connection.js';
import { StoreFullError } from '../store/types.js';
import type { Maildrop, MaildropMessage, Pop3Backend, Pop3User } from './backend.js';
import { DotStuffer, type TopCutter } from './body.js';
import { COMMANDS } from './commands/index.js';
import { openMaildrop } from './maildrop.js';
import { err, MAX_COMMAND_LINE, ok, parseCommandLine, printable, type RespCode, stuffLine } from './wire.js';

export interface Pop3Settings {
  hostname: string;
  /** The postbode version, shown in the greeting and IMPLEMENTATION unless `showVersion` is false. */
  version: string;
  showVersion: boolean;
  /** Strict mode refuses bare-LF command lines; lab mode (the default) accepts them. */
  strict: boolean;
  idleTimeoutMs: number;
  /** Client errors before the server hangs up. */
  maxErrors: number;
  /** Failed logins before the server hangs up. */
  maxAuthFailures: number;
  /** The certificate for STLS, or null when TLS is not configured. */
  tlsContext: (() => tls.SecureContext) | null;
}

export type Pop3State = 'authorization' | 'transaction';

/** Multi-line responses wait for the socket to drain every this many lines. */
const DRAIN_EVERY = 1024;

export class Pop3Session {
  state: Pop3State = 'authorization';
  /** The name given with USER, waiting for PASS. */
  pendingUser: string | null = null;
  user: Pop3User | null = null;
  maildrop: Maildrop | null = null;
  /** Message numbers marked with DELE. */
  readonly deleted = new Set<number>();
  /** The APOP timestamp of the greeting, angle brackets included (RFC 1939 §7). */
  readonly timestamp: string;
  errors = 0;
  authFailures = 0;
  done = false;
  /**
   * Set after an AUTH command (answered or refused): a client may send its base64 credentials anyway,
   * so the next line is traced as `<redacted>` unless it is a known command.
   */
  #afterAuth = false;
  readonly stats = { retrieved: 0, deleted: 0 };

  constructor(
    readonly conn: Connection,
    readonly settings: Pop3Settings,
    readonly backend: Pop3Backend,
    readonly log: Logger,
  ) {
    // Unique per greeting and unguessable, so a captured APOP digest cannot be replayed.
    this.timestamp = `<${process.pid}.${Date.now()}.${randomBytes(4).toString('hex')}@${settings.hostname}>`;
  }

  send(line: string): void {
    this.conn.writeLine(line);
  }

  /** A client mistake: `-ERR`, counted toward `maxErrors`. */
  fail(text: string, code?: RespCode): void {
    this.send(err(text, code));
    this.errors++;
  }

  /** A multi-line response (RFC 1939 §3): the status line, the lines dot-stuffed, and `.`. */
  async sendLines(status: string, lines: Iterable<string>): Promise<void> {
    this.send(status);
    let n = 0;
    for (const line of lines) {
      this.send(stuffLine(line));
      if (++n % DRAIN_EVERY === 0) await this.conn.drain();
    }
    this.send('.');
  }

  /** An unexpected server-side failure: logged, and a temporary error for the client. */
  serverError(error: unknown, context: string): void {
    if (error instanceof StoreFullError) {
      this.log.warn({ sid: this.conn.id, context, user: this.user?.address }, 'pop3: the store is full');
      this.send(err('The server is out of storage space; please try again later', 'SYS/TEMP'));
      return;
    }
    this.log.error({ err: error, sid: this.conn.id, context, user: this.user?.address }, 'pop3 server error');
    this.send(err('Local error in processing; please try again later', 'SYS/TEMP'));
  }

  /** Whether USER/PASS and AUTH PLAIN/LOGIN may be used on this connection now. */
  get plaintextAllowed(): boolean {
    return this.backend.auth.plaintextAllowed(this.conn);
  }

  /** The reply when plaintext credentials are not allowed (RFC 2595 §4 suggests STLS first). */
  refusePlaintext(): void {
    const hint =
      this.settings.tlsContext && !this.conn.secure
        ? 'use STLS first, connect to the POP3S port (995), or log in with APOP'
        : 'connect to the POP3S port (995) or log in with APOP';
    this.fail(`Plaintext login is not allowed on an unencrypted connection; ${hint}`, 'PRIVACY');
  }

  /** After a successful credential check: lock the INBOX, take the snapshot, enter TRANSACTION. */
  async loggedIn(user: Pop3User, mechanism: string): Promise<void> {
    this.conn.trace.auth(user.address, true, mechanism);
    this.pendingUser = null;
    const opening = await openMaildrop(this.backend.store, user, this.conn.id);
    if (opening.kind === 'locked') {
      // RFC 2449 §8.1.1: the maildrop is in use; the client stays in AUTHORIZATION and may retry.
      this.send(err('Mailbox is locked by another POP3 session', 'IN-USE'));
      return;
    }
    this.user = user;
    this.maildrop = opening.maildrop;
    this.state = 'transaction';
    this.conn.trace.state('transaction');
    const { count, size } = this.totals();
    this.send(ok(`${user.address} has ${count} visible messages (0 hidden) in ${size} octets.`));
  }

  /** Who is logging in, for the shared login limits (src/auth/limiter.ts). */
  get client(): LoginClient {
    return { remoteAddress: this.conn.remoteAddress, protocol: 'pop3' };
  }

  /**
   * After failed credentials, or a login refused by the limits (`[SYS/TEMP]`: try again later): back
   * to the start of AUTHORIZATION (RFC 1939 §7), or hang up.
   */
  loginFailed(
    name: string,
    mechanism: string,
    failure: Extract<LoginResult<unknown>, { ok: false }> & { text?: string },
  ): void {
    this.conn.trace.auth(name, false, mechanism);
    this.pendingUser = null;
    this.authFailures++;
    const throttled = failure.reason === 'throttled';
    const text = throttled ? throttledText(failure.throttle) : (failure.text ?? 'Invalid login or password');
    const code = throttled ? 'SYS/TEMP' : 'AUTH';
    if (this.authFailures >= this.settings.maxAuthFailures) {
      this.send(err(`${text}; too many failed logins, closing the connection`, code));
      this.done = true;
      return;
    }
    this.send(err(text, code));
  }

  /** Visible (not DELE-marked) messages with their numbers. */
  *visible(): Generator<[number, MaildropMessage]> {
    const messages = this.maildrop?.messages ?? [];
    for (let i = 0; i < messages.length; i++) if (!this.deleted.has(i + 1)) yield [i + 1, messages[i]];
  }

  totals(): { count: number; size: number } {
    let count = 0;
    let size = 0;
    for (const [, m] of this.visible()) {
      count++;
      size += m.size;
    }
    return { count, size };
  }

  /** The message numbered `n`, or null after answering why there is none. */
  target(n: number): MaildropMessage | null {
    const message = this.maildrop?.messages[n - 1];
    if (n < 1 || !message) {
      this.fail(`Message ${n} does not exist.`);
      return null;
    }
    if (this.deleted.has(n)) {
      this.fail(`Message ${n} is deleted.`);
      return null;
    }
    return message;
  }

  /**
   * Writes message bytes as the body of a multi-line response: dot-stuffed, cut by `cutter` (TOP),
   * with a final CRLF when the data lacks one, and the `.` line. It waits for the socket to drain after
   * each chunk (backpressure); a client that stops reading for `idleTimeoutMs` is disconnected, so it
   * cannot hold the maildrop lock forever. Returns whether the whole body was sent.
   */
  async sendBody(chunks: Iterable<Buffer> | AsyncIterable<Buffer>, cutter: TopCutter | null): Promise<boolean> {
    const stuffer = new DotStuffer();
    let octets = 0;
    try {
      for await (const chunk of chunks) {
        const part = cutter ? cutter.push(chunk) : chunk;
        const out = stuffer.push(part);
        if (out.length > 0) {
          octets += part.length;
          this.conn.write(out);
          if (!(await this.#drain())) return false;
        }
        if (cutter?.done) break;
      }
    } catch (e) {
      // The rest of the message could not be read (another client expunged it, a store fault) after
      // the +OK went out: no reply could say so now, and a `.` would pass off a cut message as whole.
      this.log.warn(
        { sid: this.conn.id, user: this.user?.address, err: e },
        'pop3: message unreadable mid-body; disconnecting',
      );
      this.conn.destroy();
      this.done = true;
      return false;
    }
    const tail = stuffer.finish();
    if (tail.length > 0) this.conn.write(tail);
    this.conn.trace.out(`<message: ${octets} octets>`);
    this.send('.');
    return true;
  }

  /** Waits for written data to leave; false (and the connection dropped) when the client stalls or left. */
  async #drain(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const stalled = await Promise.race([
      this.conn.drain().then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), this.settings.idleTimeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    if (stalled) {
      this.log.info({ sid: this.conn.id, user: this.user?.address }, 'pop3: client stopped reading; disconnecting');
      this.conn.destroy();
    }
    if (stalled || this.conn.closed) {
      this.done = true;
      return false;
    }
    return true;
  }

  async run(): Promise<Record<string, unknown>> {
    const { hostname, version, showVersion } = this.settings;
    this.conn.trace.state('authorization');
    // RFC 1939 §4 greeting; the <...> timestamp announces APOP (§7).
    this.send(ok(`${hostname} POP3 server ${showVersion ? `(postbode ${version}) ` : ''}ready ${this.timestamp}`));
    try {
      while (!this.done && !this.conn.closed) {
        const input = await this.conn.readCommandLine(MAX_COMMAND_LINE);
        if (input.kind === 'eof') break;
        if (input.kind === 'shutdown') {
          // Server shutdown: the session ends without entering UPDATE, so messages marked with DELE stay
          // (RFC 1939 §6: deletions happen only on QUIT).
          this.send(err('Server shutting down; try again later', 'SYS/TEMP'));
          break;
        }
        if (input.kind === 'timeout') {
          // RFC 1939 §3: an autologout timer; the session ends without entering UPDATE.
          this.send(err('Idle for too long, closing the connection', 'SYS/TEMP'));
          break;
        }
        if (input.kind === 'too-long') {
          this.#afterAuth = false;
          this.conn.trace.in(`<line longer than ${MAX_COMMAND_LINE} octets>`);
          this.fail(`Line too long (the limit is ${MAX_COMMAND_LINE} octets per command)`);
        } else {
          await this.#command(input.line, input.ending);
        }
        if (this.errors >= this.settings.maxErrors && !this.done) {
          this.send(err('Too many errors, closing the connection'));
          break;
        }
      }
    } finally {
      await this.releaseMaildrop();
    }
    this.conn.flush();
    return {
      user: this.user?.address ?? null,
      retrieved: this.stats.retrieved,
      deleted: this.stats.deleted,
      errors: this.errors,
    };
  }

  async #command(raw: Buffer, ending: 'crlf' | 'lf'): Promise<void> {
    const text = raw.toString('utf8');
    const line = parseCommandLine(text);
    const command = COMMANDS.get(line.verb);
    // The line after AUTH may be the credentials a careless client sends after a refusal.
    const hidden = this.#afterAuth && !command;
    this.#afterAuth = line.verb === 'AUTH';
    this.conn.trace.in(hidden ? '<redacted>' : (command?.redact(line) ?? text));
    if (ending === 'lf' && this.settings.strict) {
      this.fail('Bare <LF> line ending; end every command with <CR><LF> (strict mode)');
      return;
    }
    if (line.verb === '') {
      this.fail(`Empty command; ${this.#hint()}`);
      return;
    }
    if (!command) {
      this.fail(`Unknown command${hidden ? '' : ` "${printable(line.verb, 20)}"`}; ${this.#hint()}`);
      return;
    }
    if (!command.states.includes(this.state)) {
      this.fail(
        this.state === 'authorization'
          ? `${command.verb} is only valid after login; log in first (USER and PASS, APOP or AUTH)`
          : `${command.verb} is only valid before login; you are logged in as ${this.user?.address}`,
      );
      return;
    }
    if (line.args.some((a) => a.length > command.maxArgument)) {
      this.fail(`Argument too long (the limit is ${command.maxArgument} characters)`);
      return;
    }
    try {
      const syntaxError = await command.exec(this, line);
      if (syntaxError !== null) this.fail(syntaxError);
    } catch (error) {
      this.serverError(error, command.verb);
    }
  }

  #hint(): string {
    const verbs = [...COMMANDS.values()].filter((c) => c.states.includes(this.state)).map((c) => c.verb);
    return `valid now: ${verbs.join(' ')}`;
  }

  /** Releases the maildrop lock (idempotent); QUIT calls it before its reply, `run` at the end. */
  async releaseMaildrop(): Promise<void> {
    const maildrop = this.maildrop;
    if (!maildrop) return;
    try {
      await maildrop.close();
    } catch (error) {
      this.log.error(
        { err: error, sid: this.conn.id, user: this.user?.address },
        'pop3: releasing the maildrop lock failed',
      );
    }
  }
}
