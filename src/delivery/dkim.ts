/**
 * DKIM signing (RFC 6376; rsa-sha256, and ed25519-sha256 per RFC 8463) and the per-domain key store.
 *
 * Keys live in `<data_dir>/dkim/<domain>.<selector>.key` (PKCS#8 PEM, mode 0600, directory 0700). The
 * algorithm follows from the key. Selectors are restricted to letters, digits and hyphens so the file
 * name splits unambiguously at its last dot. The key that signs for a domain is the one named by
 * `<data_dir>/dkim/<domain>.active` (its selector, written by `dkim use` and `dkim keygen --standby`);
 * without that file, or when it names no key, the newest key file signs. Rotation: a standby key is
 * published next to the signing one, then made active (`use`), and the old one deleted days later.
 *
 * Invariants:
 * - `signMessage` only prepends one `DKIM-Signature:` header; the rest of the bytes are unchanged.
 * - The signing library (mailauth) is used only here, behind `signMessage`, so it can be swapped.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

export interface DkimSignOptions {
  domain: string;
  selector: string;
  /** PEM private key. */
  privateKey: string;
  /** Default rsa-sha256; must match the key. */
  algorithm?: DkimAlgorithm;
}

export interface DkimKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  privateKey: string;
  file: string;
  /** The file's modification time (the newest key of a domain signs). */
  created: Date;
}

/** Thrown when signing fails (a bad key, an unparsable message). */
export class DkimError extends Error {
  override name = 'DkimError';
}

const SELECTOR = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** Why a selector is unusable, or null. */
export function selectorError(selector: string): string | null {
  return SELECTOR.test(selector) ? null : 'a selector is 1-63 letters, digits or hyphens (no dots)';
}

/** Why a domain is unusable for a key file, or null. */
export function domainError(domain: string): string | null {
  return DOMAIN.test(domain) ? null : 'not a valid domain name (e.g. example.org)';
}

/**
 * Prepends a DKIM-Signature header (relaxed/relaxed, mailauth's default header list) to `raw`.
 *
 * `signTime` is always passed: without it mailauth reads the clock twice, once for the `t=` tag in the
 * header it signs and once for the header it returns (`Math.round(Date.now() / 1000)` each time), so a
 * signature made across a half-second boundary carried a `t=` one second off the signed one and failed
 * verification (the rare ed25519 self-check failure seen in CI; RSA was exposed the same way).
 */
export async function signMessage(raw: Buffer, opts: DkimSignOptions & { now?: Date }): Promise<Buffer> {
  const key = { signingDomain: opts.domain, selector: opts.selector, privateKey: opts.privateKey };
  // Loaded on first use: mailauth is large, and the CLI's key commands never sign.
  const { dkimSign } = await import('mailauth');
  const result = await dkimSign(raw, {
    ...key,
    algorithm: opts.algorithm ?? 'rsa-sha256',
    canonicalization: 'relaxed/relaxed',
    signTime: opts.now ?? new Date(),
    signatureData: [key],
  });
  if (result.errors.length > 0 || !result.signatures) {
    throw new DkimError(`DKIM signing for ${opts.domain} failed: ${result.errors[0]?.message ?? 'no signature'}`);
  }
  let header = result.signatures;
  if (!header.endsWith('\r\n')) header += '\r\n';
  return Buffer.concat([Buffer.from(header), raw]);
}

function algorithmOf(privateKey: string): DkimAlgorithm {
  const type = createPrivateKey(privateKey).asymmetricKeyType;
  if (type === 'rsa') return 'rsa-sha256';
  if (type === 'ed25519') return 'ed25519-sha256';
  throw new DkimError(`unsupported DKIM key type ${type ?? 'unknown'} (use rsa or ed25519)`);
}

/** The DNS TXT value for a key's public half: `v=DKIM1; k=rsa; p=...` (RFC 6376 §3.6.1, RFC 8463 §4.2). */
export function dnsRecordValue(privateKey: string): string {
  const pub = createPublicKey(privateKey);
  const der = pub.export({ type: 'spki', format: 'der' });
  if (pub.asymmetricKeyType === 'ed25519') {
    // RFC 8463: p= is the raw 32-byte public key, not the SubjectPublicKeyInfo.
    return `v=DKIM1; k=ed25519; p=${der.subarray(der.length - 32).toString('base64')}`;
  }
  return `v=DKIM1; k=rsa; p=${der.toString('base64')}`;
}

/** A zone-file line for the key, the value split into strings of at most 255 characters (RFC 1035 §3.3). */
export function dnsRecord(key: Pick<DkimKey, 'domain' | 'selector' | 'privateKey'>): string {
  const value = dnsRecordValue(key.privateKey);
  const chunks: string[] = [];
  for (let i = 0; i < value.length; i += 255) chunks.push(`"${value.slice(i, i + 255)}"`);
  return `${key.selector}._domainkey.${key.domain}. IN TXT ${chunks.join(' ')}`;
}

