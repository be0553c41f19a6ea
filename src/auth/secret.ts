/**
 * Recoverable secrets for challenge-response mechanisms that need the plaintext password (POP3 APOP,
 * RFC 1939 §7). They are stored encrypted (AES-256-GCM) with a key kept in `<data_dir>/secret.key`,
 * so a copy of the database alone does not reveal passwords. Off with `pop3.apop = false`.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export class SecretBox {
  constructor(private readonly key: Buffer) {}

  static open(dataDir: string): SecretBox {
    const file = path.join(dataDir, 'secret.key');
    if (!existsSync(file)) {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      try {
        writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    return new SecretBox(Buffer.from(readFileSync(file, 'utf8').trim(), 'hex'));
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `v1:${Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64')}`;
  }

  /** A keyed hash of `data` for `purpose`, stable across restarts (e.g. SCRAM's decoy salts). */
  mac(purpose: string, data: string): Buffer {
    return createHmac('sha256', this.key).update(purpose).update('\0').update(data).digest();
  }

  open(sealed: string): string | null {
    if (!sealed.startsWith('v1:')) return null;
    try {
      const raw = Buffer.from(sealed.slice(3), 'base64');
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}
