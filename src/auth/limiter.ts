/**
 * The login limiter shared by every protocol (IMAP LOGIN/AUTHENTICATE, POP3 USER/PASS, APOP and AUTH,
 * SMTP AUTH, the web login, later ManageSieve), in the manner of Dovecot's auth penalty.
 *
 * Two gates stand before each password check:
 * - the client's address (an IPv4 address, or the /64 prefix of an IPv6 address): after
 *   `freeFailures` failed checks, each further attempt waits until `startMs` (doubling with every
 *   failure, at most `maxMs`) after the last failure. Failures count across connections and protocols
 *   and are forgotten after `windowMs` without one.
 * - the account being guessed: after `accountFailures` failed checks from all addresses, attempts from
 *   addresses that have not logged in to it recently wait the same way. Addresses that logged in
 *   successfully (the owner's usual ones, at most `TRUSTED_PER_ACCOUNT`, for `TRUST_MS`) skip this gate,
 *   so the owner is not locked out; they still pass their own address's gate.
 *
 * Invariants:
 * - The wait comes before the check, and attempts in flight count: while a gate is penalized at most one
 *   check runs at a time behind it, so parallel connections from one address get no more checks than
 *   one connection. Before the free failures are used up, at most `freeFailures - failures` checks run at
 *   once (at least one).
 * - Queues are short: at most `maxWaiting` attempts wait at a gate (`maxWaitingPenalized` while it is
 *   penalized); further ones are refused at once ("throttled") without a password check. The account
 *   gate's line is fair (see `queue`): one place per address, addresses without failures first.
 * - A success forgives only the failures the same address made on the same account (a typo of the
 *   owner); failures on other accounts, and other addresses' failures, stay.
 * - Every table is bounded (`maxEntries` each, least recently used idle entry evicted first; per address
 *   at most `PER_ADDRESS_ACCOUNTS` accounts are told apart), so a flood of random addresses or names
 *   cannot grow memory without bound.
 * - Time comes from an injectable `Clock`; unit tests advance a fake one instead of sleeping.
 *
 * Several nodes on one store (a `LoginCountStore`, `Store.loginCounts`): the counts of both gates, the
 * per-account split of an address and the trust of an account's owner live in the store, so the free
 * failures are free once across all nodes and a penalty earned on one node holds on all. Before its
 * gates an attempt reads the shared counts into its node's gates; a check's outcome is written there
 * before the attempt leaves its gates, and the counts after it are taken back. The waiting lines and
 * "at most one check in flight while penalized" stay per node: while penalized each node admits one
 * check per delay, and every failure on any node doubles the delay of all. A success is written unless
 * its address is trusted already, since less than `TRUST_REFRESH_MS`, with nothing to forgive (so a
 * mail client's frequent logins cost one read each). When the store cannot be reached the node goes
 * on with its own counts (and reports the error).
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { LoginCountSettings, LoginCountStore, LoginCounts, LoginGateCount, LoginKeys } from '../store/types.js';

export interface LimiterOptions {
  /** Failed checks from one address before its attempts are delayed. */
  freeFailures: number;
  /** The first delay; each further failure doubles it. */
  startMs: number;
  /** The longest delay. */
  maxMs: number;
  /** Failures are forgotten after this long without a new one (address and account). */
  windowMs: number;
  /** Failed checks on one account (from all addresses) before attempts from unknown addresses wait. */
  accountFailures: number;
  /** Entries per table (addresses, accounts). */
  maxEntries: number;
  /** Attempts that may wait at a gate; more are refused at once. */
  maxWaiting: number;
  /** The same while the gate is penalized. */
  maxWaitingPenalized: number;
}

export const LIMITER_DEFAULTS: LimiterOptions = {
  freeFailures: 2,
  startMs: 500,
  maxMs: 15_000,
  windowMs: 15 * 60_000,
  accountFailures: 10,
  maxEntries: 100_000,
  maxWaiting: 64,
  maxWaitingPenalized: 4,
};

