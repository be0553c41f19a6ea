/**
 * One SMTP session (RFC 5321): the greeting, the command loop, and the state the command handlers in
 * ./commands share. The loop reads a line, finds the command by verb, runs its checks (state, sequence
 * rules and grammar, in the command's order; the first failing one answers), then its handler, and
 * counts errors.
 *
 * Invariants:
 * - A session's line ending is fixed by its first command (`crlf` or, in lab mode, `lf`); DATA uses it
 *   to decide what ends the message (see net/dotstream.ts), so CRLF sessions cannot be smuggled into.
 * - Per-message state lives in `tx`, created by MAIL and dropped by RSET, HELO/EHLO, STARTTLS and the
 *   end of DATA/BDAT LAST (RFC 5321 §4.1.4).
 * - A 250 after DATA/BDAT LAST is sent only after the delivery layer reports the message durable.
 * - Client errors get 5xx/4xx with an enhanced code and an explanation; after `maxErrors` of them the
 *   session ends with 421. Server faults get 451 4.3.0 and a log line, never internal text.
 */
import type tls from 'node:tls';
import type { SaslAuth } from '../auth/sasl.js';
import type { LoginClient, LoginResult } from '../auth/service.js';
import type { AcceptedRecipient, DeliveryReport, IncomingMessage, Resolution } from '../delivery/delivery.js';
import type { Logger } from '../log.js';
import type { Connection } from '../net/connection.js';
import type { BodySink } from '../net/spool.js';
import { COMMANDS } from './commands/index.js';
import type { Check, GrammarContext, Handler, SmtpCommand, SmtpState } from './commands/types.js';
import { formatReply, R, type Reply, reply } from './reply.js';

export interface SmtpSettings {
  hostname: string;
  /** e.g. `postbode 0.1.0`. */
  product: string;
  showVersion: boolean;
  strict: boolean;
  /** `mx`: port 25, mail for local domains, AUTH optional. `submission`: AUTH required to send. */
  role: 'mx' | 'submission';
  maxMessageSize: number;
  maxRecipients: number;
  maxLineLength: number;
  idleTimeoutMs: number;
  maxErrors: number;
  maxAuthFailures: number;
  /** Offer AUTH on the MX listener. */
  authOnMx: boolean;
  /**
   * Where users send mail with a login, as replies name it: "the submission port 587", or null when no
   * submission listener is configured. Absent means "the submission port 587".
   */
  submissionHint?: string | null;
  /**
   * `smtp.sender_login_match`: an authenticated session may send only as an address its account owns
   * (MAIL FROM and the From: header, see sender-check.ts). Absent means true.
   */
  senderLoginMatch?: boolean;
  tlsContext: (() => tls.SecureContext) | null;
}

/** What the SMTP engine needs from the rest of the server (for AUTH: `SaslAuth`, its `scram` optional). */
export interface SmtpBackend extends SaslAuth<string> {
  plaintextAllowed(conn: { secure: boolean; remoteAddress: string }): boolean;
  /** The account address on success; under the shared login limits (src/auth/limiter.ts). */
  login(client: LoginClient, username: string, password: string): Promise<LoginResult<string>>;
  resolve(address: string): Promise<Resolution>;
  deliver(msg: IncomingMessage): Promise<DeliveryReport>;
  /**
   * Inbound checks (SPF, DKIM, DMARC, ARC) of a message before `deliver`. Called only on the MX role and
   * only when the session is not authenticated; absent: no checks. `deliver` then gets the returned
   * message (with its Authentication-Results header); `refuse` is answered as is and nothing is stored.
   */
  checkInbound?(msg: IncomingMessage): Promise<InboundVerdict>;
  /**
   * The lower-case addresses of the accounts that may send as `address` (the account itself, accounts an
   * exact alias delivers to); empty for addresses no account owns. Absent: an account owns only its own
   * address. Used by `senderLoginMatch`.
   */
  senderOwners?(address: string): Promise<string[]>;
  /** True while the store refuses new mail for lack of disk space (MAIL then gets 452 4.3.1). */
  storageFull?(): boolean;
}

/** What `SmtpBackend.checkInbound` decided. */
export type InboundVerdict =
  | { action: 'deliver'; msg: IncomingMessage }
  | { action: 'refuse'; code: number; enhanced: string; text: string };

