/**
 * One outbound SMTP session to one host, over nodemailer's low-level SMTPConnection, that can carry
 * several transactions (connection reuse; the pool in pool.ts decides when).
 *
 * Invariants:
 * - A recipient is `delivered` only after the peer's 2xx to the end of DATA; 5xx (RCPT, MAIL or DATA)
 *   makes it `failed`, 4xx keeps it `pending`, and so do 503 and a 552 to RCPT (RFC 5321 §4.5.3.1.10). A connection, TLS or timeout error keeps every recipient
 *   that was not yet decided `pending` (a drop after DATA may re-send: RFC 5321 §6.1 accepts duplicates
 *   over loss) and marks the session broken.
 * - Before MAIL FROM the transaction is checked against what the peer advertised in EHLO:
 *   - the envelope or the header needs SMTPUTF8 (non-ASCII address or 8-bit header bytes) and the peer
 *     lacks it → every recipient fails with 5.6.7; no down-conversion (RFC 6531 §3.7.5). When the peer
 *     has it, MAIL FROM carries the SMTPUTF8 parameter (RFC 6531 §3.4) even with ASCII addresses;
 *   - the body has 8-bit bytes and the peer lacks 8BITMIME → every recipient fails with 5.6.3
 *     ("conversion required but not supported", RFC 3463). We do not down-convert: the queued copy is
 *     already DKIM-signed (delivery.ts) and re-encoding would break the signature. BODY=8BITMIME is
 *     sent when the body is 8-bit (RFC 6152 §2).
 * - DSN (RFC 3461): when the peer advertises DSN, RET and ENVID go on MAIL FROM and NOTIFY and ORCPT
 *   on each RCPT TO exactly as the client gave them to us (§6.2.1); `dsnPassed` reports this. Without
 *   DSN at the peer nothing is sent and the caller owes a "relayed" DSN for NOTIFY=SUCCESS (§6.2.3.2).
 * - nodemailer knows one NOTIFY/ORCPT per envelope and cannot add SMTPUTF8 for ASCII addresses; the
 *   two private methods that build those command lines are wrapped per connection (`shim` below,
 *   checked against nodemailer 10.6.1, pinned in package.json).
 * - STARTTLS is used when offered. When TLS is only opportunistic and the handshake fails, `open`
 *   connects once more without STARTTLS (RFC 7435); never with MTA-STS, a TLS-only relay or a relay login.
 * - A peer that refuses the greeting, EHLO/HELO or STARTTLS gets QUIT before the close (RFC 5321 §4.1.1.10).
 * - `error` carries the peer's reply text when there is one (e.g. `550 5.1.1 <x@y>: no such user`).
 */
import net from 'node:net';
import type tls from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { RouteHost } from './routes.js';

export interface RecipientResult {
  address: string;
  state: 'delivered' | 'failed' | 'pending';
  /** The peer's reply (or our reason) for a recipient that was not delivered; null when delivered. */
  error: string | null;
  /** The peer's final reply for a delivered recipient. */
  reply?: string;
  /** The host that answered for this recipient (Remote-MTA in a DSN). */
  remoteMta?: string;
  /** Delivered to a peer without DSN: the sender may be owed a "relayed" DSN (RFC 3461 §6.2.3.2). */
  relayed?: boolean;
}

export interface HostDeliveryResult {
  recipients: RecipientResult[];
  /** The host failed before answering any recipient: try the next host for all of them. */
  hostFailed: boolean;
  /** A summary of what went wrong, or null when every recipient got an answer. */
  error: string | null;
  /** Whether the session was encrypted (STARTTLS or implicit TLS). */
  secure: boolean;
}

