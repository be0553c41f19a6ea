/**
 * SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 7677, the SCRAM framework of RFC 5802), server side.
 *
 * Invariants:
 * - The server never sees or stores the password for SCRAM: an account keeps its salt, iteration
 *   count, StoredKey and ServerKey (RFC 5802 §3), derived when the password is set (`deriveScramKeys`)
 *   and stored as one string (`formatScramKeys`, the layout PostgreSQL uses:
 *   `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, all base64).
 * - Accounts without keys (created before SCRAM existed, or disabled, or unknown) get a decoy salt
 *   derived from the name, so the first server message does not tell them apart (RFC 5802 §5.1), and
 *   always fail.
 * - The proof is checked in constant time, under the shared login limits (`ScramAuth.guarded`), so a
 *   wrong SCRAM proof counts like a wrong password anywhere else.
 * - Channel binding (`-PLUS`, RFC 5802 §6): `tls-exporter` (RFC 9266, TLS 1.3 only) and
 *   `tls-server-end-point` (RFC 5929 §4) as the connection offers them (net/tls.ts). A client that says
 *   `y` (it could bind but thinks the server cannot) is refused when this connection offers -PLUS: that
 *   is a downgrade.
 */
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ChannelBindingType } from '../net/channel-binding.js';
import type { LoginClient, LoginResult } from './service.js';

/** RFC 7677 §4 asks for at least 4096; more makes the stored keys costlier to attack offline. */
export const SCRAM_ITERATIONS = 10_000;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

