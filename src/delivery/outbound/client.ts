/**
 * The outbound SMTP client: hands one message to one host for a list of recipients, over nodemailer's
 * low-level SMTPConnection, and reports a result per recipient.
 *
 * Invariants:
 * - A recipient is `delivered` only after the peer's 2xx to the end of DATA; 5xx (RCPT, MAIL or DATA)
 *   makes it `failed`, 4xx keeps it `pending`. A connection, TLS or timeout error keeps every recipient
 *   that was not yet decided `pending` (a drop after DATA may re-send: RFC 5321 §6.1 accepts duplicates
 *   over loss).
 * - `error` carries the peer's reply text when there is one (e.g. `550 5.1.1 <x@y>: no such user`).
 * - EHLO uses our hostname; STARTTLS is opportunistic (used when offered, clear text when the upgrade
 *   fails) unless the route requires TLS; certificates are not verified unless configured (there is no
 *   MTA-STS/DANE yet). PIPELINING, SIZE, 8BITMIME and SMTPUTF8 are used as the library negotiates them.
 * - `hostFailed` tells the caller that the host itself failed before any recipient was answered
 *   (connect, greeting, EHLO, TLS, AUTH, MAIL FROM 4xx), so the next MX may be tried.
 */
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
}

export interface SendRequest {
  host: RouteHost;
  /** Envelope sender; '' for the null sender. */
  envelopeFrom: string;
  recipients: string[];
  message: Buffer;
}

type NmError = Error & {
  code?: string;
  response?: string;
  responseCode?: number;
  recipient?: string;
  rejectedErrors?: NmError[];
};
interface TrackedEnvelope {
  accepted?: string[];
  rejected?: string[];
  rejectedErrors?: NmError[];
}

function describe(err: NmError): string {
  if (err.response) return err.response.trim();
  return `${err.code ?? 'ERROR'}: ${err.message}`;
}

function stateForCode(code: number | undefined): 'failed' | 'pending' {
  return code !== undefined && code >= 500 && code !== 503 ? 'failed' : 'pending';
}

/** Whether the bytes need an 8-bit transport (BODY=8BITMIME). */
function has8bit(message: Buffer): boolean {
  for (const b of message) if (b > 0x7f) return true;
  return false;
}

function connect(conn: SMTPConnection): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    conn.once('error', fail);
    conn.once('end', () => fail(Object.assign(new Error('connection closed during setup'), { code: 'ECONNECTION' })));
    conn.connect(() => {
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

function send(
  conn: SMTPConnection,
  envelope: SMTPConnection.Envelope,
  message: Buffer,
): Promise<SMTPConnection.SentMessageInfo> {
  return new Promise((resolve, reject) => {
    conn.send(envelope, message, (err, info) => (err ? reject(err) : resolve(info)));
  });
}

/** Delivers `req.message` to one host; never throws for SMTP or network failures. */
export async function deliverToHost(req: SendRequest, opts: ClientOptions): Promise<HostDeliveryResult> {
  const relay = req.host.relay;
  const conn = new SMTPConnection({
    host: req.host.host,
    port: req.host.port,
    name: opts.hostname,
    secure: relay?.secure ?? false,
    requireTLS: relay?.requireTls ?? false,
    opportunisticTLS: true,
    tls: opts.tls ?? { rejectUnauthorized: false },
    connectionTimeout: opts.connectionTimeoutMs ?? 30_000,
    greetingTimeout: opts.greetingTimeoutMs ?? 300_000,
    socketTimeout: opts.socketTimeoutMs ?? 600_000,
    allowInternalNetworkInterfaces: true,
    logger: false,
  });
  // Errors are reported through the promises below; an 'error' without a listener would throw.
  conn.on('error', () => {});
  const all = (state: 'failed' | 'pending', error: string): RecipientResult[] =>
    req.recipients.map((address) => ({ address, state, error }));
  const where = `${req.host.host}:${req.host.port}`;

  try {
    await connect(conn);
  } catch (err) {
    conn.close();
    const e = err as NmError;
    const text = `${where}: ${describe(e)}`;
    // A 5xx greeting is still a host failure: the next MX may accept (RFC 5321 §3.1).
    return { recipients: all('pending', text), hostFailed: true, error: text, secure: false };
  }
  const secure = conn.secure;
  try {
    if (relay?.auth) {
      try {
        await login(conn, relay.auth);
      } catch (err) {
        const text = `${where}: AUTH failed: ${describe(err as NmError)}`;
        return { recipients: all('pending', text), hostFailed: true, error: text, secure };
      }
    }
    const envelope: SMTPConnection.Envelope = {
      from: req.envelopeFrom === '' ? false : req.envelopeFrom,
      to: req.recipients,
      size: req.message.length,
      use8BitMime: has8bit(req.message),
    };
    try {
      const info = await send(conn, envelope, req.message);
      const rejected = new Map<string, NmError>();
      for (const e of (info.rejectedErrors ?? []) as NmError[]) if (e.recipient) rejected.set(e.recipient, e);
      const accepted = new Set(info.accepted);
      const response = info.response.trim();
      const recipients = req.recipients.map((address): RecipientResult => {
        if (accepted.has(address)) return { address, state: 'delivered', error: null, reply: response };
        const e = rejected.get(address);
        if (e) return { address, state: stateForCode(e.responseCode), error: describe(e) };
        return { address, state: 'pending', error: `${where}: no reply for this recipient` };
      });
      return { recipients, hostFailed: false, error: null, secure };
    } catch (err) {
      const e = err as NmError;
      const tracked = (conn as unknown as { _envelope?: TrackedEnvelope })._envelope;
      const perRecipient = new Map<string, NmError>();
      for (const r of e.rejectedErrors ?? tracked?.rejectedErrors ?? [])
        if (r.recipient) perRecipient.set(r.recipient, r);
      const text = describe(e);
      // Too big for the peer's advertised SIZE: permanent (RFC 1870 §6.1, 552 5.3.4).
      if (e.code === 'EMESSAGE' && !e.responseCode) {
        return { recipients: all('failed', `${where}: ${text}`), hostFailed: false, error: text, secure };
      }
      if (!e.responseCode) {
        // Connection lost or timed out mid-transaction: nothing is decided except explicit rejections.
        const recipients = req.recipients.map((address): RecipientResult => {
          const r = perRecipient.get(address);
          if (r?.responseCode) return { address, state: stateForCode(r.responseCode), error: describe(r) };
          return { address, state: 'pending', error: `${where}: ${text}` };
        });
        return { recipients, hostFailed: perRecipient.size === 0, error: `${where}: ${text}`, secure };
      }
      const mailFromFailed = /^MAIL FROM/i.test((e as { command?: string }).command ?? '');
      const recipients = req.recipients.map((address): RecipientResult => {
        const r = perRecipient.get(address);
        if (r && !mailFromFailed) return { address, state: stateForCode(r.responseCode), error: describe(r) };
        return { address, state: stateForCode(e.responseCode), error: text };
      });
      return {
        recipients,
        hostFailed: mailFromFailed && stateForCode(e.responseCode) === 'pending',
        error: text,
        secure,
      };
    }
  } finally {
    // QUIT closes the connection once answered (or after the library's close timeout).
    if (conn.destroyed) conn.close();
    else conn.quit();
  }
}