export interface ClientOptions {
  /** Our name for EHLO. */
  hostname: string;
  /** TLS options for STARTTLS/implicit TLS; default `{ rejectUnauthorized: false }`. */
  tls?: tls.ConnectionOptions;
  connectionTimeoutMs?: number;
  greetingTimeoutMs?: number;
  socketTimeoutMs?: number;
  /**
   * Finds the address of a host name through the configured DNS servers (`delivery.dns_servers`); null
   * when it has none. Without it, nodemailer asks the system's resolver.
   */
  resolveAddress?: (name: string) => Promise<string | null>;
  /**
   * How long one transaction (MAIL to the reply after the message) may take in all, plus 1 ms per byte
   * of the message (default 30 min): the timeouts above are per reply and every byte restarts them, so a
   * peer that drips its replies a byte at a time would otherwise hold the message for ever.
   */
  transactionDeadlineMs?: number;
  /** How long connecting, the greeting, EHLO and STARTTLS may take together (default 5 min). */
  setupDeadlineMs?: number;
}

export interface TransactionRecipient {
  address: string;
  /** NOTIFY values from the client (RFC 3461 §4.1), or null. */
  notify?: readonly string[] | null;
  /** ORCPT as the client gave it, xtext (`rfc822;bob@example.org`), or null. */
  orcpt?: string | null;
}

export interface Transaction {
  /** Envelope sender; '' for the null sender. */
  envelopeFrom: string;
  recipients: TransactionRecipient[];
  message: Buffer;
  /** DSN RET and ENVID (xtext, as the client gave it) from MAIL FROM. */
  ret?: 'FULL' | 'HDRS' | null;
  envid?: string | null;
}

type NmError = Error & {
  code?: string;
  response?: string;
  responseCode?: number;
  recipient?: string;
  command?: string;
  rejectedErrors?: NmError[];
};
interface TrackedEnvelope {
  rejectedErrors?: NmError[];
}
/** The private parts of nodemailer's SMTPConnection that `shim` wraps (see the file header). */
interface ConnectionInternals {
  _supportedExtensions: string[];
  _recipientQueue: string[];
  _envelope?: TrackedEnvelope | false;
  _getDsnRcptToArgs: () => string;
  _sendCommand: (str: string, logStr?: string) => void;
  _actionDATA: (str: string, callback: (err: Error | null, info?: unknown) => void) => void;
  /** True from the STARTTLS upgrade's start until its handshake succeeds (so still true after it failed). */
  upgrading?: boolean;
}

function describe(err: NmError): string {
  if (err.response) return err.response.trim();
  return `${err.code ?? 'ERROR'}: ${err.message}`;
}

/**
 * A recipient's state from the peer's reply to its RCPT TO. RFC 5321 §4.5.3.1.10: RFC 821 gave "too many
 * recipients" the code 552; clients SHOULD treat a 552 to RCPT as temporary (452), so it is retried.
 */
function rcptState(code: number | undefined): 'failed' | 'pending' {
  return code === 552 ? 'pending' : stateForCode(code);
}

function stateForCode(code: number | undefined): 'failed' | 'pending' {
  return code !== undefined && code >= 500 && code !== 503 ? 'failed' : 'pending';
}

/** Where the header ends (the index after the empty line), or the message length when there is none. */
function headerEnd(message: Buffer): number {
  const crlf = message.indexOf('\r\n\r\n');
  const lf = message.indexOf('\n\n');
  if (crlf < 0 && lf < 0) return message.length;
  if (crlf < 0 || (lf >= 0 && lf < crlf)) return lf + 2;
  return crlf + 4;
}

function any8bit(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] > 0x7f) return true;
  return false;
}

const nonAscii = (s: string) => /[^\x00-\x7f]/.test(s);

/** What a message needs from the peer's transport (RFC 6152, RFC 6531). */
export function transportNeeds(tx: Pick<Transaction, 'envelopeFrom' | 'recipients' | 'message'>): {
  smtputf8: boolean;
  eightBit: boolean;
} {
  const end = headerEnd(tx.message);
  const smtputf8 =
    nonAscii(tx.envelopeFrom) || tx.recipients.some((r) => nonAscii(r.address)) || any8bit(tx.message, 0, end);
  return { smtputf8, eightBit: any8bit(tx.message, end, tx.message.length) };
}

