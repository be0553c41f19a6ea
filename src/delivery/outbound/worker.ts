/**
 * The outbound queue worker: takes due queue entries, groups their pending recipients by domain, routes
 * and delivers each group, and records the per-recipient outcome in the store.
 *
 * Invariants:
 * - A recipient is recorded `delivered` only after the peer's 2xx to the end of DATA (see client.ts).
 *   The result is recorded with `store.queue.recordAttempt` after the session; a crash between the
 *   peer's 250 and that record makes the next attempt re-send (RFC 5321 §6.1: duplicates over loss).
 * - An entry with no pending recipient left is removed by the store in the same write.
 * - Pending recipients get the next attempt from the backoff table; after the queue lifetime they are
 *   failed as "expired" (backoff.ts).
 * - An entry is processed by at most one attempt at a time in this process (in-flight set); a run never
 *   overlaps another run of the same worker.
 * - At most `concurrencyPerDestination` sessions are open to one host:port at a time.
 * - Bounces are not generated here: recipients that failed for good in an attempt are handed to
 *   `onPermanentFailure` (with the message bytes) before the attempt is recorded, so a crash in between
 *   can repeat a bounce but never lose one (the entry and its blob may be gone once it is recorded).
 * - `wake()` asks for a scan now (after a message is queued); a wake during a run runs again after it.
 */
import type { Logger } from '../../log.js';
import type { QueueEntry, Store } from '../../store/types.js';
import { type BackoffOptions, nextAttempt } from './backoff.js';
import { type ClientOptions, deliverToHost, type RecipientResult } from './client.js';
import { type DnsResolver, type RouteOptions, Router } from './routes.js';

export interface FailedRecipient {
  address: string;
  error: string;
}

export interface OutboundWorkerOptions {
  store: Store;
  /** Our name for EHLO. */
  hostname: string;
  routes?: RouteOptions;
  /** DNS resolver for routing (tests inject a fake); default per `routes.dnsServers`. */
  resolver?: DnsResolver;
  log: Logger;
  /** Open sessions per destination host:port (default 2). */
  concurrencyPerDestination?: number;
  /** Time between queue scans (default 10 s). */
  intervalMs?: number;
  /** Entries per scan (default 100). */
  batchSize?: number;
  backoff?: BackoffOptions;
  /** TLS options and timeouts of the SMTP client. */
  client?: Omit<ClientOptions, 'hostname'>;
  /** Called before an attempt is recorded, with the recipients that failed for good in it and the message. */
  onPermanentFailure?: (entry: QueueEntry, failed: FailedRecipient[], message: Buffer) => void | Promise<void>;
  /** The clock (tests). */
  now?: () => Date;
}

/** A counting semaphore per key. */
class KeyedLimit {
  readonly #active = new Map<string, number>();
  readonly #waiting = new Map<string, (() => void)[]>();