/** The limiter's options from the `auth` section of the configuration (src/config/schema.ts). */
export function limiterOptions(auth: {
  penalty_free_failures: number;
  penalty_start_ms: number;
  penalty_max_ms: number;
  penalty_window: number;
  account_failures: number;
  max_tracked: number;
}): LimiterOptions {
  return {
    ...LIMITER_DEFAULTS,
    freeFailures: auth.penalty_free_failures,
    startMs: Math.min(auth.penalty_start_ms, auth.penalty_max_ms),
    maxMs: auth.penalty_max_ms,
    windowMs: auth.penalty_window * 1000,
    accountFailures: auth.account_failures,
    maxEntries: auth.max_tracked,
  };
}

/** Addresses remembered per account as "logged in here recently". */
export const TRUSTED_PER_ACCOUNT = 8;
/** How long a successful login exempts its address from the account gate. */
export const TRUST_MS = 30 * 24 * 3600_000;
/**
 * With shared counts, a success by an address already trusted with nothing to forgive is written only
 * when its trust is older than this (each login of a mail client would otherwise be a write).
 */
export const TRUST_REFRESH_MS = 3600_000;
/** Accounts told apart per address (so a success forgives only its own account's failures). */
export const PER_ADDRESS_ACCOUNTS = 4;
/** The bucket for failures on further accounts; never forgiven by a success. */
const OTHER = '\0other';

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) =>
    new Promise((resolve) => {
      setTimeout(resolve, ms).unref();
    }),
};

/** What a gate refused with: which one, and roughly when to come back. */
export interface Throttle {
  scope: 'address' | 'account';
  retryAfterMs: number;
}

/** Counts after a checked attempt, for the log. */
export interface AttemptInfo {
  addressFailures: number;
  accountFailures: number;
  /** How long the address's next attempt will wait (0: none). */
  nextDelayMs: number;
}

export type AttemptOutcome<T> =
  | { kind: 'ok'; value: T; info: AttemptInfo }
  | { kind: 'failed'; info: AttemptInfo }
  | { kind: 'throttled'; throttle: Throttle };

interface Policy {
  free: number;
  startMs: number;
  maxMs: number;
}

type Waiter = (admitted: boolean) => void;

/** An attempt waiting at a gate; at the account gate, with the entry of the address it comes from. */
interface Waiting {
  admit: Waiter;
  source?: AddressEntry;
}

class Gate {
  failures = 0;
  lastFailure = 0;
  running = 0;
  /** Attempts that hold the entry without a slot (trusted ones skip the account gate). */
  holders = 0;
  readonly waiting: Waiting[] = [];
  /** When the pending wake-up timer fires (Infinity: none). */
  timerAt = Number.POSITIVE_INFINITY;

  get busy(): boolean {
    return this.running > 0 || this.holders > 0 || this.waiting.length > 0;
  }
}

interface AddressEntry {
  gate: Gate;
  /** Failures per account (at most PER_ADDRESS_ACCOUNTS, the rest under OTHER). */
  byAccount: Map<string, number>;
}

interface AccountEntry {
  gate: Gate;
  /** Address key → time of its last successful login. */
  trusted: Map<string, number>;
}

/**
 * The key an address is limited by: IPv4 as is (also when mapped into IPv6), IPv6 by its /64 prefix,
 * anything else (e.g. '' when unknown) as given.
 */
