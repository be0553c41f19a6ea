/**
 * The queue section of `postbode status`: totals from the store plus the deferred recipients grouped by
 * the kind of their last error, so an operator sees at a glance whether mail waits for DNS, a host that
 * does not answer, TLS, the relay's AUTH, or a receiver's 4xx.
 *
 * Invariants:
 * - Only reads the store; the classes come from the error texts the client and router record
 *   (client.ts, routes.ts), so a new error text there falls into `other` until it is named here.
 * - Times are ISO strings and ages whole seconds: the object travels as JSON over the control socket.
 */
import type { Store } from '../../store/types.js';

export const DEFERRAL_CLASSES = ['connection', 'dns', 'tls', 'auth', 'reply-4xx', 'reply-5xx', 'other'] as const;
export type DeferralClass = (typeof DEFERRAL_CLASSES)[number];

/** The kind of a recorded delivery error (see the header). */
export function deferralClass(error: string): DeferralClass {
  if (/\bAUTH failed\b/i.test(error)) return 'auth';
  if (/DNS lookup failed|^(MX|A|AAAA) \S+: /.test(error)) return 'dns';
  if (/\bETLS\b|certificate|\bSSL\b|TLS/i.test(error)) return 'tls';
  if (
    /\b(ECONNECTION|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ESOCKET|EHOSTUNREACH|ENETUNREACH|EPIPE)\b|connection closed|timed? ?out|Greeting never received/i.test(
      error,
    )
  ) {
    return 'connection';
  }
  // The peer's reply code, at the start or after our `host:port: ` prefix.
  const code = /(?:^|: )([45])\d\d(?:[ -]|$)/.exec(error)?.[1];
  if (code === '4') return 'reply-4xx';
  if (code === '5') return 'reply-5xx'; // 503, or 552 to RCPT TO: kept pending by the client
  return 'other';
}

export interface QueueStatus {
  /** Whether this server runs the outbound worker (`delivery.enabled`). */
  worker: 'on' | 'off';
  messages: number;
  recipientsPending: number;
  /** The oldest entry's creation time and its age in seconds; null when the queue is empty. */
  oldest: string | null;
  oldestAgeSeconds: number | null;
  /** The earliest next attempt of any entry; null when the queue is empty. */
  nextAttempt: string | null;
  /** Pending recipients that were tried and deferred, in total and by class of their last error. */
  deferred: number;
  deferredByClass: Partial<Record<DeferralClass, number>>;
}

export async function queueStatus(store: Store, opts: { workerEnabled: boolean; now?: Date }): Promise<QueueStatus> {
  const now = opts.now ?? new Date();
  const s = await store.queue.summary({ maxErrorGroups: 1000 });
  const byClass: Partial<Record<DeferralClass, number>> = {};
  let counted = 0;
  for (const g of s.deferredByError) {
    const c = deferralClass(g.error);
    byClass[c] = (byClass[c] ?? 0) + g.recipients;
    counted += g.recipients;
  }
  // Errors beyond the group limit are too varied to classify here.
  if (s.deferred > counted) byClass.other = (byClass.other ?? 0) + s.deferred - counted;
  return {
    worker: opts.workerEnabled ? 'on' : 'off',
    messages: s.messages,
    recipientsPending: s.recipientsPending,
    oldest: s.oldestCreatedAt?.toISOString() ?? null,
    oldestAgeSeconds: s.oldestCreatedAt
      ? Math.max(0, Math.floor((now.getTime() - s.oldestCreatedAt.getTime()) / 1000))
      : null,
    nextAttempt: s.nextAttemptAt?.toISOString() ?? null,
    deferred: s.deferred,
    deferredByClass: byClass,
  };
}
