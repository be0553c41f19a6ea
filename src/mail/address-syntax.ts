/**
 * The syntax of a mailbox address `local@domain` as RFC 5321 §4.1.2 defines it (and RFC 6531 widens it
 * for SMTPUTF8). Shared by the SMTP engine (MAIL/RCPT), the web admin and the CLI, which check the
 * addresses of accounts and aliases with the same rules.
 *
 * Invariants:
 * - Pure and total: never throws, answers in time linear in the input (fuzzed in src/smtp/fuzz.test.ts).
 * - The answer is an explanation a person can act on, or null for a valid address.
 */

import { isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';

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
    return addressLiteralError(domain.slice(1, -1));
  }
  const domainAscii = utf8 ? domain.replace(/[^\x00-\x7f]/g, 'a') : domain;
  const labels = domainAscii.split('.');
  if (labels.some((l) => !LABEL.test(l))) return `"${domain}" is not a valid domain name`;
  return null;
}

/**
 * Checks what is inside an address literal's brackets (RFC 5321 §4.1.3): an IPv4 address (four
 * numbers 0-255) or `IPv6:` and an IPv6 address; returns an explanation or null.
 */
export function addressLiteralError(lit: string): string | null {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(lit);
  if (v4) {
    return v4.slice(1).every((n) => Number(n) <= 255)
      ? null
      : `bad address literal: [${lit}] has a number over 255 (each part of an IPv4 address is 0-255)`;
  }
  if (/^IPv6:/i.test(lit)) return isIPv6(lit.slice(5)) ? null : `bad address literal: [${lit}] is no IPv6 address`;
  return 'bad address literal';
}

/**
 * The same mailbox with a quoted local part unquoted when the quotes are not needed: `"user"@d` and
 * `"a\.b"@d` are `user@d` and `a.b@d` (RFC 5322 §3.2.4: the quotes are not part of the local part's
 * meaning; RFC 5321 §4.1.2). Anything else is returned as given.
 */
export function canonicalMailbox(address: string): string {
  if (!address.startsWith('"')) return address;
  const at = address.lastIndexOf('@');
  if (at < 2 || address[at - 1] !== '"') return address;
  const quoted = address.slice(0, at);
  if (!QUOTED.test(quoted)) return address;
  const local = quoted.slice(1, -1).replace(/\\(.)/g, '$1');
  return DOT_ATOM.test(local) ? `${local}${address.slice(at)}` : address;
}

/**
 * Checks a domain name for a local mail domain: IDNA (UTS #46, by WHATWG's domainToASCII) maps a
 * Unicode name to its A-labels, which must then be LDH labels (RFC 1035 §2.3.1, RFC 5890 §2.3.2.1) of at
 * most 63 octets, 253 in all. Returns an explanation when invalid, or null. The name is kept as given
 * (lower-cased) by the callers: mail addresses use the same form.
 */
export function domainNameError(name: string): string | null {
  if (name.length === 0) return 'the domain name is empty';
  if (name.startsWith('@')) return 'give the domain without "@", e.g. example.org';
  const ascii = domainToASCII(name);
  if (ascii === '') return `"${name}" is not a valid domain name (IDNA)`;
  if (ascii.length > 253) return `"${name}" is longer than 253 characters`;
  const labels = ascii.split('.');
  if (labels.some((l) => !LABEL.test(l)))
    return `"${name}" is not a valid domain name: use letters, digits and "-" between dots, e.g. example.org`;
  if (/^\d+$/.test(labels[labels.length - 1])) return `"${name}" looks like an IP address, not a domain name`;
  return null;
}
