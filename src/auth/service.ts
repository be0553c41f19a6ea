/**
 * Authentication: checks credentials against the store, with an in-memory cache of recent successful
 * verifications (as Dovecot's auth cache) so repeated logins do not pay for scrypt each time. The
 * cache is keyed by the stored hash: a changed password invalidates it at once.
 *
 * Also decides where plaintext mechanisms are allowed (TLS, or a `plaintext_networks` address).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { BlockList, isIPv6 } from 'node:net';
import type { Account, Store } from '../store/types.js';
import { hashPassword, verifyPassword } from './password.js';
import type { SecretBox } from './secret.js';

export interface AuthOptions {
  secretBox: SecretBox;
  plaintextNetworks: string[];
  scryptLogN: number;
  /** Whether to keep recoverable secrets for APOP. */
  apop: boolean;
  /** Extra wait before a failed login is answered, to slow down password guessing (default 0). */
  failureDelayMs?: number;
}

const CACHE_LIMIT = 10_000;

export class AuthService {
  readonly #plaintext = new BlockList();
  readonly #pepper = randomBytes(32);
  readonly #cache = new Map<string, { hash: string; check: Buffer }>();

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

  /** The account when the password is right and the account is enabled; null otherwise. */
  async login(username: string, password: string): Promise<Account | null> {
    const account = await this.#login(username, password);
    if (!account) await this.#penalty();
    return account;
  }

  async #penalty(): Promise<void> {
    const ms = this.options.failureDelayMs ?? 0;
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  }

  async #login(username: string, password: string): Promise<Account | null> {
    const address = await this.resolveUser(username);
    const account = await this.store.accounts.get(address);
    if (!account || account.disabled) {
      // Spend comparable time so that unknown users are not told apart by timing.
      await verifyPassword(password, DUMMY_HASH);
      return null;
    }
    const check = createHmac('sha256', this.#pepper).update(address).update('\0').update(password).digest();
    const cached = this.#cache.get(address);
    if (cached && cached.hash === account.passwordHash && timingSafeEqual(cached.check, check)) return account;
    if (!(await verifyPassword(password, account.passwordHash))) return null;
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(address, { hash: account.passwordHash, check });
    return account;
  }

  /** RFC 1939 §7: digest = MD5(timestamp + secret), lower-case hex. */
  async apop(username: string, timestamp: string, digest: string): Promise<Account | null> {
    const account = await this.#apop(username, timestamp, digest);
    if (!account) await this.#penalty();
    return account;
  }

  async #apop(username: string, timestamp: string, digest: string): Promise<Account | null> {
    if (!this.options.apop) return null;
    const account = await this.store.accounts.get(await this.resolveUser(username));
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

  /** The stored fields for a password: its hash and, when APOP is on, the sealed secret. */
  async passwordFields(password: string): Promise<{ passwordHash: string; apopSecret: string | null }> {
    return {
      passwordHash: await hashPassword(password, this.options.scryptLogN),
      apopSecret: this.options.apop ? this.options.secretBox.seal(password) : null,
    };
  }
}

// A valid hash of a random password, for constant-ish time on unknown users.
const DUMMY_HASH = '$scrypt$ln=14,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
