/**
 * A small SCRAM-SHA-256 client (RFC 5802 §3, RFC 7677) for tests: written from the RFC independently
 * of the server's code, so the two check each other (and the RFC 7677 §3 example checks both).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export interface ScramClientOptions {
  username: string;
  password: string;
  /** The client nonce (default: random). */
  nonce?: string;
  /** The authorization identity (`a=`), default none. */
  authzid?: string;
  /** `n` (default), `y`, or channel binding `p=<type>` with its data. */
  binding?: 'n' | 'y' | { type: string; data: Buffer };
}

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
const saslName = (s: string) => s.replace(/=/g, '=3D').replace(/,/g, '=2C');

export class ScramClient {
  readonly gs2Header: string;
  readonly first: string;
  readonly #bare: string;
  #authMessage = '';
  #saltedPassword: Buffer | null = null;

  constructor(private readonly opts: ScramClientOptions) {
    const b = opts.binding ?? 'n';
    const flag = typeof b === 'string' ? b : `p=${b.type}`;
    this.gs2Header = `${flag},${opts.authzid ? `a=${saslName(opts.authzid)}` : ''},`;
    this.#bare = `n=${saslName(opts.username)},r=${opts.nonce ?? randomBytes(12).toString('base64')}`;
    this.first = this.gs2Header + this.#bare;
  }

  /** The client-final message for the server-first message. */
  final(serverFirst: string): string {
    const attrs = new Map(serverFirst.split(',').map((p) => [p[0], p.slice(2)] as [string, string]));
    const nonce = attrs.get('r') ?? '';
    const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
    const iterations = Number(attrs.get('i'));
    const b = this.opts.binding;
    const cbind = Buffer.concat([Buffer.from(this.gs2Header), typeof b === 'object' ? b.data : Buffer.alloc(0)]);
    const withoutProof = `c=${cbind.toString('base64')},r=${nonce}`;
    this.#authMessage = `${this.#bare},${serverFirst},${withoutProof}`;
    this.#saltedPassword = pbkdf2Sync(this.opts.password, salt, iterations, 32, 'sha256');
    const clientKey = hmac(this.#saltedPassword, 'Client Key');
    const storedKey = createHash('sha256').update(clientKey).digest();
    const signature = hmac(storedKey, this.#authMessage);
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]));
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** Whether the server-final message `v=...` proves the server knows the password's keys. */
  verifyServer(serverFinal: string): boolean {
    if (!this.#saltedPassword || !serverFinal.startsWith('v=')) return false;
    const expected = hmac(hmac(this.#saltedPassword, 'Server Key'), this.#authMessage);
    const got = Buffer.from(serverFinal.slice(2), 'base64');
    return got.length === expected.length && timingSafeEqual(got, expected);
  }
}

export const b64 = (text: string) => Buffer.from(text).toString('base64');
export const unb64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');
