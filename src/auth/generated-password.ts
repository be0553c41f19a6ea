/**
 * Passwords the server makes up (lab accounts, `admin add --generate`, password resets without a
 * value): easy to read aloud and type from paper. Three groups of four characters from an alphabet
 * without look-alikes (no 0/o, 1/l/i), e.g. `k7fm-2xqa-hu9c`: 12 symbols from 31, about 59 bits.
 */
import { randomInt } from 'node:crypto';

const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

export function generatePassword(groups = 3, groupLength = 4): string {
  const parts: string[] = [];
  for (let g = 0; g < groups; g++) {
    let part = '';
    for (let i = 0; i < groupLength; i++) part += ALPHABET[randomInt(ALPHABET.length)];
    parts.push(part);
  }
  return parts.join('-');
}
