/**
 * The syntax of a mailbox address `local@domain` as RFC 5321 §4.1.2 defines it (and RFC 6531 widens it
 * for SMTPUTF8). Shared by the SMTP engine (MAIL/RCPT), the web admin and the CLI, which check the
 * addresses of accounts and aliases with the same rules.
 *
 * Invariants:
 * - Pure and total: never throws, answers in time linear in the input (fuzzed in src/smtp/fuzz.test.ts).
 * - The answer is an explanation a person can act on, or null for a valid address.
 */

const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
const DOT_ATOM = new RegExp(`^${ATEXT}+(\\.${ATEXT}+)*$`);
const QUOTED = /^"([\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"$/;
const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * Checks a mailbox `local@domain` (RFC 5321 §4.1.2). With `utf8` (SMTPUTF8, RFC 6531) non-ASCII is
 * allowed in both parts. Returns an explanation when invalid, or null.
 */
export function mailboxError(address: string, utf8: boolean): string | null {
  if (address.length > 254) return 'the address is longer than 254 characters';
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return 'expected local-part@domain';
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64) return 'the local part is longer than 64 characters';
  const nonAscii = /[^\x00-\x7f]/.test(address);
  if (nonAscii && !utf8) return 'non-ASCII characters need the SMTPUTF8 parameter (RFC 6531)';
  const localAscii = utf8 ? local.replace(/[^\x00-\x7f]/g, 'a') : local;
  if (!DOT_ATOM.test(localAscii) && !QUOTED.test(localAscii)) return 'the local part has characters that need quoting';
  if (/^\[.*\]$/.test(domain)) {
    const lit = domain.slice(1, -1);
    if (/^(\d{1,3}\.){3}\d{1,3}$/.test(lit) || /^IPv6:[0-9A-Fa-f:.]+$/.test(lit)) return null;
    return 'bad address literal';
  }
  const domainAscii = utf8 ? domain.replace(/[^\x00-\x7f]/g, 'a') : domain;
  const labels = domainAscii.split('.');
  if (labels.some((l) => !LABEL.test(l))) return `"${domain}" is not a valid domain name`;
  return null;
}
