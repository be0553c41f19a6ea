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
 * - At most `concurrencyPerDestination` sessions are open to one host:port at a time, and messages to
 *   the same host share them one after the other (connection reuse, pool.ts).
 * - MX-routed hosts go through the MTA-STS decision (mta-sts.ts) before any connection.
 * - DSNs are not built here. Recipients that failed for good are handed to `onPermanentFailure`,
 *   delivered recipients with NOTIFY=SUCCESS whose peer lacked DSN to `onRelayed` (RFC 3461 §6.2.3.2),
 *   both before the attempt is recorded, so a crash in between can repeat a DSN but never lose one
 *   (the entry and its blob may be gone once it is recorded).
 * - Delay warnings: after an attempt that leaves recipients pending, once the entry is older than
 *   `delayWarningMs` and has no warning mark, the pending recipients go to `onDelayed` and the entry is
 *   marked (store.queue.markDelayWarned) before the attempt is recorded: one warning per message; a
 *   crash between the two can repeat it.
 * - `wake()` asks for a scan now (after a message is queued); a wake during a run runs again after it,
 *   and so does a run that took a whole batch (more entries may be due).
 */
import type { Logger } from '../../log.js';
import type { QueueEntry, Store } from '../../store/types.js';
import { type BackoffOptions, DEFAULT_LIFETIME_MS, nextAttempt } from './backoff.js';
import type { ClientOptions, RecipientResult, Transaction } from './client.js';
import { MtaSts, type MtaStsSetting, type PolicyFetcher } from './mta-sts.js';
import { SessionPool } from './pool.js';
import { type DnsResolver, defaultResolver, type RouteOptions, Router } from './routes.js';

export interface FailedRecipient {
  address: string;
  error: string;
  /** The host that gave `error`, when a peer did. */
  remoteMta?: string;
}

/** A recipient still pending after an attempt (a delay warning). */
export interface DelayedRecipient {
  address: string;
  /** The last error, e.g. the peer's 4xx reply or a connection failure. */
  error: string | null;
}

/** A recipient handed to a peer without DSN support (a "relayed" DSN for NOTIFY=SUCCESS). */
export interface RelayedRecipient {
  address: string;
  remoteMta: string;
  reply: string;
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
  /** Called before an attempt is recorded, with recipients delivered to a peer without DSN and NOTIFY=SUCCESS. */
  onRelayed?: (entry: QueueEntry, relayed: RelayedRecipient[], message: Buffer) => void | Promise<void>;
  /** Called once per entry when it is `delayWarningMs` old and recipients are still pending. */
  onDelayed?: (
    entry: QueueEntry,
    delayed: DelayedRecipient[],
    message: Buffer,
    willRetryUntil: Date,
  ) => void | Promise<void>;
  /** Age of an entry after which a delay warning goes out (0 or absent: never). */
  delayWarningMs?: number;
  /** Transactions per connection (default 100). */
  maxMessagesPerConnection?: number;
  /** How long an idle connection is kept for the next message (default 5 s). */
  idleConnectionMs?: number;
  /** MTA-STS for MX-routed mail (default off). */
  mtaSts?: MtaStsSetting;
  /** MTA-STS policy fetcher (tests); default mailauth's over `resolver`. */
  mtaStsFetcher?: PolicyFetcher;
  /** The clock (tests). */
  now?: () => Date;
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

export class OutboundWorker {
  readonly #opts: OutboundWorkerOptions;
  readonly #router: Router;
  readonly #pool: SessionPool;
  readonly #mtaSts: MtaSts;
  readonly #inFlight = new Set<number>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<number> | null = null;
  #stopped = true;
  #again = false;
  /** The last run took a whole batch: more may be due, so the next run starts at once. */
  #fullBatch = false;

  constructor(opts: OutboundWorkerOptions) {
    this.#opts = opts;
    const resolver = opts.resolver ?? defaultResolver(opts.routes?.dnsServers, opts.routes?.dnsTimeoutMs);
    this.#router = new Router(opts.routes, resolver);
    this.#pool = new SessionPool({
      client: { hostname: opts.hostname, ...opts.client },
      limit: opts.concurrencyPerDestination ?? 2,
      maxMessagesPerConnection: opts.maxMessagesPerConnection,
      idleMs: opts.idleConnectionMs,
    });
    this.#mtaSts = new MtaSts(opts.mtaSts ?? 'off', { resolver, fetcher: opts.mtaStsFetcher });
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