export function clientKey(address: string): string {
  let a = address.trim();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  const lower = a.toLowerCase();
  if (lower.startsWith('::ffff:') && isIPv4(a.slice(7))) return a.slice(7);
  if (isIPv4(a)) return a;
  if (!isIPv6(a)) return a;
  const groups = expandIPv6(lower);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address, without leading zeros. */
function expandIPv6(a: string): string[] {
  const toGroups = (part: string): string[] => {
    if (part === '') return [];
    const out: string[] = [];
    for (const g of part.split(':')) {
      if (isIPv4(g)) {
        const [b0, b1, b2, b3] = g.split('.').map(Number);
        out.push(((b0 << 8) | b1).toString(16), ((b2 << 8) | b3).toString(16));
      } else {
        out.push(Number.parseInt(g, 16).toString(16));
      }
    }
    return out;
  };
  const double = a.indexOf('::');
  if (double < 0) return toGroups(a);
  const head = toGroups(a.slice(0, double));
  const tail = toGroups(a.slice(double + 2));
  return [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
}

/** Where a limiter on several nodes keeps its counts (see the header). */
export interface SharedCounts {
  counts: LoginCountStore;
  /** A read or write of the shared counts failed: the attempt went on with this node's counts. */
  onError?: (error: unknown) => void;
}

export class LoginLimiter {
  readonly options: LimiterOptions;
  readonly #shared: SharedCounts | null;
  readonly #settings: LoginCountSettings;
  readonly #addresses = new Map<string, AddressEntry>();
  readonly #accounts = new Map<string, AccountEntry>();
  readonly #addressPolicy: Policy;
  readonly #accountPolicy: Policy;
  /** Counters for tests and status: password checks run, attempts refused without a check. */
  readonly stats = { checks: 0, failures: 0, throttled: 0 };

  constructor(
    options: Partial<LimiterOptions> = {},
    private readonly clock: Clock = systemClock,
    shared: SharedCounts | null = null,
  ) {
    this.options = { ...LIMITER_DEFAULTS, ...options };
    this.#shared = shared;
    const { freeFailures, startMs, maxMs, accountFailures, windowMs, maxEntries } = this.options;
    this.#settings = {
      windowMs,
      trustMs: TRUST_MS,
      maxEntries,
      perAddressAccounts: PER_ADDRESS_ACCOUNTS,
      trustedPerAccount: TRUSTED_PER_ACCOUNT,
    };
    this.#addressPolicy = { free: freeFailures, startMs, maxMs };
    this.#accountPolicy = { free: accountFailures, startMs, maxMs };
  }

  /** Entries in the address and account tables. */
  get size(): { addresses: number; accounts: number } {
    return { addresses: this.#addresses.size, accounts: this.#accounts.size };
  }

  /**
   * Runs `check` (a password check: the value on success, null on failure) once both gates let it
   * through, and records its outcome. `account` is the resolved name being logged in to.
   */
  async attempt<T>(remoteAddress: string, account: string, check: () => Promise<T | null>): Promise<AttemptOutcome<T>> {
    const addrKey = clientKey(remoteAddress);
    const accountKey = account.toLowerCase();
    const addr = this.#address(addrKey);
    const acct = this.#account(accountKey);
    // Held (not evicted) while the shared counts are read and the attempt waits.
    addr.gate.holders++;
    acct.gate.holders++;
    try {
      const keys = { address: addrKey, account: accountKey };
      const read = await this.#sync(addr, acct, keys, (c, k) => c.read(k, this.#settings));
      if (!(await this.#enter(addr.gate, this.#addressPolicy, addr))) {
        return this.#throttled('address', addr.gate, this.#addressPolicy);
      }
      const gated = !(read ? read.trusted : this.#trusts(acct, addrKey));
      if (gated && !(await this.#enter(acct.gate, this.#accountPolicy, undefined, addr))) {
        this.#leave(addr.gate, this.#addressPolicy, addr);
        return this.#throttled('account', acct.gate, this.#accountPolicy);
      }
      try {
        this.stats.checks++;
        const value = await check();
        if (value !== null) {
          this.#succeeded(addr, acct, addrKey, accountKey);
          const fresh = read?.trusted && read.ownFailures === 0 && this.clock.now() - read.trustedAt < TRUST_REFRESH_MS;
          if (!fresh) await this.#sync(addr, acct, keys, (c, k) => c.succeeded(k, this.#settings));
          return { kind: 'ok', value, info: this.#info(addr, acct) };
        }
        this.stats.failures++;
        this.#failed(addr, acct, accountKey);
        await this.#sync(addr, acct, keys, (c, k) => c.failed(k, this.#settings));
        return { kind: 'failed', info: this.#info(addr, acct) };
      } finally {
        if (gated) this.#leave(acct.gate, this.#accountPolicy);
        this.#leave(addr.gate, this.#addressPolicy, addr);
      }
    } finally {
      addr.gate.holders--;
      acct.gate.holders--;
    }
  }

  /**
   * With shared counts: runs `op` on them and takes the counts it returns into this node's gates;
   * the counts, or null (no shared counts, or they failed).
   */
  async #sync(
    addr: AddressEntry,
    acct: AccountEntry,
    keys: Omit<LoginKeys, 'now'>,
    op: (counts: LoginCountStore, keys: LoginKeys) => Promise<LoginCounts>,
  ): Promise<LoginCounts | null> {
    if (!this.#shared) return null;
    let counts: LoginCounts;
    try {
      counts = await op(this.#shared.counts, { ...keys, now: this.clock.now() });
    } catch (error) {
      this.#shared.onError?.(error);
      return null;
    }
    this.#adopt(addr.gate, counts.address, this.#addressPolicy);
    this.#adopt(acct.gate, counts.account, this.#accountPolicy);
    return counts;
  }

  /** Takes a gate's shared count (which includes this node's own failures) as the gate's. */
  #adopt(gate: Gate, count: LoginGateCount, policy: Policy): void {
    gate.failures = count.failures;
    gate.lastFailure = count.lastFailure;
    this.#shorten(gate, policy);
  }

  #throttled(scope: Throttle['scope'], gate: Gate, policy: Policy): AttemptOutcome<never> {
    this.stats.throttled++;
    const due = this.#due(gate, policy) - this.clock.now();
    return {
      kind: 'throttled',
      throttle: { scope, retryAfterMs: Math.max(due, penalty(gate.failures, policy), 1000) },
    };
  }

  #info(addr: AddressEntry, acct: AccountEntry): AttemptInfo {
    return {
      addressFailures: addr.gate.failures,
      accountFailures: acct.gate.failures,
      nextDelayMs: penalty(addr.gate.failures, this.#addressPolicy),
    };
  }

  #trusts(acct: AccountEntry, addrKey: string): boolean {
    const at = acct.trusted.get(addrKey);
    if (at === undefined) return false;
    if (this.clock.now() - at > TRUST_MS) {
      acct.trusted.delete(addrKey);
      return false;
    }
    return true;
  }

  #succeeded(addr: AddressEntry, acct: AccountEntry, addrKey: string, accountKey: string): void {
    // Forgive this address's failures on this account (the owner's typos), nothing else.
    const own = addr.byAccount.get(accountKey) ?? 0;
    if (own > 0) {
      addr.byAccount.delete(accountKey);
      addr.gate.failures = Math.max(0, addr.gate.failures - own);
      acct.gate.failures = Math.max(0, acct.gate.failures - own);
    }
    acct.trusted.delete(addrKey);
    acct.trusted.set(addrKey, this.clock.now());
    if (acct.trusted.size > TRUSTED_PER_ACCOUNT) acct.trusted.delete(acct.trusted.keys().next().value as string);
  }

  #failed(addr: AddressEntry, acct: AccountEntry, accountKey: string): void {
    const bucket = addr.byAccount.has(accountKey) || addr.byAccount.size < PER_ADDRESS_ACCOUNTS ? accountKey : OTHER;
    addr.byAccount.set(bucket, (addr.byAccount.get(bucket) ?? 0) + 1);
    this.#fail(addr.gate, this.#addressPolicy);
    this.#fail(acct.gate, this.#accountPolicy);
  }

  #fail(gate: Gate, policy: Policy): void {
    gate.failures++;
    gate.lastFailure = this.clock.now();
    this.#shorten(gate, policy);
  }

  #shorten(gate: Gate, policy: Policy): void {
    if (gate.failures >= policy.free) {
      // Penalized now: only a short line may wait; the rest are told to come back later.
      const dropped = gate.waiting.splice(this.options.maxWaitingPenalized);
      for (const w of dropped) w.admit(false);
    }
  }

  /**
   * Waits until the gate admits an attempt; false when it is refused (too many waiting). `addr` is the
   * gate's own address entry (address gate); `source` the attempt's address (account gate), see #queue.
   */
  #enter(gate: Gate, policy: Policy, addr?: AddressEntry, source?: AddressEntry): Promise<boolean> {
    this.#decay(gate, addr);
    if (
      gate.waiting.length === 0 &&
      gate.running < capacity(gate, policy) &&
      this.clock.now() >= this.#due(gate, policy)
    ) {
      gate.running++;
      return Promise.resolve(true);
    }
    const limit = gate.failures >= policy.free ? this.options.maxWaitingPenalized : this.options.maxWaiting;
    return new Promise((resolve) => {
      if (!queue(gate.waiting, { admit: resolve, source }, limit)) resolve(false);
      else this.#pump(gate, policy, addr);
    });
  }

  #leave(gate: Gate, policy: Policy, addr?: AddressEntry): void {
    gate.running--;
    this.#pump(gate, policy, addr);
  }

  /** Admits waiting attempts as far as the gate allows now, or sets a timer for when it will. */
  #pump(gate: Gate, policy: Policy, addr?: AddressEntry): void {
    this.#decay(gate, addr);
    while (gate.waiting.length > 0 && gate.running < capacity(gate, policy)) {
      const due = this.#due(gate, policy);
      const now = this.clock.now();
      if (now < due) {
        if (due < gate.timerAt) {
          gate.timerAt = due;
          void this.clock.sleep(due - now).then(() => {
            if (gate.timerAt === due) gate.timerAt = Number.POSITIVE_INFINITY;
            this.#pump(gate, policy, addr);
          });
        }
        return;
      }
      gate.running++;
      (gate.waiting.shift() as Waiting).admit(true);
    }
  }

  #due(gate: Gate, policy: Policy): number {
    return gate.failures >= policy.free ? gate.lastFailure + penalty(gate.failures, policy) : 0;
  }

  /** Forgets the failures of a gate that has been quiet for the window. */
  #decay(gate: Gate, addr?: AddressEntry): void {
    if (gate.failures > 0 && this.clock.now() - gate.lastFailure >= this.options.windowMs) {
      gate.failures = 0;
      addr?.byAccount.clear();
    }
  }

  #address(key: string): AddressEntry {
    return touch(this.#addresses, key, this.options.maxEntries, () => ({ gate: new Gate(), byAccount: new Map() }));
  }

  #account(key: string): AccountEntry {
    return touch(this.#accounts, key, this.options.maxEntries, () => ({ gate: new Gate(), trusted: new Map() }));
  }
}

