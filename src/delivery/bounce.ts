/**
 * Bounces for the outbound queue: turns the recipients that failed for good into an RFC 3464 DSN and
 * delivers it to the original envelope sender through the normal delivery path.
 *
 * Invariants:
 * - Only recipients for which `shouldSendDsn` says yes (NOTIFY, never for the null sender) are reported;
 *   none left → no DSN.
 * - The DSN is delivered with the null envelope sender (`MAIL FROM:<>`), so it can never cause another
 *   bounce: a local sender gets it in INBOX (store.deliver via Delivery.deliver), a remote sender gets a
 *   new queue entry with sender <>.
 * - A sender that does not resolve (unknown local user) or whose mailbox is over quota: the DSN is
 *   dropped and logged (there is nobody else to tell).
 * - Four kinds: three with a handler each for the worker, failed (bounceHandler), delayed
 *   (delayHandler, at most once per message: the worker keeps the mark) and relayed (relayedHandler,
 *   NOTIFY=SUCCESS to a peer without DSN); and delivered (deliveredHandler, NOTIFY=SUCCESS, for
 *   Delivery's local copies). A DSN is itself sent with the null sender, so it never gets a DSN of
 *   its own.
 */
import type { Logger } from '../log.js';
import type { QueueEntry } from '../store/types.js';
import { type Delivery, type IncomingMessage, QuotaExceededError } from './delivery.js';
import { buildDsn, type DsnRecipient, shouldSendDsn } from './dsn.js';
import type { DelayedRecipient, FailedRecipient, RelayedRecipient } from './outbound/worker.js';

/** The enhanced status code (RFC 3463) of a failure: from the peer's reply, else a generic one. */
export function statusOf(error: string): string {
  if (error.startsWith('expired')) return '4.4.7';
  const enhanced = /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(error);
  if (enhanced) return enhanced[1];
  return '5.0.0';
}

export interface DsnHandlerOptions {
  delivery: Delivery;
  hostname: string;
  log: Logger;
  /** Delay warnings for recipients without NOTIFY (the server's choice, RFC 3461 §4.1); default true. */
  delayWarningsByDefault?: boolean;
}

/** What a DSN reports on: a queue entry, or a message delivered here (`deliveredHandler`). */
interface DsnAbout {
  envelopeFrom: string;
  envid: string | null;
  ret: 'FULL' | 'HDRS' | null;
  arrival: Date;
  /** For the DSN's own session id and the logs: the queue entry's id, or the delivery's. */
  ref: { queueId: number } | { delivery: string };
}

function aboutEntry(entry: QueueEntry): DsnAbout {
  return {
    envelopeFrom: entry.envelopeFrom,
    envid: entry.dsnEnvid,
    ret: entry.dsnRet,
    arrival: entry.createdAt,
    ref: { queueId: entry.id },
  };
}

/** Builds a DSN about `recipients` and delivers it to the envelope sender with `MAIL FROM:<>`. */
async function sendDsn(
  opts: DsnHandlerOptions,
  about: DsnAbout,
  recipients: DsnRecipient[],
  message: Buffer,
  what: string,
): Promise<void> {
  if (recipients.length === 0) return;
  const dsn = buildDsn({
    hostname: opts.hostname,
    envelopeFrom: about.envelopeFrom,
    envid: about.envid,
    ret: about.ret,
    arrivalDate: about.arrival,
    recipients,
    original: message,
    date: new Date(),
  });
  const to = about.envelopeFrom;
  const resolution = await opts.delivery.resolve(to);
  if (resolution.kind === 'unknown-user') {
    opts.log.warn({ ...about.ref, to }, `${what} dropped: the sender is not a local user`);
    return;
  }
  try {
    const report = await opts.delivery.deliver({
      envelopeFrom: '',
      recipients: [{ address: to, resolution, notify: null, orcpt: null }],
      data: dsn,
      trace: {
        helo: opts.hostname,
        remoteAddress: '127.0.0.1',
        protocol: 'local',
        sessionId: 'queueId' in about.ref ? `dsn${about.ref.queueId}` : `dsn.${about.ref.delivery}`,
        tls: null,
        authUser: null,
      },
      dsnRet: null,
      dsnEnvid: null,
    });
    opts.log.info({ ...about.ref, to, recipients: recipients.map((r) => r.address), dsn: report.id }, `${what} sent`);
  } catch (err) {
    if (!(err instanceof QuotaExceededError)) throw err;
    opts.log.warn({ ...about.ref, to }, `${what} dropped: the sender mailbox is over quota`);
  }
}

