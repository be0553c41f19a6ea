/**
 * Inbound checks on the MX role: SPF (RFC 7208) on MAIL FROM/HELO and the client IP, DKIM (RFC 6376),
 * DMARC (RFC 7489) and ARC (RFC 8617), through mailauth's `authenticate()` (BIMI off). The outcome is an
 * `Authentication-Results:` header (RFC 8601) prepended to the message and a verdict: accept, junk,
 * reject (550 5.7.x) or defer (451 4.7.x).
 *
 * Invariants:
 * - Only unauthenticated mail on port 25 is checked (the SMTP engine calls the checker only there);
 *   clients in `trustedNetworks` are not checked and get no header.
 * - Every `Authentication-Results:` field already in the message that claims our authserv-id is removed
 *   before delivery, checked or not (RFC 8601 §5), after DKIM has verified the bytes as received.
 * - DNS goes to the configured servers (the same as outbound delivery) with one time budget per message:
 *   when it runs out every open and later query fails as a timeout, so a check never holds a session
 *   longer than the budget (plus a one-second safety margin).
 * - A temporary DNS error never rejects: it is recorded as `temperror` and the message is accepted, or
 *   deferred with 451 when the policy says so.
 * - `decide` is a pure function of the results and the policy (tested without DNS).
 * - At most MAX_DKIM_SIGNATURES signatures of a message are verified (the first in the header, the last
 *   added), as OpenDKIM verifies a few: each costs DNS queries and a hash of the message, and a message
 *   of 5,000 signatures held the server for seconds and gave a 600 KB Authentication-Results field.
 */
import { Resolver } from 'node:dns/promises';
import { BlockList, isIPv6 } from 'node:net';
import type { AuthenticateResult } from 'mailauth';
import type { Logger } from '../log.js';
import { scanHeader } from '../mail/header.js';
import type { IncomingMessage } from './delivery.js';

/** What to do with a message that fails a check. */
export type CheckAction = 'reject' | 'junk' | 'accept';

export interface InboundPolicy {
  /** DMARC fails and the domain's policy is p=reject. */
  dmarcReject: CheckAction;
  /** DMARC fails and the domain's policy is p=quarantine. */
  dmarcQuarantine: CheckAction;
  /** SPF says fail (`-all`) and DMARC gave no verdict (no record, or p=none). */
  spfFail: CheckAction;
  /** A DKIM signature fails, none passes, and DMARC gave no verdict. */
  dkimFail: CheckAction;
  /** A DNS lookup failed temporarily: accept (record temperror) or defer with 451. */
  tempError: 'accept' | 'defer';
}

export const DEFAULT_POLICY: InboundPolicy = {
  dmarcReject: 'reject',
  dmarcQuarantine: 'junk',
  spfFail: 'junk',
  dkimFail: 'accept',
  tempError: 'accept',
};

/** RFC 8601 §2.7 result values as mailauth reports them. */
export type AuthResultValue = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror' | 'policy';

/** The check results in the form the policy needs; `info` is the method's RFC 8601 resinfo text. */
export interface AuthSummary {
  spf: { result: AuthResultValue; domain: string; ip: string; info: string };
  /** One entry per DKIM-Signature; empty when the message is not signed. */
  dkim: { result: AuthResultValue; domain: string; aligned: boolean; comment: string | null; info: string }[];
  /** Null when the message has no single From address (DMARC cannot apply). */
  dmarc: {
    result: AuthResultValue;
    domain: string;
    /** The policy that applies to the From domain (p, or sp for a subdomain), null without a record. */
    policy: 'none' | 'quarantine' | 'reject' | null;
    /** pct= (RFC 7489 §6.3), 100 when absent. */
    pct: number;
    info: string;
  } | null;
  arc: { result: AuthResultValue; info: string };
}

export type Verdict =
  | { action: 'accept'; reason: string | null }
  | { action: 'junk'; reason: string }
  | { action: 'reject' | 'defer'; code: number; enhanced: string; text: string };

