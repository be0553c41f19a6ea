/**
 * Parsing of MAIL FROM / RCPT TO arguments: `FROM:<path> params` (RFC 5321 §4.1.2), with the lab-mode
 * tolerances for hand-typed sessions: a missing pair of angle brackets and spaces around the colon.
 */

export interface PathArgument {
  /** The address without brackets; '' for the null path `<>`. */
  address: string;
  /** ESMTP parameters, keyword upper-cased; value null when absent (`SMTPUTF8`). */
  params: Map<string, string | null>;
  /** What was tolerated, for the reply text, or null when the syntax was exact. */
  tolerated: string | null;
}

export type PathParse = { ok: true; value: PathArgument } | { ok: false; message: string };

/**
 * `keyword` is `FROM` or `TO`; `args` is everything after the verb. In strict mode the brackets are
 * required (as Postfix's strict_rfc821_envelopes); a space after the colon is accepted in both modes.
 */
export function parsePathArgument(args: string, keyword: 'FROM' | 'TO', strict: boolean): PathParse {
  const m = new RegExp(`^\\s*${keyword}\\s*:\\s*`, 'i').exec(args);
  const example = keyword === 'FROM' ? 'MAIL FROM:<you@example.org>' : 'RCPT TO:<someone@example.org>';
  if (!m) return { ok: false, message: `Syntax: ${example}` };
  const rest = args.slice(m[0].length);
  let address: string;
  let after: string;
  let tolerated: string | null = null;
  if (rest.startsWith('<')) {
    const close = findClosingBracket(rest);
    if (close < 0) return { ok: false, message: `Syntax: missing ">" after the address, e.g. ${example}` };
    address = rest.slice(1, close);
    after = rest.slice(close + 1);
    if (after && !/^\s/.test(after))
      return { ok: false, message: `Syntax: expected a space after ">", e.g. ${example}` };
  } else {
    if (strict) return { ok: false, message: `Syntax: the address must be in angle brackets, e.g. ${example}` };
    const sp = rest.search(/\s/);
    address = sp < 0 ? rest : rest.slice(0, sp);
    after = sp < 0 ? '' : rest.slice(sp);
    if (!address) return { ok: false, message: `Syntax: an address is missing, e.g. ${example}` };
    tolerated = 'address without angle brackets accepted; RFC 5321 wants ' + `${keyword}:<${address}>`;
  }
  // RFC 5321 §4.1.2 source routes (`@a,@b:user@c`) are accepted and ignored (§C).
  const route = /^@[^:]+:/.exec(address);
  if (route) address = address.slice(route[0].length);
  const params = new Map<string, string | null>();
  for (const word of after.trim().split(/\s+/).filter(Boolean)) {
    const eq = word.indexOf('=');
    const key = (eq < 0 ? word : word.slice(0, eq)).toUpperCase();
    if (!/^[A-Z0-9][A-Z0-9-]*$/.test(key)) return { ok: false, message: `Syntax: bad parameter "${word}"` };
    params.set(key, eq < 0 ? null : word.slice(eq + 1));
  }
  return { ok: true, value: { address, params, tolerated } };
}

function findClosingBracket(s: string): number {
  let quoted = false;
  for (let i = 1; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === '>' && !quoted) return i;
  }
  return -1;
}

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