/** Decodes xtext (RFC 3461 §4); null when it is not valid xtext. */
export function decodeXtext(value: string): string | null {
  if (!/^(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})*$/.test(value)) return null;
  return value.replace(/\+([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/**
 * Connects, reads the greeting, says EHLO (and STARTTLS): all of it within `deadlineMs`. The per-reply
 * timeouts restart with every byte, so a peer that answers EHLO with endless `250-` lines a byte at a
 * time would otherwise hold the session for ever.
 */
function connect(conn: SMTPConnection, deadlineMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const deadline = setTimeout(() => {
      fail(
        Object.assign(new Error(`no session within ${Math.round(deadlineMs / 1000)} s (the peer answers too slowly)`), {
          code: 'ETIMEDOUT',
        }),
      );
      conn.close();
    }, deadlineMs);
    const fail = (err: Error) => {
      clearTimeout(deadline);
      if (settled) return;
      settled = true;
      reject(err);
    };
    conn.once('error', (err: NmError) => {
      // RFC 5321 §4.1.1.10: the client MUST NOT close the channel before it sends QUIT. A peer that
      // refused the greeting (§3.1: after a 554 greeting it "MUST still wait for the client to send a
      // QUIT"), EHLO/HELO or STARTTLS waits for it; a 421 peer closes by itself. nodemailer closes
      // right after this event, so the QUIT goes out first (a half-close, its 221 is not awaited).
      if (!settled && err.responseCode && err.responseCode !== 421) {
        (conn as unknown as ConnectionInternals)._sendCommand('QUIT');
      }
      fail(err);
    });
    conn.once('end', () => fail(Object.assign(new Error('connection closed during setup'), { code: 'ECONNECTION' })));
    conn.connect(() => {
      clearTimeout(deadline);
      if (settled) return;
      settled = true;
      resolve();
    });
  });
}

function login(conn: SMTPConnection, auth: { user: string; pass: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    conn.login({ user: auth.user, pass: auth.pass }, (err) => (err ? reject(err) : resolve()));
  });
}

/** State the shimmed command builders read for the transaction in progress. */
interface ShimState {
  rcptArgs: Map<string, string>;
  smtputf8: boolean;
}

/** Wraps the two command builders of one connection (see the file header). */
function shim(conn: SMTPConnection): ShimState {
  const state: ShimState = { rcptArgs: new Map(), smtputf8: false };
  // nodemailer's private API: the fields and methods named in ConnectionInternals.
  const internals = conn as unknown as ConnectionInternals;
  internals._getDsnRcptToArgs = () => {
    const current = internals._recipientQueue[internals._recipientQueue.length - 1];
    return state.rcptArgs.get(current) ?? '';
  };
  const sendCommand = internals._sendCommand.bind(conn);
  internals._sendCommand = (str: string, logStr?: string) => {
    if (state.smtputf8 && /^MAIL FROM:/i.test(str) && !/ SMTPUTF8\b/i.test(str)) {
      sendCommand(`${str} SMTPUTF8`, logStr === undefined ? undefined : `${logStr} SMTPUTF8`);
      return;
    }
    sendCommand(str, logStr);
  };
  // nodemailer takes a 2xx to DATA as leave to send the message (for servers of old that said 250).
  // RFC 5321 §4.1.1.4: the message follows only a 354; a peer that said anything else has not asked
  // for it and would read its lines as commands. The message is not sent, the connection is dropped
  // and the recipients stay queued, as after a lost connection.
  const actionData = internals._actionDATA.bind(conn);
  internals._actionDATA = (str, callback) => {
    if (!/^2/.test(str)) {
      actionData(str, callback);
      return;
    }
    conn.close();
    const reply = str.trim().slice(0, 200);
    callback(
      Object.assign(new Error(`answered DATA with "${reply}" instead of 354; the message was not sent`), {
        code: 'EPROTOCOL',
      }),
    );
  };
  return state;
}

export class SmtpSession {
  readonly where: string;
  /** Completed transactions (whatever their outcome) on this connection. */
  transactions = 0;
  #broken = false;

