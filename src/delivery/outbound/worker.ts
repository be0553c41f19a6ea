/**
 * The outbound queue worker: takes due queue entries, groups their pending recipients by domain, routes
 * and delivers each group, and records the per-recipient outcome in the store.
 *
 * Invariants:
 * - A recipient is recorded `delivered` only after the peer's 2xx to the end of DATA (see client.ts).
 *   The result is recorded with `store.queue.recordAttempt` after the session; a crash between the
 *   peer's 250 and that record makes the next attempt re-send (RFC 5321 §6.1: duplicates over loss).
 * - An entry whose pending recipients are all in one domain (nearly all) is recorded while its
 *   session is still held (the pool's `settle`): the session carries its next message only after this
 *   one's record, so at most `concurrencyPerDestination` messages per destination can be sent again
 *   after a crash. An entry for several domains is recorded after all its sessions went back (holding
 *   one destination's session while waiting for another's could deadlock two such entries); its
 *   messages may add to that bound.
 * - An entry with no pending recipient left is removed by the store in the same write.
 * - Pending recipients get the next attempt from the backoff table; after the queue lifetime they are
 *   failed as "expired" (backoff.ts).
 * - An entry is attempted by one worker at a time across processes and nodes: a run claims the due
 *   entries with a lease (`store.queue.claim`, owner `node:pid`), renews the leases of the entries it is
 *   still attempting every fifth of `leaseMs`, and the attempt's record ends the lease. A record the
 *   store refuses (the lease ran out and another worker took the entry over) is logged, not retried.
 *   Within this process an in-flight set guards too; a run never overlaps another run of the same worker.
 * - No store transaction is open during SMTP: claim, renew and record are separate short writes.
 * - An attempt that fails in the store (or reading the blob) releases its lease, so the entry is due again
 *   at the next scan. A worker's first run releases the leases its node's earlier processes left (same
 *   node name, and a process id that is this one or no longer alive): a restarted node retakes its
 *   entries at once instead of after their lease. Node names must be distinct (as for `nodes`).
 * - At most `concurrencyPerDestination` sessions are open to one host:port at a time, and messages to
 *   the same host share them one after the other (connection reuse, pool.ts).
 * - MX-routed hosts go through the MTA-STS decision (mta-sts.ts) before any connection.
 * - DSNs are not built here. Recipients that failed for good are handed to `onPermanentFailure`,
 *   delivered recipients with NOTIFY=SUCCESS whose peer lacked DSN to `onRelayed` (RFC 3461 §6.2.3.2),
 *   both before the attempt is recorded, so a crash in between can repeat a DSN but never lose one
 *   (the entry and its blob may be gone once it is recorded). When `onPermanentFailure` fails (the
 *   bounce could not be stored), those recipients stay pending and are tried again later, bounce and
 *   all, so that no failure goes untold.
 * - Attempts run on their own, at most `batchSize` at a time: a scan claims what is due as far as there
 *   is room and does not wait for the attempts it starts, so a peer that answers slowly holds only its
 *   own messages; an attempt that ends makes room, and a scan follows when one found none.
 * - Delay warnings: after an attempt that leaves recipients pending, once the entry is older than
 *   `delayWarningMs` and has no warning mark, the pending recipients go to `onDelayed` and the entry is
 *   marked (store.queue.markDelayWarned) before the attempt is recorded: one warning per message; a
 *   crash between the two can repeat it.
 * - `wake()` asks for a scan now (after a message is queued); a wake during a run runs again after it,
 *   and so does a run that took a whole batch (more entries may be due).
 */
import { hostname } from 'node:os';
import type { Logger } from '../../log.js';
import type { QueueEntry, QueueLease, Store } from '../../store/types.js';
import { type BackoffOptions, DEFAULT_LIFETIME_MS, nextAttempt, retryDelay } from './backoff.js';
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
  /** This node's name, the first part of the lease owner `node:pid` (default: the host name). */
  node?: string;
  /**
   * How long a claim on a queue entry holds unless renewed (default 5 min); renewed every fifth of it
   * while the attempt runs. A node that dies leaves its entries to the other nodes after at most this.
   */
  leaseMs?: number;
  /** The clock (tests). */
  now?: () => Date;
}

