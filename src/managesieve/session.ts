/**
 * One ManageSieve session (RFC 5804): the greeting (the capabilities and `OK`), the command loop, and
 * the state the handlers in ./commands share. The loop reads a whole command (wire.ts: lines and
 * literals, bounded), finds it by name, checks the state, parses its arguments and runs it.
 *
 * Invariants:
 * - States: unauthenticated until AUTHENTICATE succeeds, then authenticated; UNAUTHENTICATE goes back
 *   (RFC 5804 §2.14). LOGOUT, a BYE, the client leaving or the idle timeout end the session.
 * - Credentials go through the one SASL exchange (src/auth/sasl-exchange.ts) and the shared login
 *   limiter, as in IMAP and POP3; PLAIN and LOGIN are offered and accepted only where the backend
 *   allows plaintext on this connection (TLS, or a plaintext network), else `NO (ENCRYPT-NEEDED)`.
 * - Secrets never reach the trace: AUTHENTICATE's initial response, every response of the exchange
 *   and the line after an AUTHENTICATE (unless it is a known command) are `<redacted>`.
 * - Memory is bounded per command (wire.ts) and by the connection's output backpressure; a literal
 *   larger than its argument allows is dropped unread into memory, or ends the session when it is
 *   too large to skip. Before login, literals are small (`MAX_QUOTED`, SASL responses).
 * - Errors: client mistakes (unknown command, wrong state, syntax) get `NO` with a hint and count
 *   toward `maxErrors`; refusals the protocol defines get their response code (NONEXISTENT, ACTIVE,
 *   ALREADYEXISTS, QUOTA/…); server faults get `NO (TRYLATER)` and a log line, never internal text.
 */
import type tls from 'node:tls';
import { advertisedMechanisms, type SaslFailure } from '../auth/sasl.js';
import { type LoginClient, throttledText } from '../auth/service.js';
import type { Logger } from '../log.js';
import type { Connection } from '../net/connection.js';
import { StoreFullError } from '../store/types.js';
import type { ManageSieveBackend, ManageSieveUser } from './backend.js';
import { COMMANDS } from './commands/index.js';
import { type Arg, encodeString, MAX_QUOTED, printable, type RespCode, readCommand, response } from './wire.js';

export interface ManageSieveSettings {
  hostname: string;
  /** The postbode version, in IMPLEMENTATION unless `showVersion` is false. */
  version: string;
  showVersion: boolean;
  /** Strict mode refuses bare-LF command lines; lab mode (the default) accepts them. */
  strict: boolean;
  idleTimeoutMs: number;
  /** Client errors before the server hangs up. */
  maxErrors: number;
  /** Failed logins before the server hangs up. */
  maxAuthFailures: number;
  /** The certificate for STARTTLS, or null when TLS is not configured. */
  tlsContext: (() => tls.SecureContext) | null;
  /** Scripts one account may keep (`sieve.max_scripts`). */
  maxScripts: number;
  /** Largest script, in octets (`sieve.max_script_bytes`). */
  maxScriptBytes: number;
  /** Redirects one run may take (`sieve.max_redirects`): the MAXREDIRECTS capability. */
  maxRedirects: number;
  /** The extensions a script may require: the SIEVE capability. */
  extensions: readonly string[];
}

export type ManageSieveState = 'unauthenticated' | 'authenticated';

/** Before login nothing larger than a SASL response is read, not even to drop it. */
const DISCARD_BEFORE_LOGIN = 16 * 1024;
/** After login a script literal over the limit is dropped when under this (else the session ends). */
const MIN_DISCARD = 1024 * 1024;

/** Comparators every script has (RFC 5228 §2.7.3); Pigeonhole does not list them either. */
const IMPLICIT = new Set(['comparator-i;octet', 'comparator-i;ascii-casemap']);

export class ManageSieveSession {
  state: ManageSieveState = 'unauthenticated';
  user: ManageSieveUser | null = null;
  errors = 0;
  authFailures = 0;
  done = false;
  /** Set after AUTHENTICATE: the next line is traced as `<redacted>` unless it is a known command. */
  afterAuth = false;
  readonly stats = { commands: 0, scriptsPut: 0 };

  constructor(
    readonly conn: Connection,
    readonly settings: ManageSieveSettings,
    readonly backend: ManageSieveBackend,
    readonly log: Logger,
  ) {}

