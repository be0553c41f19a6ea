/**
 * TLS material: the configured certificate, or a self-signed one generated on first start for the
 * configured hostname and kept in the data directory (so clients can pin it across restarts).
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import selfsigned from 'selfsigned';

export interface TlsMaterial {
  cert: string;
  key: string;
  context: tls.SecureContext;
  /** Where the certificate came from, for the startup log. */
  source: string;
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
  const context = tls.createSecureContext({ cert, key, minVersion: 'TLSv1.2' });
  return { cert, key, context, source };
}

function certMatchesHost(pem: string, hostname: string): boolean {
  try {
    return new X509Certificate(pem).checkHost(hostname) !== undefined;
  } catch {
    return false;
  }
}

export async function generateSelfSigned(hostname: string): Promise<{ cert: string; key: string }> {
  const now = new Date();
  const notAfter = new Date(now.getTime() + 5 * 365 * 86400_000);
  const altNames: { type: 2 | 7; value?: string; ip?: string }[] = [{ type: 2, value: hostname }];
  if (hostname !== 'localhost') altNames.push({ type: 2, value: 'localhost' });
  altNames.push({ type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' });
  const pems = await selfsigned.generate([{ name: 'commonName', value: hostname }], {
    keyType: 'rsa',
    keySize: 2048,
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