export interface ScramKeys {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** What SCRAM needs from the accounts: stored keys by name, and the login limits. */
export interface ScramAuth<T> {
  /** Whether SCRAM-SHA-256 is advertised now (see AuthService.scramAdvertised). */
  advertised(): boolean;
  /**
   * The keys of the account a login name resolves to (`address`, used for the limits), or `keys: null`
   * for an unknown or disabled account or one that has no keys yet.
   */
  credentials(
    username: string,
  ): Promise<{ address: string; keys: ScramKeys; account: T } | { address: string; keys: null }>;
  /** A stable decoy salt for names without keys (RFC 5802 §5.1: do not reveal which names exist). */
  decoySalt(address: string): Buffer;
  /** Runs the proof check under the shared login limits (AuthService.guarded). */
  guarded(client: LoginClient, account: string, check: () => Promise<T | null>): Promise<LoginResult<T>>;
}

/** The connection facts SCRAM needs: TLS channel binding data (net/connection.ts). */
export interface ChannelBindingSource {
  readonly secure: boolean;
  channelBinding(type: ChannelBindingType): Buffer | null;
}

export const CHANNEL_BINDING_TYPES: readonly ChannelBindingType[] = ['tls-exporter', 'tls-server-end-point'];

/** Whether SCRAM-SHA-256-PLUS can run on this connection (TLS and some binding data). */
export function plusAvailable(conn: ChannelBindingSource): boolean {
  return conn.secure && CHANNEL_BINDING_TYPES.some((t) => conn.channelBinding(t) !== null);
}

function hmac(key: Buffer, data: string | Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/**
 * RFC 4013 SASLprep, the mapping part (RFC 5802 §2.2 `Normalize`): non-ASCII spaces become a space
 * (table C.1.2), characters "commonly mapped to nothing" go (B.1), then NFKC. The prohibited-output
 * and bidi checks are not done: such passwords are used as mapped, on both sides of the comparison.
 */
export function saslPrep(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    if (MAPPED_TO_NOTHING.has(c)) continue;
    out += NON_ASCII_SPACES.has(c) ? ' ' : ch;
  }
  return out.normalize('NFKC');
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
// RFC 3454 C.1.2 (U+200B is left to B.1, as later stringprep errata do) and B.1.
const NON_ASCII_SPACES = new Set([0xa0, 0x1680, ...range(0x2000, 0x200a), 0x202f, 0x205f, 0x3000]);
const MAPPED_TO_NOTHING = new Set([
  0xad,
  0x34f,
  0x1806,
  0x180b,
  0x180c,
  0x180d,
  0x200b,
  0x200c,
  0x200d,
  0x2060,
  ...range(0xfe00, 0xfe0f),
  0xfeff,
]);

/** RFC 5802 §3: SaltedPassword = Hi(Normalize(password), salt, i); ClientKey, StoredKey, ServerKey. */
export async function deriveScramKeys(
  password: string,
  opts: { salt?: Buffer; iterations?: number } = {},
): Promise<ScramKeys> {
  const salt = opts.salt ?? randomBytes(SALT_BYTES);
  const iterations = opts.iterations ?? SCRAM_ITERATIONS;
  const salted = await new Promise<Buffer>((resolve, reject) =>
    pbkdf2(Buffer.from(saslPrep(password), 'utf8'), salt, iterations, KEY_BYTES, 'sha256', (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
  return {
    salt,
    iterations,
    storedKey: sha256(hmac(salted, 'Client Key')),
    serverKey: hmac(salted, 'Server Key'),
  };
}

export function formatScramKeys(k: ScramKeys): string {
  const b64 = (b: Buffer) => b.toString('base64');
  return `SCRAM-SHA-256$${k.iterations}:${b64(k.salt)}$${b64(k.storedKey)}:${b64(k.serverKey)}`;
}

export function parseScramKeys(text: string | null): ScramKeys | null {
  if (!text) return null;
  const m = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(text);
  if (!m) return null;
  const keys = {
    iterations: Number(m[1]),
    salt: Buffer.from(m[2], 'base64'),
    storedKey: Buffer.from(m[3], 'base64'),
    serverKey: Buffer.from(m[4], 'base64'),
  };
  return keys.storedKey.length === KEY_BYTES && keys.serverKey.length === KEY_BYTES ? keys : null;
}

// ---- the message grammar (RFC 5802 §7) ----

/** `saslname`: `,` and `=` travel as `=2C` and `=3D`; any other `=` is an error (null). */
export function decodeSaslName(text: string): string | null {
  if (/=(?!2C|3D)/.test(text)) return null;
  return text.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

export function encodeSaslName(text: string): string {
  return text.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** `attr=value` pairs of a message, in order; null when a part is not of that form. */
function attributes(text: string): [string, string][] | null {
  const out: [string, string][] = [];
  for (const part of text.split(',')) {
    const m = /^([A-Za-z])=(.*)$/s.exec(part);
    if (!m) return null;
    out.push([m[1], m[2]]);
  }
  return out;
}

export interface ClientFirst {
  /** `n`, `y`, or the channel binding type after `p=`. */
  cbind: { flag: 'n' } | { flag: 'y' } | { flag: 'p'; type: string };
  /** The authorization identity (`a=`), '' when absent. */
  authzid: string;
  /** The gs2 header as sent, with its trailing comma: it comes back inside `c=`. */
  gs2Header: string;
  /** client-first-message-bare: it is part of the AuthMessage. */
  bare: string;
  username: string;
  nonce: string;
}

/** RFC 5802 §7 `client-first-message`; a string is the error. */
export function parseClientFirst(text: string): ClientFirst | string {
  const m = /^(n|y|p=[A-Za-z0-9.-]+),(a=[^,]*)?,(.*)$/s.exec(text);
  if (!m) return 'the first SCRAM message must start with a GS2 header such as "n,,"';
  const cbind =
    m[1] === 'n'
      ? { flag: 'n' as const }
      : m[1] === 'y'
        ? { flag: 'y' as const }
        : { flag: 'p' as const, type: m[1].slice(2) };
  const authzid = m[2] ? decodeSaslName(m[2].slice(2)) : '';
  if (authzid === null) return 'the authorization identity is not a valid saslname';
  const bare = m[3];
  const attrs = attributes(bare);
  if (!attrs) return 'the first SCRAM message is malformed';
  // RFC 5802 §5.1: "m" is reserved for future extensions that the server must refuse.
  if (attrs[0]?.[0] === 'm') return 'SCRAM extension "m" is not supported';
  if (attrs[0]?.[0] !== 'n' || attrs[1]?.[0] !== 'r') return 'the first SCRAM message must be n=<user>,r=<nonce>';
  const username = decodeSaslName(attrs[0][1]);
  if (username === null || username === '') return 'the SCRAM user name is not a valid saslname';
  const nonce = attrs[1][1];
  if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(nonce)) return 'the SCRAM nonce is not printable';
  return { cbind, authzid, gs2Header: `${m[1]},${m[2] ?? ''},`, bare, username, nonce };
}

export interface ClientFinal {
  channelBinding: Buffer;
  nonce: string;
  proof: Buffer;
  /** client-final-message-without-proof: part of the AuthMessage. */
  withoutProof: string;
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** RFC 5802 §7 `client-final-message`; a string is the error. */
export function parseClientFinal(text: string): ClientFinal | string {
  const at = text.lastIndexOf(',p=');
  const attrs = attributes(text);
  if (at < 0 || !attrs || attrs[0]?.[0] !== 'c' || attrs[1]?.[0] !== 'r' || attrs.at(-1)?.[0] !== 'p')
    return 'the final SCRAM message must be c=<binding>,r=<nonce>,p=<proof>';
  const [c, , p] = [attrs[0][1], attrs[1][1], attrs.at(-1)?.[1] ?? ''];
  if (!STRICT_BASE64.test(c) || !STRICT_BASE64.test(p)) return 'the SCRAM channel binding or proof is not base64';
  return {
    channelBinding: Buffer.from(c, 'base64'),
    nonce: attrs[1][1],
    proof: Buffer.from(p, 'base64'),
    withoutProof: text.slice(0, at),
  };
}

/** RFC 5802 §3: the server's signature of the AuthMessage, for `v=`. */
export function serverSignature(keys: ScramKeys, authMessage: string): Buffer {
  return hmac(keys.serverKey, authMessage);
}

/** RFC 5802 §3: ClientKey = ClientProof XOR ClientSignature; the proof holds when H(ClientKey) = StoredKey. */
export function verifyProof(keys: ScramKeys, authMessage: string, proof: Buffer): boolean {
  if (proof.length !== KEY_BYTES) return false;
  const signature = hmac(keys.storedKey, authMessage);
  const clientKey = Buffer.alloc(KEY_BYTES);
  for (let i = 0; i < KEY_BYTES; i++) clientKey[i] = proof[i] ^ signature[i];
  return timingSafeEqual(sha256(clientKey), keys.storedKey);
}

/** A fresh server nonce part: printable, no comma (RFC 5802 §7 `nonce`). */
export function serverNonce(): string {
  return randomBytes(18).toString('base64');
}