  /** Sends a response; a literal in it (`{N}` CRLF bytes) leaves as is, traced line by line. */
  send(text: string): void {
    if (!text.includes('\n')) {
      this.conn.writeLine(text);
      return;
    }
    for (const line of text.split('\r\n')) this.conn.trace.out(line);
    this.conn.write(`${text}\r\n`);
  }

  ok(text?: string, code?: RespCode): void {
    this.send(response('OK', code, text));
  }

  no(text: string, code?: RespCode): void {
    this.send(response('NO', code, text));
  }

  /** A client mistake: `NO`, counted toward `maxErrors`. */
  fail(text: string, code?: RespCode): void {
    this.no(text, code);
    this.errors++;
  }

  /** Ends the session after this response. */
  bye(text: string, code?: RespCode): void {
    this.send(response('BYE', code, text));
    this.done = true;
  }

  /** An unexpected server-side failure: logged, and a temporary refusal for the client. */
  serverError(error: unknown, context: string): void {
    if (error instanceof StoreFullError) {
      this.log.warn({ sid: this.conn.id, context, user: this.user?.address }, 'managesieve: the store is full');
      this.no('The server is out of storage space; please try again later', 'TRYLATER');
      return;
    }
    this.log.error({ err: error, sid: this.conn.id, context, user: this.user?.address }, 'managesieve server error');
    this.no('Local error in processing; please try again later', 'TRYLATER');
  }

  /** The logged-in user; commands of the authenticated state only (the state check runs first). */
  get account(): ManageSieveUser {
    if (!this.user) throw new Error('managesieve: a command of the authenticated state ran without a login');
    return this.user;
  }

  /** Whether PLAIN and LOGIN may be used on this connection now. */
  get plaintextAllowed(): boolean {
    return this.backend.auth.plaintextAllowed(this.conn);
  }

  /** Who is logging in, for the shared login limits (src/auth/limiter.ts). */
  get client(): LoginClient {
    return { remoteAddress: this.conn.remoteAddress, protocol: 'managesieve' };
  }

  /** The capability lines of RFC 5804 §1.7 for the current state and connection. */
  capabilities(): string[] {
    const s = this.settings;
    const sieve = s.extensions.filter((e) => !IMPLICIT.has(e)).join(' ');
    const lines = [
      `"IMPLEMENTATION" ${encodeString(s.showVersion ? `postbode ${s.version}` : 'postbode')}`,
      `"SIEVE" ${encodeString(sieve)}`,
      `"MAXREDIRECTS" ${encodeString(String(s.maxRedirects))}`,
    ];
    if (this.state === 'unauthenticated') {
      // RFC 5804 §1.7: SASL may be empty, when no mechanism is usable before STARTTLS.
      const mechanisms = this.plaintextAllowed ? advertisedMechanisms(this.backend.auth, this.conn).join(' ') : '';
      lines.push(`"SASL" ${encodeString(mechanisms)}`);
      if (s.tlsContext && !this.conn.secure) lines.push('"STARTTLS"');
    }
    lines.push('"VERSION" "1.0"', '"UNAUTHENTICATE"');
    // RFC 5804 §1.7: OWNER only after login.
    if (this.user) lines.push(`"OWNER" ${encodeString(this.user.address)}`);
    return lines;
  }

  /** The capabilities and a final OK (the greeting, CAPABILITY, and after STARTTLS, RFC 5804 §2.2). */
  sendCapabilities(text?: string): void {
    for (const line of this.capabilities()) this.send(line);
    this.ok(text);
  }

  /** After a successful credential check. */
  loggedIn(user: ManageSieveUser, mechanism: string): void {
    this.conn.trace.auth(user.address, true, mechanism);
    this.user = user;
    this.state = 'authenticated';
    this.conn.trace.state('authenticated');
    this.ok(`Logged in as ${user.address}`);
  }

  /** After failed credentials, or a login refused by the limits (`TRYLATER`): NO, or BYE at the limit. */
  loginFailed(name: string, mechanism: string, failure: SaslFailure): void {
    this.conn.trace.auth(name, false, mechanism);
    this.authFailures++;
    const throttled = failure.reason === 'throttled';
    const text = throttled ? throttledText(failure.throttle) : (failure.text ?? 'Authentication failed');
    const code = throttled ? 'TRYLATER' : undefined;
    if (this.authFailures >= this.settings.maxAuthFailures) {
      this.bye(`${text}; too many failed logins, closing the connection`, code);
      return;
    }
    this.no(text, code);
  }