/** Hosts (MX records, or their addresses) tried in one attempt, as Postfix's smtp_mx_address_limit. */
export const MAX_HOSTS_PER_ATTEMPT = 5;

/** The default of `OutboundWorkerOptions.leaseMs`. */
export const DEFAULT_LEASE_MS = 5 * 60_000;

/** Workers running in this process per lease owner (tests run several; see `#releaseStaleLeases`). */
const runningOwners = new Map<string, number>();

/** Whether process `pid` of this host still runs (EPERM: it does, as another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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
  readonly #node: string;
  readonly #lease: QueueLease;
  /** Whether this worker counts in `runningOwners` (from its first run until stop). */
  #registered = false;
  /** The leases of earlier processes of this node were released (first run). */
  #recovered = false;
  #timer: NodeJS.Timeout | null = null;
  /** The scan under way (claiming is quick; the attempts it starts run on their own). */
  #running: Promise<Promise<void>[]> | null = null;
  /** The attempts under way. */
  readonly #attempts = new Set<Promise<void>>();
  /** Extends the leases of the attempts under way while there are any. */
  #renewal: NodeJS.Timeout | null = null;
  #stopped = true;
  #again = false;
  /** A scan found no room or filled it: more may be due, so one runs as soon as an attempt ends. */
  #waitingRoom = false;

  constructor(opts: OutboundWorkerOptions) {
    this.#opts = opts;
    const resolver = opts.resolver ?? defaultResolver(opts.routes?.dnsServers, opts.routes?.dnsTimeoutMs);
    this.#router = new Router(opts.routes, resolver);
    // With DNS servers of its own (or a resolver given), the hosts' addresses come from them too, not
    // from the system's resolver: the MX answer and the address of its host from one source.
    const ownDns = opts.resolver !== undefined || (opts.routes?.dnsServers?.length ?? 0) > 0;
    const resolveAddress = async (name: string): Promise<string | null> => {
      const v4 = await resolver.resolve4(name).catch(() => [] as string[]);
      if (v4.length > 0) return v4[0];
      const v6 = await resolver.resolve6(name).catch(() => [] as string[]);
      return v6[0] ?? null;
    };
    this.#pool = new SessionPool({
      client: { hostname: opts.hostname, ...(ownDns ? { resolveAddress } : {}), ...opts.client },
      limit: opts.concurrencyPerDestination ?? 2,
      maxMessagesPerConnection: opts.maxMessagesPerConnection,
      idleMs: opts.idleConnectionMs,
    });
    this.#mtaSts = new MtaSts(opts.mtaSts ?? 'off', { resolver, fetcher: opts.mtaStsFetcher });
    this.#node = opts.node ?? hostname();
    this.#lease = { owner: `${this.#node}:${process.pid}`, leaseMs: opts.leaseMs ?? DEFAULT_LEASE_MS };
  }

  /** Who this worker's claims name (`node:pid`). */
  get leaseOwner(): string {
    return this.#lease.owner;
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
    if (this.#running) await this.#running.catch(() => []);
    await Promise.all(this.#attempts);
    this.#pool.close();
    if (this.#registered) {
      this.#registered = false;
      const n = (runningOwners.get(this.#lease.owner) ?? 1) - 1;
      if (n > 0) runningOwners.set(this.#lease.owner, n);
      else runningOwners.delete(this.#lease.owner);
    }
  }

  /** Connections opened so far and idle now (tests, status). */
  get connections(): { opened: number; idle: number } {
    return { opened: this.#pool.opened, idle: this.#pool.idleCount };
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#scan()
        .catch((err) => this.#opts.log.error({ err }, 'outbound queue run failed'))
        .finally(() => this.#schedule(this.#opts.intervalMs ?? 10_000));
    }, ms);
    this.#timer.unref();
  }

  /**
   * Attempts the entries due now and waits for those attempts; resolves with how many it started
   * (tests, `postbode queue flush`). The worker's own scans do not wait for their attempts.
   */
  async runOnce(): Promise<number> {
    const started = await this.#scan();
    await Promise.all(started);
    return started.length;
  }

  /** Scans the queue now (e.g. a message was just queued); while a scan is going on, once more after it. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#scan().catch((err) => this.#opts.log.error({ err }, 'outbound queue run failed'));
  }

  /** One scan: claims what is due, as far as there is room, and starts those attempts. */
  #scan(): Promise<Promise<void>[]> {
    this.#running ??= this.#run().finally(() => {
      this.#running = null;
      if (this.#again) {
        this.#again = false;
        this.wake();
      }
    });
    return this.#running;
  }

  async #run(): Promise<Promise<void>[]> {
    // At most `batchSize` attempts at a time. Each runs on its own: a peer that answers slowly (or
    // drips its replies) holds its own attempts, not the scans, so mail to other hosts keeps going.
    const room = (this.#opts.batchSize ?? 100) - this.#attempts.size;
    if (room <= 0) {
      this.#waitingRoom = true;
      return [];
    }
    if (!this.#registered) {
      this.#registered = true;
      runningOwners.set(this.#lease.owner, (runningOwners.get(this.#lease.owner) ?? 0) + 1);
    }
    if (!this.#recovered) await this.#releaseStaleLeases();
    const claimed = await this.#opts.store.queue.claim(this.#now(), room, this.#lease);
    if (claimed.length >= room) this.#waitingRoom = true;
    return claimed.filter((e) => !this.#inFlight.has(e.id)).map((e) => this.#start(e));
  }

  /** Starts one attempt, with the lease renewal while any runs; a scan follows when it made room. */
  #start(entry: QueueEntry): Promise<void> {
    const attempt: Promise<void> = this.#attempt(entry).finally(() => {
      this.#attempts.delete(attempt);
      if (this.#attempts.size === 0 && this.#renewal) {
        clearInterval(this.#renewal);
        this.#renewal = null;
      }
      if (this.#waitingRoom) {
        this.#waitingRoom = false;
        this.wake();
      }
    });
    this.#attempts.add(attempt);
    if (!this.#renewal) {
      this.#renewal = setInterval(() => this.#renewLeases(), Math.max(1, Math.floor(this.#lease.leaseMs / 5)));
      this.#renewal.unref();
    }
    return attempt;
  }

  /**
   * Releases the leases that earlier processes of this node left behind (see the header): same node
   * name, and a pid that no longer runs, or this pid (a container restarted with the same pid) when no
   * other worker of this process uses the owner. Failures are logged and tried again at the next run.
   */
  async #releaseStaleLeases(): Promise<void> {
    const { store, log } = this.#opts;
    try {
      for (const { owner, entries } of await store.queue.leases()) {
        const colon = owner.lastIndexOf(':');
        if (colon < 0 || owner.slice(0, colon) !== this.#node) continue;
        const pid = Number(owner.slice(colon + 1));
        if (!Number.isInteger(pid) || pid <= 0) continue;
        const stale = pid === process.pid ? (runningOwners.get(owner) ?? 0) <= 1 : !processAlive(pid);
        if (!stale) continue;
        const released = await store.queue.release(owner);
        log.info({ owner, entries, released }, 'outbound queue: released the leases of an earlier process');
      }
      this.#recovered = true;
    } catch (err) {
      log.error({ err }, 'outbound queue: could not release the leases of earlier processes');
    }
  }

  /** Extends the leases of the entries being attempted; logs those another worker took over. */
  #renewLeases(): void {
    const ids = [...this.#inFlight];
    if (ids.length === 0) return;
    this.#opts.store.queue.renew(ids, this.#now(), this.#lease).then(
      (held) => {
        const lost = ids.filter((id) => !held.includes(id));
        if (lost.length > 0) {
          this.#opts.log.warn(
            { queueIds: lost },
            'outbound queue: lease lost while attempting (entry gone or taken over)',
          );
        }
      },
      (err) => this.#opts.log.error({ err }, 'outbound queue: lease renewal failed'),
    );
  }

  async #attempt(entry: QueueEntry): Promise<void> {
    const { store, log } = this.#opts;
    const lease = { owner: this.#lease.owner };
    this.#inFlight.add(entry.id);
    try {
      const pending = entry.recipients.filter((r) => r.state === 'pending').map((r) => r.address);
      if (pending.length === 0) {
        // Nothing left to do (should not happen: the store removes such entries).
        await store.queue.recordAttempt(entry.id, { recipients: [], nextAttemptAt: this.#now(), error: null }, lease);
        return;
      }
      const byDomain = new Map<string, string[]>();
      for (const address of pending) {
        const d = domainOf(address);
        byDomain.set(d, [...(byDomain.get(d) ?? []), address]);
      }
      const message = await store.blobs.read(entry.blobId);
      let finished = false;
      const finish = (results: RecipientResult[]) => {
        finished = true;
        return this.#finish(entry, results, message);
      };
      const groups = await Promise.all(
        [...byDomain].map(([domain, recipients]) =>
          // One domain: record inside the last session, before it goes back (see the header).
          this.#deliverDomain(entry, domain, recipients, message, byDomain.size === 1 ? finish : undefined),
        ),
      );
      if (!finished) await finish(groups.flat());
    } catch (err) {
      // A store or blob failure: leave the entry as it is, free for the next scan.
      log.error({ err, queueId: entry.id }, 'outbound attempt failed');
      await store.queue.release(lease.owner, [entry.id]).catch(() => {});
    } finally {
      this.#inFlight.delete(entry.id);
    }
  }

  /** The end of an attempt: expiry, DSN callbacks, the delay warning, and the record of the outcome. */
  async #finish(entry: QueueEntry, attempted: RecipientResult[], message: Buffer): Promise<void> {
    const { store, log } = this.#opts;
    const lease = { owner: this.#lease.owner };
    let results = attempted;
    const now = this.#now();
    let nextAttemptAt = now;
    const stillPending = results.filter((r) => r.state === 'pending');
    let lastError = stillPending.find((r) => r.error)?.error ?? null;
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
    if (
      failed.length > 0 &&
      this.#opts.onPermanentFailure &&
      !(await this.#notify('permanent failure', entry, () => this.#opts.onPermanentFailure?.(entry, failed, message)))
    ) {
      // The bounce could not be stored (a full disk): RFC 5321 §6.1 says the sender must be told, so
      // the recipients stay queued and are tried again later, the bounce with them (Postfix defers on
      // a bounce service failure the same way); recording them as failed would drop the entry untold.
      const error = ' (the bounce to the sender could not be stored; tried again later)';
      results = results.map((r) =>
        r.state === 'failed' ? { ...r, state: 'pending', error: `${r.error ?? ''}${error}` } : r,
      );
      const retryAt = now.getTime() + retryDelay(entry.attempts + 1, this.#opts.backoff?.scheduleMs);
      nextAttemptAt = new Date(stillPending.length > 0 ? Math.min(nextAttemptAt.getTime(), retryAt) : retryAt);
      if (nextAttemptAt.getTime() <= now.getTime()) nextAttemptAt = new Date(retryAt);
      lastError ??= results.find((r) => r.state === 'pending')?.error ?? null;
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
    const recorded = await store.queue.recordAttempt(
      entry.id,
      {
        recipients: results.map((r) => ({ address: r.address, state: r.state, error: r.error })),
        nextAttemptAt,
        error: lastError,
      },
      lease,
    );
    const counts = { delivered: 0, failed: 0, pending: 0 };
    for (const r of results) counts[r.state]++;
    if (recorded) {
      log.info({ queueId: entry.id, attempt: entry.attempts + 1, ...counts, nextAttemptAt }, 'outbound attempt');
    } else {
      // Gone meanwhile (deleted), or taken over after our lease ran out: the new holder records its own.
      log.warn(
        { queueId: entry.id, ...counts },
        'outbound attempt not recorded: the entry is gone or another worker holds it',
      );
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
    /** Records the outcome inside the last host's session (the entry has this one domain). */
    onFinal?: (results: RecipientResult[]) => Promise<void>,
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
    // Postfix's smtp_mx_address_limit: a domain listing a thousand hosts that all time out would hold
    // this attempt for hours; the others wait for the next attempt (the order is the MX order).
    hosts = hosts.slice(0, MAX_HOSTS_PER_ATTEMPT);
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
      const last = host === hosts[hosts.length - 1];
      const result = await this.#pool.deliver(host, tx, async (result) => {
        const pending = result.recipients.filter((r) => r.state === 'pending');
        // Try the next MX only when this host failed as a whole (RFC 5321 §5.1).
        if (onFinal && (last || pending.length === 0 || !result.hostFailed)) {
          await onFinal([...decided, ...result.recipients.filter((r) => r.state !== 'pending'), ...pending]);
        }
      });
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
