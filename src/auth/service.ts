/**
 * Authentication: checks credentials against the store, with an in-memory cache of recent successful
 * verifications (as Dovecot's auth cache) so repeated logins do not pay for scrypt each time. The
 * cache is keyed by the stored hash: a changed password invalidates it at once.
 *
 * Also decides where plaintext mechanisms are allowed (TLS, or a `plaintext_networks` address).
 *
 * Every credential check of every protocol goes through `login`, `apop` or `guarded`, which take the
 * client's address and run the check under the shared `LoginLimiter` (limiter.ts): delays per address
 * and per account before the check, and refusals ("throttled") without a check when too many attempts
 * wait. Any failed or refused attempt is answered no sooner than `failureDelayMs`.
 *
 * SCRAM-SHA-256 (scram.ts): keys are derived whenever a password is set (`passwordFields`), and for
 * accounts that have none yet (created before SCRAM) at their next successful password login. SCRAM is
 * advertised only once every account has keys (`scramAdvertised`): clients built on Cyrus SASL (mutt,
 * mbsync) pick the strongest advertised mechanism and do not fall back, so offering SCRAM to a user
 * without keys would lock them out.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { BlockList, isIPv6 } from 'node:net';
import type { Logger } from '../log.js';
import type { Account, Store } from '../store/types.js';
import type { LoginLimiter, Throttle } from './limiter.js';
import { hashPassword, verifyPassword } from './password.js';
import { deriveScramKeys, formatScramKeys, parseScramKeys, type ScramAuth, type ScramKeys } from './scram.js';
import type { SecretBox } from './secret.js';

export interface AuthOptions {
  secretBox: SecretBox;
  plaintextNetworks: string[];
  scryptLogN: number;
  /** Whether to keep recoverable secrets for APOP. */
  apop: boolean;
  /** The least wait before a failed or refused login is answered, to slow down password guessing (default 0). */
  failureDelayMs?: number;
  /**
   * The limiter shared by all protocols (the composition root passes one built from the `auth` config);
   * without one (some unit tests) there are no limits per address or account.
   */
  limiter?: LoginLimiter;
  /** Where failed logins are logged (one line each; they are rate-limited by the limiter). */
  log?: Logger;
}

export type LoginProtocol = 'imap' | 'pop3' | 'smtp' | 'web' | 'managesieve';

/** Who is logging in: the client's address (limits are kept per address) and the protocol (for the log). */
export interface LoginClient {
  remoteAddress: string;
  protocol: LoginProtocol;
}

/**
 * The answer to a login: the account, a failed check ("invalid"), or a refusal without a check because
 * too many attempts from the address, or at the account, are waiting ("throttled").
 */
export type LoginResult<T> =
  | { ok: true; account: T }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'throttled'; throttle: Throttle };

/** The text engines give a throttled client (after their own status prefix). */
export function throttledText(throttle: Throttle): string {
  const seconds = Math.max(1, Math.ceil(throttle.retryAfterMs / 1000));
  return throttle.scope === 'address'
    ? `Too many login attempts from your address; wait ${seconds} s and try again (failed logins slow down further attempts)`
    : `Too many failed logins at this account from other addresses; wait ${seconds} s and try again, or log in from an address you used before`;
}

const CACHE_LIMIT = 10_000;
/** While SCRAM is not advertised, how often to look again whether every account has keys now. */
const SCRAM_RECHECK_MS = 30_000;

export class AuthService {
  readonly #plaintext = new BlockList();
  readonly #pepper = randomBytes(32);
  readonly #cache = new Map<string, { hash: string; check: Buffer }>();
  #scramReady = false;
  #scramCheckedAt = Number.NEGATIVE_INFINITY;
  #scramCheck: Promise<string[]> | null = null;