  async run(): Promise<Record<string, unknown>> {
    this.conn.trace.state('unauthenticated');
    // RFC 5804 §1.7: the server greets with its capabilities and OK.
    this.sendCapabilities(`${this.settings.hostname} ManageSieve ready`);
    while (!this.done && !this.conn.closed) {
      const input = await readCommand(this.conn, {
        shape: {
          literalLimit: (name, index) => {
            const command = COMMANDS.get(name);
            return command?.states.includes(this.state) ? command.literalLimit(index, this.settings) : MAX_QUOTED;
          },
          redactFrom: (name) => {
            const command = COMMANDS.get(name);
            // The line after AUTHENTICATE may be a careless client's credentials (see #dispatch).
            if (this.afterAuth && !command) return 0;
            return command?.redactFrom ?? null;
          },
        },
        strict: this.settings.strict,
        discardLimit:
          this.state === 'authenticated'
            ? Math.max(4 * this.settings.maxScriptBytes, MIN_DISCARD)
            : DISCARD_BEFORE_LOGIN,
      });
      if (input.kind === 'eof') break;
      if (input.kind === 'shutdown') {
        this.bye('Server shutting down; try again later', 'TRYLATER');
        break;
      }
      if (input.kind === 'timeout') {
        this.bye('Disconnected for inactivity');
        break;
      }
      if (input.kind === 'fatal') {
        this.bye(input.message);
        break;
      }
      this.stats.commands++;
      const afterAuth = this.afterAuth;
      this.afterAuth = false;
      switch (input.kind) {
        case 'empty':
          this.fail(`Empty command; ${this.#hint()}`);
          break;
        case 'syntax':
          this.fail(`${this.#known(input.name, afterAuth)}: ${input.message}`);
          break;
        case 'too-big':
          this.#tooBig(input.name, input.index, input.size, input.limit);
          break;
        case 'command':
          await this.#dispatch(input.name, input.args, afterAuth);
          break;
      }
      if (this.errors >= this.settings.maxErrors && !this.done) {
        this.bye('Too many errors, closing the connection');
      }
    }
    this.conn.flush();
    return { user: this.user?.address ?? null, commands: this.stats.commands, errors: this.errors };
  }

  /** A command name as an error may echo it (not the line after AUTHENTICATE, which may be a secret). */
  #known(name: string, afterAuth: boolean): string {
    return COMMANDS.has(name) || !afterAuth ? printable(name, 20) : 'Command';
  }

  #tooBig(name: string, index: number, size: number, limit: number): void {
    const command = COMMANDS.get(name);
    const script = (name === 'PUTSCRIPT' && index === 1) || (name === 'CHECKSCRIPT' && index === 0);
    if (script && command?.states.includes(this.state)) {
      // RFC 5804 §2.6: a script over the size limit is refused with QUOTA/MAXSIZE.
      this.no(`The script is ${size} octets; the limit is ${limit} octets`, 'QUOTA/MAXSIZE');
      return;
    }
    this.fail(`Literal of ${size} octets is too large here (the limit is ${limit} octets)`);
  }

  async #dispatch(name: string, args: Arg[], afterAuth: boolean): Promise<void> {
    const command = COMMANDS.get(name);
    if (!command) {
      this.fail(`Unknown command${afterAuth ? '' : ` "${printable(name, 20)}"`}; ${this.#hint()}`);
      return;
    }
    if (!command.states.includes(this.state)) {
      this.fail(
        this.state === 'unauthenticated'
          ? `${command.name} is only valid after login; log in first with AUTHENTICATE`
          : `${command.name} is only valid before login; you are logged in as ${this.user?.address} (UNAUTHENTICATE first)`,
      );
      return;
    }
    try {
      const syntaxError = await command.exec(this, args);
      if (syntaxError !== null) this.fail(syntaxError);
    } catch (error) {
      this.serverError(error, command.name);
    }
  }

  #hint(): string {
    const names = [...COMMANDS.values()].filter((c) => c.states.includes(this.state)).map((c) => c.name);
    return `valid now: ${names.join(' ')}`;
  }
}