  private constructor(
    private readonly conn: SMTPConnection,
    readonly host: RouteHost,
    private readonly shimState: ShimState,
    private readonly deadlineMs: number,
  ) {
    this.where = `${host.host}:${host.port}`;
    conn.once('end', () => this.onGone?.());
  }

  /** Connects, says EHLO, upgrades with STARTTLS when offered (or required) and logs in to a relay. */
  static async open(
    host: RouteHost,
    opts: ClientOptions,
    clearText = false,
  ): Promise<{ ok: true; session: SmtpSession } | { ok: false; error: string }> {
    const relay = host.relay;
    const verified = host.verifiedTls === true;
    // TLS is only opportunistic here: no MTA-STS policy, no relay that requires it, no relay password.
    const opportunistic = !verified && !relay?.secure && !relay?.requireTls && !relay?.auth;
    const where = `${host.host}:${host.port}`;
    let address = host.host;
    if (opts.resolveAddress && !net.isIP(host.host)) {
      const found = await opts.resolveAddress(host.host).catch(() => null);
      if (!found)
        return { ok: false, error: `${where}: no A/AAAA record for ${host.host} at the configured DNS servers` };
      address = found;
    }
    const conn = new SMTPConnection({
      host: address,
      // TLS (SNI, and the name a verified certificate must carry) stays with the host's name.
      ...(address !== host.host ? { servername: host.host } : {}),
      port: host.port,
      name: opts.hostname,
      secure: relay?.secure ?? false,
      requireTLS: (relay?.requireTls ?? false) || verified,
      opportunisticTLS: !verified && !clearText,
      ignoreTLS: clearText,
      // MTA-STS: the certificate must be valid for the MX host name (RFC 8461 §4.2).
      tls: verified
        ? { rejectUnauthorized: true, ...(net.isIP(host.host) ? {} : { servername: host.host }) }
        : (opts.tls ?? { rejectUnauthorized: false }),
      connectionTimeout: opts.connectionTimeoutMs ?? 30_000,
      greetingTimeout: opts.greetingTimeoutMs ?? 300_000,
      socketTimeout: opts.socketTimeoutMs ?? 600_000,
      allowInternalNetworkInterfaces: true,
      logger: false,
    });
    // Errors are reported through the promises; an 'error' without a listener would throw.
    conn.on('error', () => {});
    try {
      await connect(conn, opts.setupDeadlineMs ?? 5 * 60_000);
    } catch (err) {
      const handshakeFailed = (conn as unknown as ConnectionInternals).upgrading === true;
      conn.close();
      // Opportunistic TLS (RFC 7435 §1, RFC 3207 only offers it): a peer that offers STARTTLS but
      // cannot finish the handshake gets the mail in clear text over a new connection, as it would if
      // it offered no STARTTLS; else such a peer would never get it. Postfix's "may" level does the same.
      if (handshakeFailed && opportunistic && !clearText) return SmtpSession.open(host, opts, true);
      // A 5xx greeting is still a host failure: the next MX may accept (RFC 5321 §3.1).
      return { ok: false, error: `${where}: ${describe(err as NmError)}` };
    }
    if (relay?.auth) {
      try {
        await login(conn, relay.auth);
      } catch (err) {
        conn.quit();
        return { ok: false, error: `${where}: AUTH failed: ${describe(err as NmError)}` };
      }
    }
    return { ok: true, session: new SmtpSession(conn, host, shim(conn), opts.transactionDeadlineMs ?? 30 * 60_000) };
  }

  get secure(): boolean {
    return this.conn.secure;
  }

  /** Whether another transaction may be started (connected, no broken state). */
  get alive(): boolean {
    return !this.#broken && !this.conn.destroyed;
  }

  /** The EHLO keywords the peer advertised (as nodemailer recognises them: DSN, 8BITMIME, SMTPUTF8, …). */
  get extensions(): ReadonlySet<string> {
    return new Set((this.conn as unknown as ConnectionInternals)._supportedExtensions);
  }