export interface Transaction {
  from: string;
  params: Map<string, string | null>;
  recipients: AcceptedRecipient[];
  smtputf8: boolean;
  /** The message received so far by BDAT chunks (RFC 3030), spooled past a small size. */
  chunks: BodySink | null;
  chunkBytes: number;
  /** Set when a BDAT chunk pushed the message over the size limit. */
  chunkTooBig: boolean;
}

export class SmtpSession {
  greeting: { verb: 'HELO' | 'EHLO'; domain: string } | null = null;
  lineMode: 'crlf' | 'lf' | null = null;
  tx: Transaction | null = null;
  authUser: string | null = null;
  errors = 0;
  authFailures = 0;
  done = false;
  /**
   * Set after an AUTH command (answered or refused): a client may send its base64 credentials anyway,
   * so the next line is traced as `<redacted>` unless it starts with a known command verb.
   */
  #afterAuth = false;
  readonly stats = { commands: 0, messages: 0, recipients: 0, rejected: 0 };

  constructor(
    readonly conn: Connection,
    readonly settings: SmtpSettings,
    readonly backend: SmtpBackend,
    readonly log: Logger,
  ) {}

  get lab(): boolean {
    return !this.settings.strict;
  }

  send(r: Reply): void {
    for (const line of formatReply(r)) this.conn.writeLine(line);
    if (r.code >= 500) this.errors++;
  }

  /** A client mistake: counts toward the error limit. */
  fail(code: number, enhanced: string, text: string): void {
    this.send(reply(code, enhanced, text));
    if (code < 500) this.errors++;
  }

  /** Whether AUTH is offered on this connection right now. */
  get authOffered(): boolean {
    if (this.settings.role === 'mx' && !this.settings.authOnMx) return false;
    return this.backend.plaintextAllowed(this.conn);
  }

  /** Where the session is in RFC 5321's order of commands (commands/types.ts). */
  get state(): SmtpState {
    if (!this.greeting) return 'connected';
    const tx = this.tx;
    if (!tx) return 'greeted';
    // A chunk taken makes `chunking` even without recipients (BDAT 0 after MAIL), as RCPT and DATA see it.
    if (tx.chunks) return 'chunking';
    return tx.recipients.length > 0 ? 'rcpt' : 'mail';
  }

  /** The transaction, for handlers whose states (`mail`, `rcpt`, `chunking`) guarantee one. */
  transaction(): Transaction {
    if (!this.tx) throw new Error('no mail transaction in a state that has one');
    return this.tx;
  }

  resetTransaction(): void {
    this.tx?.chunks?.discard();
    this.tx = null;
  }

  /** The reply to an unrecoverable server-side failure. */
  serverError(err: unknown, context: string): void {
    this.log.error({ err, sid: this.conn.id, context }, 'smtp server error');
    this.send(reply(451, '4.3.0', 'Local error in processing; please try again later'));
  }

  async run(): Promise<Record<string, unknown>> {
    const { hostname, product, showVersion } = this.settings;
    this.conn.trace.state('connected');
    this.send(reply(220, null, `${hostname} ESMTP ${showVersion ? `${product} ` : ''}ready`));
    while (!this.done && !this.conn.closed) {
      const input = await this.conn.readCommandLine(this.settings.maxLineLength);
      if (input.kind === 'eof') break;
      if (input.kind === 'shutdown') {
        // Server shutdown, between commands (a DATA/BDAT transfer in progress finished first). RFC 3463
        // §3.5: X.3.2 "System not accepting network messages"; RFC 5321 §3.8: 421 closes the channel.
        this.send(reply(421, '4.3.2', `${hostname} Service shutting down, closing connection`));
        break;
      }
      if (input.kind === 'timeout') {
        this.send(reply(421, '4.4.2', `${hostname} Error: timeout exceeded, closing connection`));
        break;
      }
      if (input.kind === 'too-long') {
        this.#afterAuth = false;
        this.conn.trace.in(`<line longer than ${this.settings.maxLineLength} bytes>`);
        this.fail(500, '5.5.6', `Line too long (the limit is ${this.settings.maxLineLength} bytes per command)`);
      } else {
        await this.#command(input.line, input.ending);
      }
      if (this.errors >= this.settings.maxErrors && !this.done) {
        this.send(reply(421, '4.7.0', `${hostname} Error: too many errors, closing connection`));
        break;
      }
    }
    this.resetTransaction();
    this.conn.flush();
    return {
      user: this.authUser,
      helo: this.greeting?.domain ?? null,
      ...this.stats,
      errors: this.errors,
    };
  }