/** Applies the policy to the results. `random` picks the DMARC pct sample (RFC 7489 §6.6.4). */
export function decide(s: AuthSummary, policy: InboundPolicy, random: () => number = Math.random): Verdict {
  const temp = [s.spf.result, ...s.dkim.map((d) => d.result), s.dmarc?.result].includes('temperror');
  const dmarc = s.dmarc;
  if (dmarc?.result === 'pass') return { action: 'accept', reason: null };
  if (dmarc?.result === 'temperror') return tempVerdict(s, policy);
  if (dmarc?.result === 'fail' && (dmarc.policy === 'reject' || dmarc.policy === 'quarantine')) {
    // A failure that a temporary error may have caused is not a failure yet (RFC 7489 §6.6.2).
    if (temp) return tempVerdict(s, policy);
    let p: 'reject' | 'quarantine' | 'none' = dmarc.policy;
    // RFC 7489 §6.6.4: outside the pct sample the next weaker policy applies.
    if (dmarc.pct < 100 && random() * 100 >= dmarc.pct) p = p === 'reject' ? 'quarantine' : 'none';
    const why = dmarcWhy(s);
    if (p === 'reject') {
      return apply(policy.dmarcReject, {
        code: 550,
        enhanced: '5.7.1',
        text: `DMARC policy of ${dmarc.domain} is reject and the message fails it (${why}); the sender's domain must authorize the sending server in SPF or sign with DKIM`,
      });
    }
    if (p === 'quarantine') {
      return apply(policy.dmarcQuarantine, {
        code: 550,
        enhanced: '5.7.1',
        text: `DMARC policy of ${dmarc.domain} is quarantine and the message fails it (${why}); the sender's domain must authorize the sending server in SPF or sign with DKIM`,
      });
    }
  }
  if (s.spf.result === 'fail') {
    // RFC 7372 §3.2: X.7.23 SPF validation failed.
    return apply(policy.spfFail, {
      code: 550,
      enhanced: '5.7.23',
      text: `SPF of ${s.spf.domain} does not allow ${s.spf.ip} to send its mail (spf=fail); send through a server listed in the SPF record of ${s.spf.domain}`,
    });
  }
  const failed = s.dkim.filter((d) => d.result === 'fail');
  if (failed.length > 0 && !s.dkim.some((d) => d.result === 'pass')) {
    // RFC 7372 §3.1: X.7.20 no passing DKIM signature found.
    const d = failed[0];
    return apply(policy.dkimFail, {
      code: 550,
      enhanced: '5.7.20',
      text: `DKIM signature of ${d.domain} fails${d.comment ? ` (${d.comment})` : ''} and no other signature passes; send the message unmodified, or fix the signing key and its DNS record`,
    });
  }
  if (temp) return tempVerdict(s, policy);
  return { action: 'accept', reason: null };
}

function apply(action: CheckAction, refusal: { code: number; enhanced: string; text: string }): Verdict {
  if (action === 'reject') return { action: 'reject', ...refusal };
  if (action === 'junk') return { action: 'junk', reason: refusal.text };
  return { action: 'accept', reason: refusal.text };
}

function tempVerdict(s: AuthSummary, policy: InboundPolicy): Verdict {
  const which = [
    s.spf.result === 'temperror' ? 'spf' : null,
    s.dkim.some((d) => d.result === 'temperror') ? 'dkim' : null,
    s.dmarc?.result === 'temperror' ? 'dmarc' : null,
  ].filter((x) => x !== null);
  const text = `Temporary DNS failure while checking the sender (${which.map((w) => `${w}=temperror`).join(', ')}); please try again later`;
  if (policy.tempError === 'defer') {
    // RFC 7372 §3.2: X.7.24 SPF validation error; otherwise the generic security status.
    return { action: 'defer', code: 451, enhanced: which.includes('spf') ? '4.7.24' : '4.7.0', text };
  }
  return { action: 'accept', reason: text };
}

/** Why DMARC failed, e.g. `SPF fail, no aligned DKIM signature`. */
function dmarcWhy(s: AuthSummary): string {
  const spf = s.spf.result === 'pass' ? `SPF pass for ${s.spf.domain}, not aligned` : `SPF ${s.spf.result}`;
  const passing = s.dkim.filter((d) => d.result === 'pass');
  const failing = s.dkim.find((d) => d.result === 'fail');
  let dkim = 'no aligned DKIM signature';
  if (passing.length > 0) dkim += ` (signed by ${[...new Set(passing.map((d) => d.domain))].join(', ')})`;
  else if (failing)
    dkim += ` (the signature of ${failing.domain} fails${failing.comment ? `: ${failing.comment}` : ''})`;
  return `${spf}, ${dkim}`;
}

/**
 * The header field, one method per folded line (RFC 8601 §2.2), e.g.
 * `Authentication-Results: mx.b.test;\r\n\tspf=pass ...;\r\n\tdkim=pass ...\r\n`; `none` without methods.
 */
export function authResultsHeader(authservId: string, methods: string[]): string {
  if (methods.length === 0) return `Authentication-Results: ${authservId}; none\r\n`;
  return `Authentication-Results: ${authservId};\r\n\t${methods.map(fold).join(';\r\n\t')}\r\n`;
}

