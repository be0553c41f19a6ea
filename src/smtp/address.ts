/**
 * Parsing of MAIL FROM / RCPT TO arguments: `FROM:<path> params` (RFC 5321 §4.1.2), with the lab-mode
 * tolerances for hand-typed sessions: a missing pair of angle brackets and spaces around the colon.
 * Whether the address inside is a valid mailbox is not SMTP's own knowledge: `mailboxError` in
 * src/mail/address-syntax.ts, shared with the web and the CLI.
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
/** Parameters that may appear only once per command (the DSN ones, RFC 3461 §4). */
const ONCE = new Set(['RET', 'ENVID', 'NOTIFY', 'ORCPT']);

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
    // RFC 3461 §4: each DSN parameter is given once (Postfix refuses a second one the same way).
    if (ONCE.has(key) && params.has(key)) return { ok: false, message: `Syntax: ${key} may be given only once` };
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

/**
 * RFC 3461 §4 xtext: printable ASCII from "!" to "~" except "+" and "=", and "+XX" for any other byte
 * (two hex digits; lower-case ones are taken too, as Postfix does).
 */
export function isXtext(value: string): boolean {
  return /^(?:[!-*,-<>-~]|\+[0-9A-Fa-f]{2})*$/.test(value);
}