  /** SCRAM-SHA-256 for the SASL exchange (sasl.ts): the stored keys and the login limits. */
  readonly scram: ScramAuth<Account> = {
    advertised: () => this.scramAdvertised(),
    credentials: (username) => this.#scramCredentials(username),
    // Stable across restarts, so a restart does not tell unknown names (new decoy) from real ones.
    decoySalt: (address) => this.options.secretBox.mac('scram-decoy-salt', address).subarray(0, 16),
    guarded: (client, account, check) => this.guarded(client, account, check),
  };

  constructor(
    private readonly store: Store,
    readonly options: AuthOptions,
  ) {
    for (const cidr of options.plaintextNetworks) {
      const [addr, bits] = cidr.split('/');
      const type = isIPv6(addr) ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.#plaintext.addAddress(addr, type);
      else this.#plaintext.addSubnet(addr, Number(bits), type);
    }
  }

  /** Whether a client may send a password in clear on this connection. */
  plaintextAllowed(conn: { secure: boolean; remoteAddress: string }): boolean {
    if (conn.secure) return true;
    const type = isIPv6(conn.remoteAddress) ? 'ipv6' : 'ipv4';
    try {
      return this.#plaintext.check(conn.remoteAddress, type);
    } catch {
      return false;
    }
  }

  /** Resolves a login name to an address: a bare local part is accepted when only one domain is local. */
  async resolveUser(username: string): Promise<string> {
    const name = username.trim().toLowerCase();
    if (name.includes('@')) return name;
    const domains = await this.store.domains.list();
    return domains.length === 1 ? `${name}@${domains[0]}` : name;
  }

  /** The account when the password is right and the account is enabled, under the login limits. */
  async login(client: LoginClient, username: string, password: string): Promise<LoginResult<Account>> {
    const address = await this.resolveUser(username);
    return this.guarded(client, address, () => this.#login(address, password));
  }

  /**
   * Runs a credential check (the value on success, null on failure) under the login limits, for the
   * account named `account`; failures and refusals are answered after `failureDelayMs` at the least.
   * The web login uses it for admin passwords.
   */
  async guarded<T>(client: LoginClient, account: string, check: () => Promise<T | null>): Promise<LoginResult<T>> {
    const limiter = this.options.limiter;
    if (!limiter) {
      const value = await check();
      if (value !== null) return { ok: true, account: value };
      await this.#failureDelay();
      return { ok: false, reason: 'invalid' };
    }
    const outcome = await limiter.attempt(client.remoteAddress, account, check);
    if (outcome.kind === 'ok') return { ok: true, account: outcome.value };
    if (outcome.kind === 'failed') {
      this.options.log?.info(
        { remote: client.remoteAddress, protocol: client.protocol, user: account.slice(0, 100), ...outcome.info },
        'login failed',
      );
    }
    await this.#failureDelay();
    return outcome.kind === 'failed'
      ? { ok: false, reason: 'invalid' }
      : { ok: false, reason: 'throttled', throttle: outcome.throttle };
  }

  async #failureDelay(): Promise<void> {
    const ms = this.options.failureDelayMs ?? 0;
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  }

  async #login(address: string, password: string): Promise<Account | null> {
    const account = await this.store.accounts.get(address);
    if (!account || account.disabled) {
      // Spend comparable time so that unknown users are not told apart by timing.
      await verifyPassword(password, DUMMY_HASH);
      return null;
    }
    const check = createHmac('sha256', this.#pepper).update(address).update('\0').update(password).digest();
    const cached = this.#cache.get(address);
    if (!(cached && cached.hash === account.passwordHash && timingSafeEqual(cached.check, check))) {
      if (!(await verifyPassword(password, account.passwordHash))) return null;
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.delete(this.#cache.keys().next().value as string);
      this.#cache.set(address, { hash: account.passwordHash, check });
    }
    if (parseScramKeys(account.scramSha256) === null) await this.#addScramKeys(account, password);
    return account;
  }

  /** An account without SCRAM keys logged in with its password: derive and store them now. */
  async #addScramKeys(account: Account, password: string): Promise<void> {
    try {
      const keys = formatScramKeys(await deriveScramKeys(password));
      if (await this.store.accounts.setScram(account.address, account.passwordHash, keys)) {
        account.scramSha256 = keys;
        if (!this.#scramReady) {
          await this.#scramCheck?.catch(() => {}); // one that started before this write may miss it
          await this.refreshScram();
        }
      }
    } catch (err) {
      // The login itself succeeded; SCRAM keys are tried again at the next one.
      this.options.log?.warn({ err, user: account.address }, 'could not store SCRAM keys');
    }
  }