  async #command(raw: Buffer, ending: 'crlf' | 'lf'): Promise<void> {
    const line = raw.toString('utf8');
    this.stats.commands++;
    const sp = line.search(/[ \t]/);
    const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const args = sp < 0 ? '' : line.slice(sp + 1);
    const command = COMMANDS.get(verb);
    // The line after AUTH may be the credentials a careless client sends after a refusal.
    const hidden = this.#afterAuth && !command;
    this.#afterAuth = verb === 'AUTH';
    this.conn.trace.in(verb === 'AUTH' ? redactAuth(line) : hidden ? '<redacted>' : line);
    if (this.lineMode === null) this.lineMode = ending;
    if (ending === 'lf' && this.settings.strict) {
      this.fail(501, '5.5.2', 'Bare <LF> line ending; end every command with <CR><LF> (strict mode)');
      return;
    }
    if (verb === '') {
      this.fail(500, '5.5.2', 'Empty command; type HELP for the list of commands');
      return;
    }
    if (!command) {
      const shown = hidden ? '' : ` "${verb.slice(0, 32)}"`;
      this.fail(500, '5.5.2', `Command${shown} not recognized; type HELP for the list of commands`);
      return;
    }
    try {
      const run = this.#check(command, args);
      if (run) await run(this);
    } catch (err) {
      this.serverError(err, verb);
    }
  }

  /**
   * Runs the command's checks in its order (commands/types.ts `Check`) and answers the first that fails;
   * otherwise returns the handler bound to the parsed arguments.
   */
  #check(command: SmtpCommand, args: string): Handler | null {
    let run: Handler | null = null;
    for (const check of command.checks) {
      let refusal: Reply | null = null;
      if (check === 'parse') {
        const grammar: GrammarContext = {
          strict: this.settings.strict,
          esmtp: this.greeting?.verb === 'EHLO',
          maxMessageSize: this.settings.maxMessageSize,
        };
        const parsed = command.parse(args, grammar);
        if (parsed.ok) run = parsed.args;
        else refusal = parsed.error;
      } else {
        refusal = this.#sequenceRefusal(command, check);
      }
      if (refusal) {
        this.send(refusal);
        return null;
      }
    }
    return run;
  }

  /** The reply for a command out of sequence, or null when `check` holds. */
  #sequenceRefusal(command: SmtpCommand, check: Exclude<Check, 'parse'>): Reply | null {
    switch (check) {
      case 'state': {
        const state = this.state;
        return command.states.includes(state) ? null : command.outOfState(state);
      }
      case 'ehlo':
        return this.greeting?.verb === 'EHLO' ? null : R.badSequence('Send EHLO first');
      case 'not-logged-in':
        return this.authUser ? R.badSequence('Already authenticated') : null;
      case 'login-on-submission':
        return this.settings.role === 'submission' && !this.authUser
          ? reply(530, '5.7.0', 'Authentication required: log in with AUTH before sending on this port')
          : null;
    }
  }

  /** Builds the accepted message for the delivery layer. */
  incoming(tx: Transaction, data: Buffer): IncomingMessage {
    const esmtp = this.greeting?.verb === 'EHLO';
    // RFC 3848 (ESMTP, ESMTPS, ESMTPA, ESMTPSA); RFC 6531 §3.7.3: UTF8SMTP… when MAIL carried SMTPUTF8.
    const base = !esmtp ? 'SMTP' : tx.smtputf8 ? 'UTF8SMTP' : 'ESMTP';
    const protocol = `${base}${esmtp && this.conn.secure ? 'S' : ''}${esmtp && this.authUser ? 'A' : ''}`;
    const ret = tx.params.get('RET')?.toUpperCase();
    return {
      envelopeFrom: tx.from,
      recipients: tx.recipients,
      data,
      dsnRet: ret === 'FULL' || ret === 'HDRS' ? ret : null,
      dsnEnvid: tx.params.get('ENVID') ?? null,
      trace: {
        helo: this.greeting?.domain ?? `[${this.conn.remoteAddress}]`,
        remoteAddress: this.conn.remoteAddress,
        protocol,
        sessionId: this.conn.id,
        tls: this.conn.tlsInfo,
        authUser: this.authUser,
      },
    };
  }
}

function redactAuth(line: string): string {
  const parts = line.split(/\s+/);
  return parts.length > 2 ? `${parts[0]} ${parts[1]} <redacted>` : line;
}