  constructor(private readonly limit: number) {}

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if ((this.#active.get(key) ?? 0) >= this.limit) {
      await new Promise<void>((resolve) => {
        const q = this.#waiting.get(key) ?? [];
        q.push(resolve);
        this.#waiting.set(key, q);
      });
    } else {
      this.#active.set(key, (this.#active.get(key) ?? 0) + 1);
    }
    try {
      return await fn();
    } finally {
      const next = this.#waiting.get(key)?.shift();
      if (next) {
        next(); // hands the slot over
      } else {
        const n = (this.#active.get(key) ?? 1) - 1;
        if (n <= 0) this.#active.delete(key);
        else this.#active.set(key, n);
        this.#waiting.delete(key);
      }
    }
  }
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

export class OutboundWorker {
  readonly #opts: OutboundWorkerOptions;
  readonly #router: Router;
  readonly #limit: KeyedLimit;
  readonly #inFlight = new Set<number>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<number> | null = null;
  #stopped = true;
  #again = false;

  constructor(opts: OutboundWorkerOptions) {
    this.#opts = opts;
    this.#router = new Router(opts.routes, opts.resolver);
    this.#limit = new KeyedLimit(Math.max(1, opts.concurrencyPerDestination ?? 2));
  }

  #now(): Date {
    return this.#opts.now?.() ?? new Date();
  }

  /** Starts scanning the queue every `intervalMs` (first scan at once). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops scanning and waits for the current run to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#running) await this.#running.catch(() => 0);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.runOnce()
        .catch((err) => this.#opts.log.error({ err }, 'outbound queue run failed'))
        .finally(() => this.#schedule(this.#opts.intervalMs ?? 10_000));
    }, ms);
    this.#timer.unref();
  }

  /** Processes the entries due now; resolves with how many entries were attempted. */
  runOnce(): Promise<number> {
    this.#running ??= this.#run().finally(() => {
      this.#running = null;
      if (this.#again) {
        this.#again = false;
        this.wake();
      }
    });
    return this.#running;
  }

  /** Scans the queue now (e.g. a message was just queued); while a run is going on, once more after it. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.runOnce().catch((err) => this.#opts.log.error({ err }, 'outbound queue run failed'));
  }

  async #run(): Promise<number> {
    const due = await this.#opts.store.queue.due(this.#now(), this.#opts.batchSize ?? 100);
    const entries = due.filter((e) => !this.#inFlight.has(e.id));
    await Promise.all(entries.map((e) => this.#attempt(e)));
    return entries.length;
  }

  async #attempt(entry: QueueEntry): Promise<void> {
    const { store, log } = this.#opts;
    this.#inFlight.add(entry.id);
    try {
      const pending = entry.recipients.filter((r) => r.state === 'pending').map((r) => r.address);
      if (pending.length === 0) {
        // Nothing left to do (should not happen: the store removes such entries).
        await store.queue.recordAttempt(entry.id, { recipients: [], nextAttemptAt: this.#now(), error: null });
        return;
      }
      const byDomain = new Map<string, string[]>();
      for (const address of pending) {
        const d = domainOf(address);
        byDomain.set(d, [...(byDomain.get(d) ?? []), address]);
      }
      const message = await store.blobs.read(entry.blobId);
      const groups = await Promise.all(
        [...byDomain].map(([domain, recipients]) => this.#deliverDomain(entry, domain, recipients, message)),
      );
      let results = groups.flat();

      const now = this.#now();
      let nextAttemptAt = now;
      const stillPending = results.filter((r) => r.state === 'pending');
      const lastError = stillPending.find((r) => r.error)?.error ?? null;
      if (stillPending.length > 0) {
        const next = nextAttempt(entry, now, this.#opts.backoff);
        if (next.expired) {
          results = results.map((r) =>
            r.state === 'pending'
              ? {
                  ...r,
                  state: 'failed',
                  error: `expired: no delivery within the queue lifetime; last error: ${r.error ?? 'none'}`,
                }
              : r,
          );
        } else {
          nextAttemptAt = next.at;
        }
      }
      const failed = results
        .filter((r) => r.state === 'failed')
        .map((r) => ({ address: r.address, error: r.error ?? '' }));
      if (failed.length > 0 && this.#opts.onPermanentFailure) {
        try {
          await this.#opts.onPermanentFailure(entry, failed, message);
        } catch (err) {
          log.error({ err, queueId: entry.id }, 'permanent failure handler failed');
        }
      }
      await store.queue.recordAttempt(entry.id, {
        recipients: results.map((r) => ({ address: r.address, state: r.state, error: r.error })),
        nextAttemptAt,
        error: lastError,
      });
      const counts = { delivered: 0, failed: 0, pending: 0 };
      for (const r of results) counts[r.state]++;
      log.info({ queueId: entry.id, attempt: entry.attempts + 1, ...counts, nextAttemptAt }, 'outbound attempt');
    } catch (err) {
      // A store or blob failure: leave the entry as it is; it is due again on the next scan.
      log.error({ err, queueId: entry.id }, 'outbound attempt failed');
    } finally {
      this.#inFlight.delete(entry.id);
    }
  }

  async #deliverDomain(
    entry: QueueEntry,
    domain: string,
    recipients: string[],
    message: Buffer,
  ): Promise<RecipientResult[]> {
    const route = await this.#router.resolve(domain);
    if (route.kind !== 'hosts') {
      const state = route.kind === 'permanent' ? 'failed' : 'pending';
      return recipients.map((address) => ({ address, state, error: route.error }));
    }
    const decided: RecipientResult[] = [];
    let remaining: RecipientResult[] = recipients.map((address) => ({ address, state: 'pending', error: null }));
    for (const host of route.hosts) {
      const key = `${host.host}:${host.port}`;
      const result = await this.#limit.run(key, () =>
        deliverToHost(
          { host, envelopeFrom: entry.envelopeFrom, recipients: remaining.map((r) => r.address), message },
          { hostname: this.#opts.hostname, ...this.#opts.client },
        ),
      );
      this.#opts.log.debug({ queueId: entry.id, domain, host: key, error: result.error }, 'outbound session');
      decided.push(...result.recipients.filter((r) => r.state !== 'pending'));
      remaining = result.recipients.filter((r) => r.state === 'pending');
      // Try the next MX only when this host failed as a whole (RFC 5321 §5.1).
      if (remaining.length === 0 || !result.hostFailed) break;
    }
    return [...decided, ...remaining];
  }
}