/** The delay after `failures` failures: none while free, then start × 2^n up to the maximum. */
export function penalty(failures: number, policy: Policy): number {
  if (failures < policy.free) return 0;
  return Math.min(policy.maxMs, policy.startMs * 2 ** Math.min(failures - policy.free, 40));
}

/**
 * Puts an attempt in a gate's line, or returns false when it is refused. At the account gate (where
 * attempts carry their `source` address) the line is shared fairly, so that guessers from other
 * addresses cannot keep the owner on a new address out: an address waits there at most once, and
 * attempts from addresses with no failures go ahead of those from addresses that have failed; when the
 * line is full, a newcomer with no failures takes the place of the last one that has (refusing it).
 * So an attacker who wants to fill the line must bring fresh addresses as fast as it is served.
 */
function queue(line: Waiting[], entry: Waiting, limit: number): boolean {
  const source = entry.source;
  if (!source) {
    if (line.length >= limit) return false;
    line.push(entry);
    return true;
  }
  if (line.some((w) => w.source === source)) return false;
  const failed = (w: Waiting) => w.source !== undefined && w.source.gate.failures > 0;
  const clean = !failed(entry);
  if (line.length >= limit) {
    const last = line.findLastIndex(failed);
    if (!clean || last < 0) return false;
    line.splice(last, 1)[0].admit(false);
  }
  const at = clean ? line.findIndex(failed) : -1;
  line.splice(at < 0 ? line.length : at, 0, entry);
  return true;
}

/** Checks allowed at once: the free failures left (at least one), one while penalized. */
function capacity(gate: Gate, policy: Policy): number {
  return Math.max(1, policy.free - gate.failures);
}

/**
 * The entry for `key`, moved to the end of the map (most recently used) or created; when the table is
 * full, the least recently used entry without attempts in flight goes first.
 */
function touch<E extends { gate: Gate }>(map: Map<string, E>, key: string, max: number, create: () => E): E {
  const found = map.get(key);
  if (found) {
    map.delete(key);
    map.set(key, found);
    return found;
  }
  if (map.size >= max) {
    for (const [k, e] of map) {
      if (!e.gate.busy) {
        map.delete(k);
        break;
      }
    }
  }
  const entry = create();
  map.set(key, entry);
  return entry;
}
