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
 */
import type { Logger } from '../log.js';
import type { QueueEntry } from '../store/types.js';
import { type Delivery, QuotaExceededError } from './delivery.js';
import { buildDsn, type DsnRecipient, shouldSendDsn } from './dsn.js';
import type { FailedRecipient } from './outbound/worker.js';

/** The enhanced status code (RFC 3463) of a failure: from the peer's reply, else a generic one. */
export function statusOf(error: string): string {
  if (error.startsWith('expired')) return '4.4.7';
  const enhanced = /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(error);
  if (enhanced) return enhanced[1];
  return '5.0.0';
}

export function bounceHandler(opts: { delivery: Delivery; hostname: string; log: Logger }) {
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
        diagnostic: f.error || null,
        lastAttemptDate: now,
      }));
    if (recipients.length === 0) return;
    const dsn = buildDsn({
      hostname: opts.hostname,
      envelopeFrom: entry.envelopeFrom,
      envid: entry.dsnEnvid,
      ret: entry.dsnRet,
      arrivalDate: entry.createdAt,
      recipients,
      original: message,
      date: now,
    });
    const to = entry.envelopeFrom;
    const resolution = await opts.delivery.resolve(to);
    if (resolution.kind === 'unknown-user') {
      opts.log.warn({ queueId: entry.id, to }, 'bounce dropped: the sender is not a local user');
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
          sessionId: `dsn${entry.id}`,
          tls: null,
          authUser: null,
        },
        dsnRet: null,
        dsnEnvid: null,
      });
      opts.log.info(
        { queueId: entry.id, to, recipients: recipients.map((r) => r.address), dsn: report.id },
        'bounce sent',
      );
    } catch (err) {
      if (!(err instanceof QuotaExceededError)) throw err;
      opts.log.warn({ queueId: entry.id, to }, 'bounce dropped: the sender mailbox is over quota');
    }
  };
}