  /** Runs one transaction (MAIL, RCPT…, DATA); never throws for SMTP or network failures. */
  async send(tx: Transaction): Promise<HostDeliveryResult> {
    const where = this.where;
    const secure = this.secure;
    const addresses = tx.recipients.map((r) => r.address);
    const all = (state: 'failed' | 'pending', error: string): RecipientResult[] =>
      addresses.map((address) => ({ address, state, error, remoteMta: this.host.host }));
    const ext = this.extensions;
    const needs = transportNeeds(tx);
    if (needs.smtputf8 && !ext.has('SMTPUTF8')) {
      // RFC 6531 §3.7.5: no down-conversion of internationalized addresses or headers.
      const text =
        `550 5.6.7 ${where} does not support SMTPUTF8, and this message needs it (a non-ASCII address or ` +
        'header); it cannot be converted. Use ASCII addresses and MIME-encoded (RFC 2047) headers to reach this domain';
      return { recipients: all('failed', text), hostFailed: false, error: text, secure };
    }
    if (needs.eightBit && !ext.has('8BITMIME')) {
      const text =
        `554 5.6.3 ${where} does not support 8BITMIME, and this message has an 8-bit body; conversion ` +
        'required but not supported. Send it with a 7-bit transfer encoding (quoted-printable or base64)';
      return { recipients: all('failed', text), hostFailed: false, error: text, secure };
    }

    const dsn = ext.has('DSN');
    this.shimState.smtputf8 = needs.smtputf8;
    this.shimState.rcptArgs = new Map();
    let envelopeDsn: { ret?: string; envid?: string } | undefined;
    if (dsn) {
      // RFC 3461 §6.2.1: pass NOTIFY, ORCPT, RET and ENVID on unchanged.
      for (const r of tx.recipients) {
        const args: string[] = [];
        if (r.notify && r.notify.length > 0) args.push(`NOTIFY=${r.notify.map((v) => v.toUpperCase()).join(',')}`);
        if (r.orcpt) args.push(`ORCPT=${r.orcpt}`);
        if (args.length > 0) this.shimState.rcptArgs.set(r.address, ` ${args.join(' ')}`);
      }
      // nodemailer xtext-encodes RET/ENVID itself: hand it the decoded ENVID.
      const envid = tx.envid ? decodeXtext(tx.envid) : null;
      envelopeDsn = { ...(tx.ret ? { ret: tx.ret } : {}), ...(envid ? { envid } : {}) };
    }
    const envelope = {
      from: tx.envelopeFrom === '' ? false : tx.envelopeFrom,
      to: addresses,
      size: tx.message.length,
      use8BitMime: needs.eightBit,
      ...(envelopeDsn ? { dsn: envelopeDsn } : {}),
    } as SMTPConnection.Envelope;

    let deadline: NodeJS.Timeout | undefined;
    try {
      const info = await new Promise<SMTPConnection.SentMessageInfo>((resolve, reject) => {
        this.conn.send(envelope, tx.message, (err, result) => (err ? reject(err) : resolve(result)));
        // Past the deadline the connection goes: what was not decided stays queued (a lost connection).
        deadline = setTimeout(() => {
          this.#broken = true;
          reject(
            Object.assign(new Error('the transaction took too long (the peer answers too slowly)'), {
              code: 'ETIMEDOUT',
            }),
          );
          this.conn.close();
        }, this.deadlineMs + tx.message.length);
      });
      const rejected = new Map<string, NmError>();
      for (const e of (info.rejectedErrors ?? []) as NmError[]) if (e.recipient) rejected.set(e.recipient, e);
      const accepted = new Set(info.accepted);
      const response = info.response.trim();
      const recipients = addresses.map((address): RecipientResult => {
        if (accepted.has(address)) {
          return {
            address,
            state: 'delivered',
            error: null,
            reply: response,
            remoteMta: this.host.host,
            ...(dsn ? {} : { relayed: true }),
          };
        }
        const e = rejected.get(address);
        if (e) return { address, state: rcptState(e.responseCode), error: describe(e), remoteMta: this.host.host };
        return { address, state: 'pending', error: `${where}: no reply for this recipient` };
      });
      return { recipients, hostFailed: false, error: null, secure };
    } catch (err) {
      return this.#failure(err as NmError, addresses, secure);
    } finally {
      clearTimeout(deadline);
      this.transactions++;
    }
  }