/** Folds a resinfo at spaces so lines stay near 78 characters (RFC 5322 §2.1.1). */
function fold(text: string): string {
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > 70) {
      lines.push(line);
      line = w;
    } else {
      line = line ? `${line} ${w}` : w;
    }
  }
  if (line) lines.push(line);
  return lines.join('\r\n\t  ');
}

/** The methods of an RFC 8601 header for `s`: spf, each dkim, dmarc, arc. */
export function methodsOf(s: AuthSummary): string[] {
  const out = [s.spf.info];
  if (s.dkim.length === 0) out.push('dkim=none (message not signed)');
  else for (const d of s.dkim) out.push(d.info);
  out.push(s.dmarc ? s.dmarc.info : 'dmarc=permerror (the message needs exactly one From address)');
  out.push(s.arc.info);
  return out;
}

/**
 * Removes every `Authentication-Results:` field whose authserv-id is `authservId` (compared
 * case-insensitively), so nobody can forge our verdict (RFC 8601 §5). Other fields and the body are
 * unchanged; returns `raw` itself when nothing was removed.
 */
export function stripOwnAuthResults(raw: Buffer, authservId: string): Buffer {
  const end = raw.indexOf('\r\n\r\n');
  const headerEnd = end < 0 ? raw.length : end + 2;
  const head = raw.subarray(0, headerEnd).toString('latin1');
  const id = authservId.toLowerCase();
  const keep: string[] = [];
  let removed = false;
  // Split into fields: a field is a line plus its continuation lines (starting with SP or HT).
  const fields = head.split(/\r\n(?![ \t])/);
  const last = fields.pop();
  if (last !== undefined && last !== '') fields.push(last);
  for (const f of fields) {
    const colon = f.indexOf(':');
    if (colon > 0 && f.slice(0, colon).trim().toLowerCase() === 'authentication-results') {
      if (authservIdOf(f.slice(colon + 1))?.toLowerCase() === id) {
        removed = true;
        continue;
      }
    }
    keep.push(f);
  }
  if (!removed) return raw;
  const newHead = keep.length > 0 ? `${keep.join('\r\n')}\r\n` : '';
  return Buffer.concat([Buffer.from(newHead, 'latin1'), raw.subarray(headerEnd)]);
}

/** DKIM signatures verified per message (see the header). */
export const MAX_DKIM_SIGNATURES = 5;

/**
 * `raw` with only its first MAX_DKIM_SIGNATURES DKIM-Signature fields, for the verifier (the message
 * delivered keeps them all). The same buffer when it has no more than that.
 */
export function withFewSignatures(raw: Buffer): Buffer {
  const { fields, headerEnd } = scanHeader(raw);
  let seen = 0;
  const drop: [number, number][] = [];
  for (const f of fields) {
    if (f.name.toLowerCase() !== 'dkim-signature') continue;
    if (++seen > MAX_DKIM_SIGNATURES) drop.push([f.start, f.next]);
  }
  if (drop.length === 0) return raw;
  const parts: Buffer[] = [];
  let at = 0;
  for (const [start, next] of drop) {
    parts.push(raw.subarray(at, start));
    at = next;
  }
  parts.push(raw.subarray(at, headerEnd), raw.subarray(headerEnd));
  return Buffer.concat(parts);
}

/** The authserv-id of an Authentication-Results value: after CFWS, a token or quoted string. */
export function authservIdOf(value: string): string | null {
  let v = value.replace(/\r\n/g, '');
  // Skip leading whitespace and comments (nested comments included).
  for (;;) {
    v = v.replace(/^[ \t]+/, '');
    if (!v.startsWith('(')) break;
    let depth = 0;
    let i = 0;
    for (; i < v.length; i++) {
      if (v[i] === '\\') i++;
      else if (v[i] === '(') depth++;
      else if (v[i] === ')' && --depth === 0) break;
    }
    v = v.slice(i + 1);
  }
  const quoted = /^"((?:[^"\\]|\\.)*)"/.exec(v);
  if (quoted) return quoted[1].replace(/\\(.)/g, '$1');
  const token = /^[^\s;()"]+/.exec(v);
  return token ? token[0] : null;
}

/** mailauth's resolver contract: `(name, rrtype)` → what node's `resolve(name, rrtype)` returns. */
export type AuthDnsResolver = (name: string, rrtype: string) => Promise<string[][] | string[]>;

/**
 * A resolver on `servers` (empty: the system's) that gives up at `budgetMs` after it was made: later
 * queries and queries still open then fail with ETIMEOUT (a temperror for SPF, DKIM and DMARC).
 */
