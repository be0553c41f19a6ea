/**
 * Password hashes as PHC strings: `$scrypt$ln=14,r=8,p=1$<salt b64>$<hash b64>` (node:crypto scrypt,
 * run on the libuv thread pool so hashing never blocks sessions). Verification is constant-time.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';

const KEY_LENGTH = 32;

function scrypt(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, KEY_LENGTH, { ...params, maxmem: 256 * params.N * params.r + (1 << 20) }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export async function hashPassword(password: string, logN = 14): Promise<string> {
  const salt = randomBytes(16);
  const params = { N: 2 ** logN, r: 8, p: 1 };
  const key = await scrypt(password, salt, params);
  return `$scrypt$ln=${logN},r=8,p=1$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, phc: string): Promise<boolean> {
  const m = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(phc);
  if (!m) return false;
  const params = { N: 2 ** Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  const expected = Buffer.from(m[5], 'base64url');
  const key = await scrypt(password, Buffer.from(m[4], 'base64url'), params);
  return key.length === expected.length && timingSafeEqual(key, expected);
}