  #failure(e: NmError, addresses: string[], secure: boolean): HostDeliveryResult {
    const where = this.where;
    const remoteMta = this.host.host;
    const tracked = (this.conn as unknown as ConnectionInternals)._envelope || undefined;
    const perRecipient = new Map<string, NmError>();
    for (const r of e.rejectedErrors ?? tracked?.rejectedErrors ?? [])
      if (r.recipient) perRecipient.set(r.recipient, r);
    const text = describe(e);
    // Too big for the peer's advertised SIZE: permanent (RFC 1870 §6.1, 552 5.3.4).
    if (e.code === 'EMESSAGE' && !e.responseCode) {
      // Decided here from the peer's EHLO, not replied by it.
      const limit = /allowed (\d+)/.exec(e.message)?.[1];
      const error = `552 5.3.4 the message is larger than the limit ${where} advertises (SIZE ${limit ?? '?'}, RFC 1870); it was not sent`;
      return {
        recipients: addresses.map((address) => ({ address, state: 'failed', error })),
        hostFailed: false,
        error,
        secure,
      };
    }
    if (!e.responseCode) {
      // Connection lost or timed out mid-transaction: nothing is decided except explicit rejections.
      this.#broken = true;
      const recipients = addresses.map((address): RecipientResult => {
        const r = perRecipient.get(address);
        if (r?.responseCode) return { address, state: rcptState(r.responseCode), error: describe(r), remoteMta };
        return { address, state: 'pending', error: `${where}: ${text}` };
      });
      return { recipients, hostFailed: perRecipient.size === 0, error: `${where}: ${text}`, secure };
    }
    const mailFromFailed = /^MAIL FROM/i.test(e.command ?? '');
    const recipients = addresses.map((address): RecipientResult => {
      const r = perRecipient.get(address);
      if (r && !mailFromFailed) return { address, state: rcptState(r.responseCode), error: describe(r), remoteMta };
      return { address, state: stateForCode(e.responseCode), error: text, remoteMta };
    });
    return {
      recipients,
      hostFailed: mailFromFailed && stateForCode(e.responseCode) === 'pending',
      error: text,
      secure,
    };
  }

  /** RSET (RFC 5321 §4.1.1.5) before the next transaction; false (and the session is broken) on failure. */
  reset(): Promise<boolean> {
    if (!this.alive) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.conn.reset((err) => {
        if (err) this.#broken = true;
        resolve(!err);
      });
    });
  }

  /**
   * QUIT when the connection is still up (the library closes it once answered, or after its close
   * timeout), else just close; resolves when the connection is gone.
   */
  close(): Promise<void> {
    this.#broken = true;
    const gone = new Promise<void>((resolve) => {
      if (this.conn.destroyed) resolve();
      else this.conn.once('end', () => resolve());
    });
    if (this.conn.destroyed) this.conn.close();
    else this.conn.quit();
    return gone;
  }

  /** Called once when the connection goes (closed by us, by the peer, or by an error). */
  onGone: (() => void) | null = null;
}

/** The result of a transaction whose connection could not be opened: every recipient stays pending. */
export function connectionFailed(tx: Transaction, error: string): HostDeliveryResult {
  return {
    recipients: tx.recipients.map((r) => ({ address: r.address, state: 'pending', error })),
    hostFailed: true,
    error,
    secure: false,
  };
}

/** Delivers one transaction to one host over a connection of its own (no reuse). */
export async function deliverToHost(
  host: RouteHost,
  tx: Transaction,
  opts: ClientOptions,
): Promise<HostDeliveryResult> {
  const opened = await SmtpSession.open(host, opts);
  if (!opened.ok) return connectionFailed(tx, opened.error);
  try {
    return await opened.session.send(tx);
  } finally {
    await opened.session.close();
  }
}