export function budgetResolver(servers: string[], budgetMs: number): { resolve: AuthDnsResolver; close(): void } {
  const r = new Resolver({ timeout: Math.max(100, Math.min(budgetMs, 2000)), tries: 2 });
  if (servers.length > 0) r.setServers(servers);
  const deadline = Date.now() + budgetMs;
  const timeout = (name: string) =>
    Object.assign(new Error(`DNS query for ${name} timed out (budget ${budgetMs} ms)`), { code: 'ETIMEOUT' });
  const resolve: AuthDnsResolver = async (name, rrtype) => {
    const left = deadline - Date.now();
    if (left <= 0) throw timeout(name);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timeout(name)), left);
    });
    try {
      // node types `resolve(name, string)` as a union of record shapes; mailauth takes them as they come.
      return await Promise.race([r.resolve(name, rrtype) as Promise<string[][] | string[]>, expired]);
    } finally {
      clearTimeout(timer);
    }
  };
  return { resolve, close: () => r.cancel() };
}

export interface InboundCheckerOptions {
  /** Our authserv-id: the server's hostname. */
  hostname: string;
  /** DNS servers (`ip` or `ip:port`), the same as outbound delivery; empty: the system's. */
  dnsServers: string[];
  /** Time budget for all DNS queries of one message. */
  dnsTimeoutMs: number;
  /** CIDR networks whose mail is not checked. */
  trustedNetworks: string[];
  policy: InboundPolicy;
  log: Logger;
  /** Tests: a resolver instead of the DNS servers. */
  resolver?: AuthDnsResolver;
}

export interface InboundInput {
  data: Buffer;
  remoteAddress: string;
  /** The HELO/EHLO name, or null when the client gave none. */
  helo: string | null;
  /** MAIL FROM, empty for the null sender. */
  envelopeFrom: string;
}

export interface InboundOutcome {
  /** The message to deliver: forged results removed, our header on top (unless trusted). */
  data: Buffer;
  verdict: Verdict;
  /** Null when the client is trusted (not checked). */
  summary: AuthSummary | null;
}

export class InboundChecker {
  readonly #trusted = new BlockList();

  constructor(private readonly opts: InboundCheckerOptions) {
    for (const cidr of opts.trustedNetworks) {
      const [addr, bits] = cidr.split('/');
      const type = isIPv6(addr) ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.#trusted.addAddress(addr, type);
      else this.#trusted.addSubnet(addr, Number(bits), type);
    }
  }

  isTrusted(address: string): boolean {
    const ip = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
    try {
      return this.#trusted.check(ip, isIPv6(ip) ? 'ipv6' : 'ipv4');
    } catch {
      return false;
    }
  }

  /**
   * The SMTP backend's `checkInbound`: checks `msg`, logs the outcome, and returns the message to deliver
   * (our header on top, into Junk when the verdict says so) or the refusal to answer. A fault in the
   * checks themselves is logged and the message is delivered unchecked (without our header).
   */
  async checkIncoming(
    msg: IncomingMessage,
  ): Promise<
    { action: 'deliver'; msg: IncomingMessage } | { action: 'refuse'; code: number; enhanced: string; text: string }
  > {
    const helo = msg.trace.helo.startsWith('[') ? null : msg.trace.helo;
    let outcome: InboundOutcome;
    try {
      outcome = await this.check({
        data: msg.data,
        remoteAddress: msg.trace.remoteAddress,
        helo,
        envelopeFrom: msg.envelopeFrom,
      });
    } catch (err) {
      this.opts.log.error(
        { err, sid: msg.trace.sessionId },
        'inbound checks failed; the message is delivered unchecked',
      );
      return { action: 'deliver', msg: { ...msg, data: stripOwnAuthResults(msg.data, this.opts.hostname) } };
    }
    const { verdict, summary } = outcome;
    if (summary) {
      this.opts.log.info(
        {
          sid: msg.trace.sessionId,
          from: msg.envelopeFrom,
          ip: msg.trace.remoteAddress,
          spf: summary.spf.result,
          dkim: summary.dkim.map((d) => `${d.domain}:${d.result}`),
          dmarc: summary.dmarc ? `${summary.dmarc.domain}:${summary.dmarc.result}` : null,
          arc: summary.arc.result,
          action: verdict.action,
          reason: 'reason' in verdict ? verdict.reason : verdict.text,
        },
        'inbound checks',
      );
    }
    if (verdict.action === 'reject' || verdict.action === 'defer') {
      return { action: 'refuse', code: verdict.code, enhanced: verdict.enhanced, text: verdict.text };
    }
    return { action: 'deliver', msg: { ...msg, data: outcome.data, junk: verdict.action === 'junk' } };
  }