  /**
   * Whether SCRAM-SHA-256 is advertised: only when every account has keys (see the header). While not,
   * the store is looked at again at most every 30 s (the CLI may change passwords from another process).
   * SCRAM is accepted either way when a client asks for it.
   */
  scramAdvertised(): boolean {
    if (!this.#scramReady && Date.now() - this.#scramCheckedAt >= SCRAM_RECHECK_MS) {
      this.refreshScram().catch((err) =>
        this.options.log?.warn({ err }, 'could not count accounts without SCRAM keys'),
      );
    }
    return this.#scramReady;
  }

  /**
   * Looks whether every account has SCRAM keys (then SCRAM is advertised from now on); the addresses of
   * those that have none. The composition root calls it at start.
   */
  async refreshScram(): Promise<string[]> {
    if (this.#scramCheck) return this.#scramCheck;
    this.#scramCheckedAt = Date.now();
    this.#scramCheck = (async () => {
      try {
        const missing = (await this.store.accounts.list())
          .filter((a) => parseScramKeys(a.scramSha256) === null)
          .map((a) => a.address);
        this.#scramReady = missing.length === 0;
        return missing;
      } finally {
        this.#scramCheck = null;
      }
    })();
    return this.#scramCheck;
  }

  async #scramCredentials(
    username: string,
  ): Promise<{ address: string; keys: ScramKeys; account: Account } | { address: string; keys: null }> {
    const address = await this.resolveUser(username);
    const account = await this.store.accounts.get(address);
    const keys = account && !account.disabled ? parseScramKeys(account.scramSha256) : null;
    return account && keys ? { address, keys, account } : { address, keys: null };
  }

  /** RFC 1939 §7: digest = MD5(timestamp + secret), lower-case hex; under the login limits. */
  async apop(client: LoginClient, username: string, timestamp: string, digest: string): Promise<LoginResult<Account>> {
    const address = await this.resolveUser(username);
    return this.guarded(client, address, () => this.#apop(address, timestamp, digest));
  }

  async #apop(address: string, timestamp: string, digest: string): Promise<Account | null> {
    if (!this.options.apop) return null;
    const account = await this.store.accounts.get(address);
    if (!account || account.disabled || !account.apopSecret) return null;
    const secret = this.options.secretBox.open(account.apopSecret);
    if (secret === null) return null;
    const expected = createHash('md5')
      .update(timestamp + secret)
      .digest('hex');
    const given = digest.toLowerCase();
    if (given.length !== expected.length) return null;
    return timingSafeEqual(Buffer.from(given), Buffer.from(expected)) ? account : null;
  }

  /** The stored fields for a password: its hash, its SCRAM keys and, when APOP is on, the sealed secret. */
  async passwordFields(
    password: string,
  ): Promise<{ passwordHash: string; scramSha256: string; apopSecret: string | null }> {
    const [passwordHash, scram] = await Promise.all([
      hashPassword(password, this.options.scryptLogN),
      deriveScramKeys(password),
    ]);
    return {
      passwordHash,
      scramSha256: formatScramKeys(scram),
      apopSecret: this.options.apop ? this.options.secretBox.seal(password) : null,
    };
  }
}

// A valid hash of a random password, for constant-ish time on unknown users.
const DUMMY_HASH = '$scrypt$ln=14,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