/** The worker's `onPermanentFailure`: a failure DSN (Action: failed) per NOTIFY. */
export function bounceHandler(opts: DsnHandlerOptions) {
  return async (entry: QueueEntry, failed: FailedRecipient[], message: Buffer): Promise<void> => {
    const byAddress = new Map(entry.recipients.map((r) => [r.address, r]));
    const now = new Date();
    const recipients: DsnRecipient[] = failed
      .filter((f) =>
        shouldSendDsn({ envelopeFrom: entry.envelopeFrom, notify: byAddress.get(f.address)?.notify, kind: 'failure' }),
      )
      .map((f) => ({
        address: f.address,
        orcpt: byAddress.get(f.address)?.orcpt ?? null,
        action: 'failed',
        status: statusOf(f.error),
        remoteMta: f.remoteMta ?? null,
        diagnostic: f.error || null,
        lastAttemptDate: now,
      }));
    await sendDsn(opts, aboutEntry(entry), recipients, message, 'bounce');
  };
}

/**
 * The worker's `onDelayed`: a delay warning (Action: delayed, RFC 3464 §2.3.3) for recipients with
 * NOTIFY=DELAY, or without NOTIFY when `delayWarningsByDefault`; never for NOTIFY=NEVER or the null sender.
 */
export function delayHandler(opts: DsnHandlerOptions) {
  return async (
    entry: QueueEntry,
    delayed: DelayedRecipient[],
    message: Buffer,
    willRetryUntil: Date,
  ): Promise<void> => {
    const byAddress = new Map(entry.recipients.map((r) => [r.address, r]));
    const now = new Date();
    const recipients: DsnRecipient[] = delayed
      .filter((d) =>
        shouldSendDsn({
          envelopeFrom: entry.envelopeFrom,
          notify: byAddress.get(d.address)?.notify,
          kind: 'delay',
          delayWarningsByDefault: opts.delayWarningsByDefault ?? true,
        }),
      )
      .map((d) => ({
        address: d.address,
        orcpt: byAddress.get(d.address)?.orcpt ?? null,
        action: 'delayed',
        status: d.error ? statusOf(d.error).replace(/^5/, '4') : '4.0.0',
        diagnostic: d.error,
        lastAttemptDate: now,
        willRetryUntil,
      }));
    await sendDsn(opts, aboutEntry(entry), recipients, message, 'delay warning');
  };
}

/**
 * The worker's `onRelayed`: a success DSN with Action: relayed (RFC 3461 §6.2.3.2, RFC 3464 §2.3.3)
 * for NOTIFY=SUCCESS recipients handed to a peer that does not support DSN, so no further report
 * can come from there.
 */
export function relayedHandler(opts: DsnHandlerOptions) {
  return async (entry: QueueEntry, relayed: RelayedRecipient[], message: Buffer): Promise<void> => {
    const byAddress = new Map(entry.recipients.map((r) => [r.address, r]));
    const now = new Date();
    const recipients: DsnRecipient[] = relayed
      .filter((r) =>
        shouldSendDsn({ envelopeFrom: entry.envelopeFrom, notify: byAddress.get(r.address)?.notify, kind: 'success' }),
      )
      .map((r) => ({
        address: r.address,
        orcpt: byAddress.get(r.address)?.orcpt ?? null,
        action: 'relayed',
        status: '2.0.0',
        remoteMta: r.remoteMta || null,
        diagnostic: r.reply || null,
        lastAttemptDate: now,
      }));
    await sendDsn(opts, aboutEntry(entry), recipients, message, 'relayed DSN');
  };
}

/**
 * Delivery's `onDelivered`: a success DSN with Action: delivered (RFC 3461 §4.1, RFC 3464 §2.3.3) for
 * the NOTIFY=SUCCESS recipients of a message that reached their mailboxes here (what their Sieve
 * scripts then did with it is theirs: as Postfix reports a delivery to Dovecot's LMTP). Recipients
 * that went on to other servers are reported by the queue (relayed), not here.
 */
export function deliveredHandler(opts: DsnHandlerOptions) {
  return async (msg: IncomingMessage, id: string, arrival: Date): Promise<void> => {
    const recipients: DsnRecipient[] = msg.recipients
      .filter(
        (r) =>
          r.resolution.kind === 'local' &&
          r.resolution.accounts.length > 0 &&
          shouldSendDsn({ envelopeFrom: msg.envelopeFrom, notify: r.notify, kind: 'success' }),
      )
      .map((r) => ({
        address: r.address,
        orcpt: r.orcpt,
        action: 'delivered',
        status: '2.0.0',
        lastAttemptDate: arrival,
      }));
    const about: DsnAbout = {
      envelopeFrom: msg.envelopeFrom,
      envid: msg.dsnEnvid,
      ret: msg.dsnRet,
      arrival,
      ref: { delivery: id },
    };
    await sendDsn(opts, about, recipients, msg.data, 'delivery report');
  };
}