/** The DKIM keys in `<data_dir>/dkim`. Reads the directory on each call (changes apply at once). */
export class DkimKeyStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, 'dkim');
  }

  list(): DkimKey[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const keys: DkimKey[] = [];
    for (const name of names.sort()) {
      const m = /^(.+)\.([^.]+)\.key$/.exec(name);
      if (!m) continue;
      const file = path.join(this.dir, name);
      const privateKey = readFileSync(file, 'utf8');
      keys.push({
        domain: m[1],
        selector: m[2],
        algorithm: algorithmOf(privateKey),
        privateKey,
        file,
        created: statSync(file).mtime,
      });
    }
    return keys;
  }

  /**
   * The key that signs for `domain` (the one `<domain>.active` names, else the newest), or with
   * `selector` that key; null when there is none.
   */
  get(domain: string, selector?: string): DkimKey | null {
    const d = domain.toLowerCase();
    const keys = this.list().filter((k) => k.domain === d);
    const wanted = selector ?? this.#pinned(d);
    const named = wanted === null ? undefined : keys.find((k) => k.selector === wanted);
    if (named || selector !== undefined) return named ?? null;
    keys.sort((a, b) => b.created.getTime() - a.created.getTime());
    return keys[0] ?? null;
  }

  /** The selector `<domain>.active` names, or null. */
  #pinned(domain: string): string | null {
    try {
      const value = readFileSync(this.#pinFile(domain), 'utf8').trim().toLowerCase();
      return selectorError(value) ? null : value;
    } catch {
      return null;
    }
  }

  #pinFile(domain: string): string {
    return path.join(this.dir, `${domain}.active`);
  }

  /** Writes `<domain>.active` (atomically: a complete file or the old one). */
  #pin(domain: string, selector: string): void {
    const file = this.#pinFile(domain);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${selector}\n`, { mode: 0o600 });
    renameSync(tmp, file);
  }

  /** Makes the key with `selector` the one that signs for `domain`; returns it and the one it replaces. */
  use(domain: string, selector: string): { key: DkimKey; previous: DkimKey | null } {
    const d = domain.toLowerCase();
    const s = selector.toLowerCase();
    const key = this.get(d, s);
    if (!key) throw new DkimError(`no DKIM key for ${d} with selector ${s} (see postbode dkim list)`);
    const previous = this.get(d);
    this.#pin(d, s);
    return { key, previous: previous && previous.selector !== s ? previous : null };
  }

  /**
   * Deletes the key with `selector`. The key that signs can be deleted only when it is the domain's last
   * one (signing then stops); otherwise another must be made active first.
   */
  remove(domain: string, selector: string): { key: DkimKey; wasSigning: boolean } {
    const d = domain.toLowerCase();
    const s = selector.toLowerCase();
    const key = this.get(d, s);
    if (!key) throw new DkimError(`no DKIM key for ${d} with selector ${s} (see postbode dkim list)`);
    const signing = this.get(d);
    const wasSigning = signing?.selector === s;
    const others = this.list().filter((k) => k.domain === d && k.selector !== s);
    if (wasSigning && others.length > 0) {
      throw new DkimError(
        `the key ${s} signs the mail of ${d}: make another key sign first (postbode dkim use ${d} ${others[0].selector}), then delete this one`,
      );
    }
    unlinkSync(key.file);
    if (this.#pinned(d) === s) rmSync(this.#pinFile(d), { force: true });
    return { key, wasSigning };
  }

  /**
   * Creates a key (RSA 2048 or Ed25519); refuses to overwrite an existing one. It signs at once, unless
   * `standby`: then the key that signs now keeps signing (there must be one).
   */
  generate(
    domain: string,
    selector: string,
    type: 'rsa' | 'ed25519' = 'rsa',
    opts: { standby?: boolean } = {},
  ): DkimKey {
    const d = domain.toLowerCase();
    const s = selector.toLowerCase();
    const problem = domainError(d) ?? selectorError(s);
    if (problem) throw new DkimError(problem);
    const current = this.get(d);
    if (opts.standby && !current) {
      throw new DkimError(
        `no key signs for ${d} yet, so there is nothing to keep signing: create the key without --standby`,
      );
    }
    const pair =
      type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('rsa', { modulusLength: 2048 });
    const privateKey = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.dir, `${d}.${s}.key`);
    try {
      writeFileSync(file, privateKey, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new DkimError(`a DKIM key for ${d} with selector ${s} already exists (${file})`);
      }
      throw err;
    }
    chmodSync(file, 0o600);
    // Pinned: a standby key must not win by being the newest; a new active key must win over a pin.
    if (opts.standby && current) this.#pin(d, current.selector);
    else if (this.#pinned(d) !== null) this.#pin(d, s);
    return { domain: d, selector: s, algorithm: algorithmOf(privateKey), privateKey, file, created: new Date() };
  }
}

/** The domain of the first address in the message's From: header, or null. */
export function fromHeaderDomain(raw: Buffer): string | null {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end < 0 ? raw.length : end).toString('latin1');
  const m = /(?:^|\r\n)from:((?:[^\r]|\r\n[ \t])*)/i.exec(head);
  if (!m) return null;
  const addr = /<([^<>]*@[^<>]*)>/.exec(m[1])?.[1] ?? /([^\s<>,;:"]+@[^\s<>,;:"]+)/.exec(m[1])?.[1];
  return addr ? addr.slice(addr.lastIndexOf('@') + 1).toLowerCase() : null;
}