  /** Stops scanning, waits for the current run to finish and closes idle connections. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#running) await this.#running.catch(() => 0);
    this.#pool.close();
  }

  /** Connections opened so far and idle now (tests, status). */
  get connections(): { opened: number; idle: number } {
    return { opened: this.#pool.opened, idle: this.#pool.idleCount };
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
      if (this.#again || this.#fullBatch) {
        this.#fullBatch = false;
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
    const batchSize = this.#opts.batchSize ?? 100;
    const due = await this.#opts.store.queue.due(this.#now(), batchSize);
    this.#fullBatch = due.length >= batchSize;
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
        .map((r) => ({ address: r.address, error: r.error ?? '', ...(r.remoteMta ? { remoteMta: r.remoteMta } : {}) }));
      if (failed.length > 0 && this.#opts.onPermanentFailure) {
        await this.#notify('permanent failure', entry, () => this.#opts.onPermanentFailure?.(entry, failed, message));
      }
      const notifyOf = new Map(entry.recipients.map((r) => [r.address, r.notify]));
      const relayed = results
        .filter((r) => r.state === 'delivered' && r.relayed && notifyOf.get(r.address)?.includes('SUCCESS'))
        .map((r) => ({ address: r.address, remoteMta: r.remoteMta ?? '', reply: r.reply ?? '' }));
      if (relayed.length > 0 && this.#opts.onRelayed) {
        await this.#notify('relayed', entry, () => this.#opts.onRelayed?.(entry, relayed, message));
      }
      const warnAfter = this.#opts.delayWarningMs ?? 0;
      const pendingNow = results.filter((r) => r.state === 'pending');
      if (
        pendingNow.length > 0 &&
        warnAfter > 0 &&
        entry.delayWarnedAt === null &&
        now.getTime() - entry.createdAt.getTime() >= warnAfter &&
        this.#opts.onDelayed
      ) {
        const until = new Date(entry.createdAt.getTime() + (this.#opts.backoff?.lifetimeMs ?? DEFAULT_LIFETIME_MS));
        const delayed = pendingNow.map((r) => ({ address: r.address, error: r.error }));
        if (await this.#notify('delay warning', entry, () => this.#opts.onDelayed?.(entry, delayed, message, until))) {
          await store.queue.markDelayWarned(entry.id, now);
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

  /** Runs a DSN callback; false (and a log line) when it failed. */
  async #notify(what: string, entry: QueueEntry, fn: () => void | Promise<void>): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (err) {
      this.#opts.log.error({ err, queueId: entry.id }, `${what} handler failed`);
      return false;
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
    let hosts = route.hosts;
    if (route.source === 'mx' || route.source === 'implicit-mx') {
      const decision = await this.#mtaSts.decide(domain, hosts);
      for (const warning of decision.warnings) this.#opts.log.warn({ queueId: entry.id, domain }, warning);
      if (decision.error) {
        const error = decision.error;
        return recipients.map((address) => ({ address, state: 'pending', error }));
      }
      hosts = decision.hosts;
    }
    const byAddress = new Map(entry.recipients.map((r) => [r.address, r]));
    const decided: RecipientResult[] = [];
    let remaining: RecipientResult[] = recipients.map((address) => ({ address, state: 'pending', error: null }));
    for (const host of hosts) {
      const tx: Transaction = {
        envelopeFrom: entry.envelopeFrom,
        recipients: remaining.map((r) => ({
          address: r.address,
          notify: byAddress.get(r.address)?.notify ?? null,
          orcpt: byAddress.get(r.address)?.orcpt ?? null,
        })),
        message,
        ret: entry.dsnRet,
        envid: entry.dsnEnvid,
      };
      const result = await this.#pool.deliver(host, tx);
      const key = `${host.host}:${host.port}`;
      this.#opts.log.debug({ queueId: entry.id, domain, host: key, error: result.error }, 'outbound session');
      decided.push(...result.recipients.filter((r) => r.state !== 'pending'));
      remaining = result.recipients.filter((r) => r.state === 'pending');
      // Try the next MX only when this host failed as a whole (RFC 5321 §5.1).
      if (remaining.length === 0 || !result.hostFailed) break;
    }
    return [...decided, ...remaining];
  }
}
