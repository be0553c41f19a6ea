/**
 * TLS material: the configured certificate, or a self-signed one generated on first start for the
 * configured hostname and kept in the data directory (so clients can pin it across restarts), or one
 * obtained by ACME (acme.ts).
 *
 * Invariant: `CurrentCertificate` is the one owner of "the certificate served now". Every TLS listener
 * (implicit TLS and STARTTLS in net/, the HTTPS web listener) reads its context per handshake, so a
 * `replace` (an ACME renewal) reaches every new handshake without a restart; sessions already in TLS
 * keep the certificate they negotiated.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';

export interface TlsMaterial {
  cert: string;
  key: string;
  context: tls.SecureContext;
  /** Where the certificate came from, for the startup log. */
  source: string;
  /** Present when the material can change while running (CurrentCertificate). */
  watch?(fn: (m: TlsMaterial) => void): () => void;
}

/** Options of every secure context the server creates. */
const CONTEXT_OPTIONS = { minVersion: 'TLSv1.2' } as const;

export function secureContext(cert: string, key: string): tls.SecureContext {
  return tls.createSecureContext({ cert, key, ...CONTEXT_OPTIONS });
}

/**
 * The certificate the server serves now, replaceable while running. Implements `TlsMaterial` by
 * reading through to the latest material, so holders of the object always see the current one.
 */
export class CurrentCertificate implements TlsMaterial {
  #material: TlsMaterial;
  #watchers = new Set<(m: TlsMaterial) => void>();

  constructor(material: TlsMaterial) {
    this.#material = material;
  }

  get cert(): string {
    return this.#material.cert;
  }
  get key(): string {
    return this.#material.key;
  }
  get context(): tls.SecureContext {
    return this.#material.context;
  }
  get source(): string {
    return this.#material.source;
  }

  /** Serves `cert`/`key` from the next handshake on; throws (and keeps the old one) when they are unusable. */
  replace(m: { cert: string; key: string; source: string }): void {
    const context = secureContext(m.cert, m.key);
    this.#material = { ...m, context };
    for (const fn of this.#watchers) fn(this.#material);
  }

  /**
   * Calls `fn` after each replacement (for a server whose default context must be set, such as an
   * HTTPS server's for clients without SNI). Returns the function that stops watching.
   */
  watch(fn: (m: TlsMaterial) => void): () => void {
    this.#watchers.add(fn);
    return () => this.#watchers.delete(fn);
  }
}

export async function loadTls(opts: {
  dataDir: string;
  hostname: string;
  certFile: string;
  keyFile: string;
}): Promise<TlsMaterial> {
  let cert: string;
  let key: string;
  let source: string;
  if (opts.certFile || opts.keyFile) {
    if (!opts.certFile || !opts.keyFile) throw new Error('tls.cert_file and tls.key_file must be set together');
    cert = readFileSync(opts.certFile, 'utf8');
    key = readFileSync(opts.keyFile, 'utf8');
    source = opts.certFile;
  } else {
    const dir = path.join(opts.dataDir, 'tls');
    const certPath = path.join(dir, 'cert.pem');
    const keyPath = path.join(dir, 'key.pem');
    if (existsSync(certPath) && existsSync(keyPath) && certMatchesHost(readFileSync(certPath, 'utf8'), opts.hostname)) {
      cert = readFileSync(certPath, 'utf8');
      key = readFileSync(keyPath, 'utf8');
      source = `${certPath} (self-signed)`;
    } else {
      ({ cert, key } = await generateSelfSigned(opts.hostname));
      mkdirSync(dir, { recursive: true });
      writeFileSync(keyPath, key, { mode: 0o600 });
      writeFileSync(certPath, cert);
      source = `${certPath} (self-signed, generated now)`;
    }
  }
  return { cert, key, context: secureContext(cert, key), source };
}

function certMatchesHost(pem: string, hostname: string): boolean {
  try {
    return new X509Certificate(pem).checkHost(hostname) !== undefined;
  } catch {
    return false;
  }
}

/**
 * A self-signed certificate for `hostname` (and localhost, 127.0.0.1, ::1), valid five years, with a new
 * RSA 2048 key, or for `keyPair` (PEM, PKCS#8 and SPKI) when given: certifying an existing key costs a few
 * milliseconds where a new key costs a few hundred (the test harness reuses one key for its servers).
 */
export async function generateSelfSigned(
  hostname: string,
  keyPair?: { privateKey: string; publicKey: string },
): Promise<{ cert: string; key: string }> {
  const now = new Date();
  const notAfter = new Date(now.getTime() + 5 * 365 * 86400_000);
  const altNames: { type: 2 | 7; value?: string; ip?: string }[] = [{ type: 2, value: hostname }];
  if (hostname !== 'localhost') altNames.push({ type: 2, value: 'localhost' });
  altNames.push({ type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' });
  // Loaded here only: a data dir that has its certificate never needs it.
  const { default: selfsigned } = await import('selfsigned');
  const pems = await selfsigned.generate([{ name: 'commonName', value: hostname }], {
    ...(keyPair ? { keyPair } : { keyType: 'rsa' as const, keySize: 2048 }),
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 86400_000),
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