  async check(input: InboundInput): Promise<InboundOutcome> {
    const { hostname } = this.opts;
    if (this.isTrusted(input.remoteAddress)) {
      return {
        data: stripOwnAuthResults(input.data, hostname),
        verdict: { action: 'accept', reason: null },
        summary: null,
      };
    }
    const summary = await this.#authenticate(input);
    const header = authResultsHeader(hostname, methodsOf(summary));
    const data = Buffer.concat([Buffer.from(header, 'latin1'), stripOwnAuthResults(input.data, hostname)]);
    return { data, verdict: decide(summary, this.opts.policy), summary };
  }

  async #authenticate(input: InboundInput): Promise<AuthSummary> {
    // Loaded with the first message checked, before the DNS budget starts: mailauth is large, and a
    // server without inbound checks (or a CLI command) never needs it.
    const { authenticate } = await import('mailauth');
    const budget = this.opts.dnsTimeoutMs;
    const own = this.opts.resolver ? null : budgetResolver(this.opts.dnsServers, budget);
    const resolver = this.opts.resolver ?? own!.resolve;
    const ip = input.remoteAddress.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
    let timer: NodeJS.Timeout | undefined;
    try {
      const run = authenticate(withFewSignatures(input.data), {
        ip,
        helo: input.helo ?? undefined,
        sender: input.envelopeFrom || undefined,
        mta: this.opts.hostname,
        resolver,
        disableBimi: true,
      });
      // Safety net beyond the resolver's budget (e.g. a stuck query the resolver could not cancel).
      const late = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), budget + 1000);
      });
      const result = await Promise.race([run, late]);
      if (!result) {
        run.catch(() => {});
        this.opts.log.warn({ ip, budgetMs: budget }, 'inbound checks ran out of time; recorded as temperror');
        return timedOut(input, ip, this.opts.hostname);
      }
      return summarize(result, ip);
    } finally {
      clearTimeout(timer);
      own?.close();
    }
  }
}

function timedOut(input: InboundInput, ip: string, hostname: string): AuthSummary {
  const domain = input.envelopeFrom.slice(input.envelopeFrom.lastIndexOf('@') + 1) || input.helo || ip;
  return {
    spf: { result: 'temperror', domain, ip, info: `spf=temperror (${hostname}: DNS lookups ran out of time)` },
    dkim: [],
    dmarc: {
      result: 'temperror',
      domain,
      policy: null,
      pct: 100,
      info: 'dmarc=temperror (DNS lookups ran out of time)',
    },
    arc: { result: 'none', info: 'arc=none' },
  };
}

const RESULTS = new Set<string>(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'policy']);
const asResult = (r: string | undefined): AuthResultValue =>
  r === 'temperr' ? 'temperror' : r && RESULTS.has(r) ? (r as AuthResultValue) : 'none';

/** mailauth's result in the shape `decide` and `methodsOf` use. */
export function summarize(r: AuthenticateResult, ip: string): AuthSummary {
  const spf = r.spf
    ? { result: asResult(r.spf.status.result), domain: r.spf.domain, ip, info: r.spf.info }
    : { result: 'none' as const, domain: '', ip, info: 'spf=none' };
  const dkim = (r.dkim.results ?? [])
    .filter((d) => d.signingDomain || d.status.result !== 'none')
    .map((d) => ({
      result: asResult(d.status.result),
      domain: d.signingDomain ?? '',
      aligned: Boolean(d.status.aligned),
      comment: d.status.comment ?? null,
      info: d.info,
    }));
  let dmarc: AuthSummary['dmarc'] = null;
  if (r.dmarc) {
    const policy = r.dmarc.policy?.toLowerCase();
    dmarc = {
      result: asResult(r.dmarc.status.result),
      domain: r.dmarc.domain,
      policy: policy === 'reject' || policy === 'quarantine' || policy === 'none' ? policy : null,
      pct: typeof r.dmarc.pct === 'number' && r.dmarc.pct >= 0 && r.dmarc.pct <= 100 ? r.dmarc.pct : 100,
      info: r.dmarc.info,
    };
  }
  const arcResult = r.arc ? asResult(r.arc.status.result) : 'none';
  const arc = { result: arcResult, info: (r.arc ? r.arc.info : undefined) ?? `arc=${arcResult}` };
  return { spf, dkim, dmarc, arc };
}
