/**
 * The DNS records a mail domain needs for this server (`postbode dns DOMAIN`) and their check against
 * what DNS answers (`postbode dns check DOMAIN`). Printing is in `dns.ts`; this file only knows records.
 *
 * Invariants:
 * - A plan is derived from the configuration (hostname, listeners), the domain's DKIM keys and the
 *   addresses the hostname resolves to; nothing here writes anything.
 * - Every record has a level: `required` ones make the check fail when missing or different;
 *   `optional` ones (MTA-STS and TLS-RPT, whose policy file postbode does not serve; client
 *   autoconfiguration names; older DKIM selectors; "no service" SRV records) fail it only when they are
 *   published with a wrong value.
 * - Comparisons are loose where the standard allows several right answers: any MX list that names the
 *   hostname, any SPF record that passes for the hostname's addresses (evaluated by mailauth, so
 *   include: and redirect= are followed), any valid DMARC or TLS-RPT record, any MTA-STS id. DKIM must
 *   carry exactly the public key of the selector's key file.
 * - A lookup that fails for another reason than "no such name/record" (timeout, refused) is `error`,
 *   never `missing`: the check cannot tell.
 */
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { Config } from '../config/schema.js';
import { type DkimKey, dnsRecordValue } from '../delivery/dkim.js';

/** The lookups the check needs: a subset of node's `dns/promises` Resolver. */
export interface DnsLookup {
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
  resolveMx(name: string): Promise<{ exchange: string; priority: number }[]>;
  resolveTxt(name: string): Promise<string[][]>;
  resolveSrv(name: string): Promise<{ name: string; port: number; priority: number; weight: number }[]>;
  resolveCname(name: string): Promise<string[]>;
  reverse(ip: string): Promise<string[]>;
  /** Any type, as mailauth's SPF evaluation asks (`TXT`, `A`, `MX`, ...). */
  resolve(name: string, rrtype: string): Promise<unknown>;
}

export type RecordKind =
  | 'host'
  | 'mx'
  | 'spf'
  | 'dkim'
  | 'dkim-none'
  | 'dmarc'
  | 'tls-rpt'
  | 'mta-sts'
  | 'srv'
  | 'cname'
  | 'ptr';

export interface PlannedRecord {
  kind: RecordKind;
  level: 'required' | 'optional';
  /** One line for a beginner: what the record does. */
  purpose: string;
  /** Owner name, fully qualified with the trailing dot. */
  name: string;
  type: 'A' | 'AAAA' | 'MX' | 'TXT' | 'SRV' | 'CNAME' | 'PTR';
  /**
   * The record data as in a zone file, one entry per record (several A addresses); empty when the value
   * cannot be known here (the server's public address): then `placeholder` says what goes there.
   */
  values: string[];
  placeholder?: string;
  /** For SRV records: the port the listener is on (0 with target "." for a service that is off). */
  port?: number;
  /** For DKIM: the key this record publishes. */
  key?: DkimKey;
}

export interface DnsPlan {
  domain: string;
  hostname: string;
  /** The hostname's addresses as resolved now (empty when it does not resolve). */
  addresses: string[];
  /** Why the hostname's addresses could not be looked up (timeout, refused), or null. */
  addressError: string | null;
  records: PlannedRecord[];
  /** The MTA-STS policy file to serve at https://mta-sts.DOMAIN/.well-known/mta-sts.txt (RFC 8461 §3.2). */
  mtaStsPolicy: string;
}

export const TTL = 3600;

/** A fully qualified name with its trailing dot. */
export const fqdn = (name: string) => (name.endsWith('.') ? name : `${name}.`);
const bare = (name: string) => name.toLowerCase().replace(/\.$/, '');

/** A TXT value as zone-file strings of at most 255 characters (RFC 1035 §3.3.14). */
export function quoteTxt(value: string): string {
  const chunks: string[] = [];
  for (let i = 0; i < value.length; i += 255) chunks.push(`"${value.slice(i, i + 255).replace(/(["\\])/g, '\\$1')}"`);
  return chunks.join(' ');
}

/** `10.2.0.192.in-addr.arpa.` / nibbles under `ip6.arpa.` (RFC 1035 §3.5, RFC 3596 §2.5). */
export function reverseName(ip: string): string {
  if (isIPv4(ip)) return `${ip.split('.').reverse().join('.')}.in-addr.arpa.`;
  const halves = ip.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1] ?? '');
  const full = [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail];
  const hex = full.map((g) => g.padStart(4, '0')).join('');
  return `${[...hex].reverse().join('.')}.ip6.arpa.`;
}

/**
 * RFC 6186 SRV records, lower priority preferred: implicit TLS before STARTTLS (RFC 8314 §5.1), IMAP
 * before POP3; and ManageSieve's (RFC 5804 §1.8). The same table as docs/web.md.
 */
const SRV_SERVICES: { service: string; listener: keyof Config['listen']; priority: number; what: string }[] = [
  {
    service: '_submissions._tcp',
    listener: 'submissions',
    priority: 0,
    what: 'sending mail (submission, implicit TLS)',
  },
  { service: '_submission._tcp', listener: 'submission', priority: 10, what: 'sending mail (submission, STARTTLS)' },
  { service: '_imaps._tcp', listener: 'imaps', priority: 0, what: 'IMAP (implicit TLS)' },
  { service: '_imap._tcp', listener: 'imap', priority: 10, what: 'IMAP (STARTTLS)' },
  { service: '_pop3s._tcp', listener: 'pop3s', priority: 20, what: 'POP3 (implicit TLS)' },
  { service: '_pop3._tcp', listener: 'pop3', priority: 30, what: 'POP3 (STARTTLS)' },
  // RFC 5804 §1.8: clients find the ManageSieve server by `_sieve._tcp`.
  { service: '_sieve._tcp', listener: 'managesieve', priority: 0, what: 'ManageSieve (Sieve filters, STARTTLS)' },
];

/** The port of a listener address (`0.0.0.0:993`, `[::]:993`), or null when it is off. */
function listenerPort(address: string): number | null {
  if (address === 'off') return null;
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

export interface PlanInput {
  domain: string;
  hostname: string;
  listen: Config['listen'];
  /** The domain's DKIM keys, the one that signs first. */
  dkimKeys: DkimKey[];
  addresses: string[];
  addressError?: string | null;
}

/**
 * The hostname's A and AAAA addresses. A name without addresses gives none; a failed lookup (both
 * families failed for another reason than "no such name/record") gives an error instead.
 */
export async function resolveHost(
  dns: DnsLookup,
  hostname: string,
): Promise<{ addresses: string[]; error: string | null }> {
  const [v4, v6] = await Promise.all([look(() => dns.resolve4(hostname)), look(() => dns.resolve6(hostname))]);
  const addresses = [...(v4.ok ? v4.value : []), ...(v6.ok ? v6.value : [])];
  const error = !v4.ok && !v4.absent && !v6.ok && !v6.absent ? v4.error : null;
  return { addresses, error };
}

export function planRecords(input: PlanInput): DnsPlan {
  const d = bare(input.domain);
  const host = bare(input.hostname);
  const H = fqdn(host);
  const D = fqdn(d);
  const records: PlannedRecord[] = [];
  const v4 = input.addresses.filter((a) => isIPv4(a));
  const v6 = input.addresses.filter((a) => isIPv6(a));
  records.push({
    kind: 'host',
    level: 'required',
    purpose: `the address of the mail server ${host} (A for IPv4, AAAA for IPv6): MX and clients lead there`,
    name: H,
    type: v4.length === 0 && v6.length > 0 ? 'AAAA' : 'A',
    values: input.addresses,
    placeholder: "<this server's public IPv4 address> (and an AAAA record for its IPv6 address)",
  });
  records.push({
    kind: 'mx',
    level: 'required',
    purpose: `MX: other mail servers deliver mail for @${d} to ${host}`,
    name: D,
    type: 'MX',
    values: [`10 ${H}`],
  });
  records.push({
    kind: 'spf',
    level: 'required',
    purpose: `SPF: only the servers named in the MX record may send mail from @${d} (others fail)`,
    name: D,
    type: 'TXT',
    values: [quoteTxt('v=spf1 mx -all')],
  });
  const [active, ...older] = input.dkimKeys;
  if (active) {
    for (const key of [active, ...older]) {
      records.push({
        kind: 'dkim',
        level: key === active ? 'required' : 'optional',
        purpose:
          key === active
            ? `DKIM: the public key receivers check the signature of mail from @${d} with (selector ${key.selector}, the key that signs)`
            : `DKIM: an older key (selector ${key.selector}); keep it published for a few days after a rotation`,
        name: fqdn(`${key.selector}._domainkey.${d}`),
        type: 'TXT',
        values: [quoteTxt(dnsRecordValue(key.privateKey))],
        key,
      });
    }
  } else {
    records.push({
      kind: 'dkim-none',
      level: 'required',
      purpose: `DKIM: no key for ${d} yet, so mail from it is not signed; create one with "postbode dkim keygen ${d}"`,
      name: fqdn(`postbode._domainkey.${d}`),
      type: 'TXT',
      values: [],
      placeholder: `(printed by "postbode dkim keygen ${d}")`,
    });
  }
  records.push({
    kind: 'dmarc',
    level: 'required',
    purpose: `DMARC: receivers put mail from @${d} that fails SPF and DKIM in spam, and send reports to postmaster@${d}`,
    name: fqdn(`_dmarc.${d}`),
    type: 'TXT',
    values: [quoteTxt(`v=DMARC1; p=quarantine; rua=mailto:postmaster@${d}`)],
  });
  // RFC 8461 §3.1: the id changes whenever the policy changes; a digest of the policy does that.
  const mtaStsPolicy = `version: STSv1\nmode: testing\nmx: ${host}\nmax_age: 604800\n`;
  const id = createHash('sha256').update(mtaStsPolicy).digest('hex').slice(0, 16);
  records.push({
    kind: 'mta-sts',
    level: 'optional',
    purpose: `MTA-STS: tells senders that mail for @${d} must travel encrypted to ${host} (only with a policy file served at https://mta-sts.${d}/)`,
    name: fqdn(`_mta-sts.${d}`),
    type: 'TXT',
    values: [quoteTxt(`v=STSv1; id=${id}`)],
  });
  records.push({
    kind: 'tls-rpt',
    level: 'optional',
    purpose: `TLS-RPT: senders report failed encrypted deliveries to postmaster@${d} (RFC 8460)`,
    name: fqdn(`_smtp._tls.${d}`),
    type: 'TXT',
    values: [quoteTxt(`v=TLSRPTv1; rua=mailto:postmaster@${d}`)],
  });
  for (const s of SRV_SERVICES) {
    const port = listenerPort(input.listen[s.listener]);
    records.push(
      port === null
        ? {
            kind: 'srv',
            level: 'optional',
            purpose: `RFC 6186: ${s.what} is off here; the target "." tells mail clients not to look for it`,
            name: fqdn(`${s.service}.${d}`),
            type: 'SRV',
            values: ['0 0 0 .'],
            port: 0,
          }
        : {
            kind: 'srv',
            level: 'required',
            purpose: `RFC 6186: mail clients find ${s.what} at ${host} port ${port}`,
            name: fqdn(`${s.service}.${d}`),
            type: 'SRV',
            values: [`${s.priority} 1 ${port} ${H}`],
            port,
          },
    );
  }
  if (input.listen.http !== 'off') {
    for (const [label, what] of [
      ['autoconfig', 'Thunderbird and others fetch their settings from http(s)://autoconfig.'],
      ['autodiscover', 'Outlook and others fetch their settings from https://autodiscover.'],
    ] as const) {
      records.push({
        kind: 'cname',
        level: 'optional',
        purpose: `${what}${d} (the web listener must answer there on port 80/443, directly or behind a proxy)`,
        name: fqdn(`${label}.${d}`),
        type: 'CNAME',
        values: [H],
      });
    }
  }
  for (const ip of input.addresses) {
    records.push({
      kind: 'ptr',
      level: 'required',
      purpose: `PTR (reverse DNS, set by your hosting provider, not in your zone): ask them to name ${ip} "${host}"; many receivers refuse mail from an address without it`,
      name: reverseName(ip),
      type: 'PTR',
      values: [H],
    });
  }
  return {
    domain: d,
    hostname: host,
    addresses: input.addresses,
    addressError: input.addressError ?? null,
    records,
    mtaStsPolicy,
  };
}

export type CheckStatus = 'ok' | 'missing' | 'different' | 'error';

export interface CheckResult {
  record: PlannedRecord;
  status: CheckStatus;
  /** What DNS has (for ok and different), or the failure (error). */
  found?: string;
  /** Why a found record does not do (different), or a remark on an ok one. */
  detail?: string;
}

/** Node's resolver codes for "no such name" and "no such record". */
const ABSENT = new Set(['ENOTFOUND', 'ENODATA']);

type Lookup<T> = { ok: true; value: T } | { ok: false; absent: boolean; error: string };

async function look<T>(fn: () => Promise<T>): Promise<Lookup<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'UNKNOWN';
    return { ok: false, absent: ABSENT.has(code), error: `lookup failed (${code})` };
  }
}

/** Missing or error from a failed lookup. */
function failed(record: PlannedRecord, r: { absent: boolean; error: string }): CheckResult {
  return r.absent ? { record, status: 'missing' } : { record, status: 'error', found: r.error };
}

const shorten = (text: string, max = 90) => (text.length > max ? `${text.slice(0, max - 3)}...` : text);
const quoted = (values: string[]) => values.map((v) => `"${shorten(v)}"`).join(', ');

/** `k=v; k2=v2` tags (DKIM RFC 6376 §3.2, DMARC RFC 7489 §6.4, TLS-RPT RFC 8460 §3), names lower-cased. */
export function parseTags(value: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    tags.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return tags;
}

/** The TXT records at `name` whose value starts with `prefix` (case-insensitive), chunks joined. */
async function txtWith(dns: DnsLookup, name: string, prefix: RegExp): Promise<Lookup<string[]>> {
  const r = await look(() => dns.resolveTxt(name));
  if (!r.ok) return r;
  return { ok: true, value: r.value.map((chunks) => chunks.join('')).filter((v) => prefix.test(v.trim())) };
}

export async function checkRecord(plan: DnsPlan, record: PlannedRecord, dns: DnsLookup): Promise<CheckResult> {
  const name = bare(record.name);
  switch (record.kind) {
    case 'host': {
      if (plan.addresses.length > 0) return { record, status: 'ok', found: plan.addresses.join(', ') };
      if (plan.addressError) return { record, status: 'error', found: plan.addressError };
      return { record, status: 'missing' };
    }
    case 'mx': {
      const r = await look(() => dns.resolveMx(name));
      if (!r.ok) return failed(record, r);
      if (r.value.length === 0) return { record, status: 'missing' };
      const found = r.value.map((m) => `${m.priority} ${m.exchange}`).join(', ');
      if (r.value.some((m) => bare(m.exchange) === plan.hostname)) return { record, status: 'ok', found };
      return { record, status: 'different', found, detail: `no MX names ${plan.hostname}` };
    }
    case 'spf':
      return checkSpf(plan, record, dns);
    case 'dkim': {
      const r = await txtWith(dns, name, /^(v=DKIM1|k=|p=)/i);
      if (!r.ok) return failed(record, r);
      if (r.value.length === 0) return { record, status: 'missing' };
      const want = parseTags(dnsRecordValue(record.key!.privateKey));
      const same = r.value.some((v) => {
        const tags = parseTags(v);
        return (
          (tags.get('p') ?? '').replace(/\s+/g, '') === want.get('p') &&
          (tags.get('k') ?? 'rsa').toLowerCase() === want.get('k')
        );
      });
      if (same) return { record, status: 'ok', found: quoted(r.value) };
      return {
        record,
        status: 'different',
        found: quoted(r.value),
        detail: `not the public key of ${record.key!.file.split(/[\\/]/).pop()}`,
      };
    }
    case 'dkim-none':
      return { record, status: 'missing' };
    case 'dmarc': {
      const r = await txtWith(dns, name, /^v=DMARC1\s*(;|$)/i);
      if (!r.ok) return failed(record, r);
      if (r.value.length === 0) return { record, status: 'missing' };
      if (r.value.length > 1) {
        return {
          record,
          status: 'different',
          found: quoted(r.value),
          detail: 'several DMARC records: receivers ignore them all (RFC 7489 §6.6.3)',
        };
      }
      const p = parseTags(r.value[0]).get('p')?.toLowerCase();
      if (p !== 'none' && p !== 'quarantine' && p !== 'reject') {
        return {
          record,
          status: 'different',
          found: quoted(r.value),
          detail: 'no valid p= (none, quarantine or reject)',
        };
      }
      return {
        record,
        status: 'ok',
        found: quoted(r.value),
        detail: p === 'none' ? 'p=none only collects reports; failing mail is still delivered' : undefined,
      };
    }
    case 'tls-rpt': {
      const r = await txtWith(dns, name, /^v=TLSRPTv1\s*(;|$)/i);
      if (!r.ok) return failed(record, r);
      if (r.value.length === 0) return { record, status: 'missing' };
      const rua = r.value.length === 1 ? parseTags(r.value[0]).get('rua') : undefined;
      if (!rua || !/^(mailto:|https:)/i.test(rua)) {
        return {
          record,
          status: 'different',
          found: quoted(r.value),
          detail: 'one record with rua=mailto:... expected',
        };
      }
      return { record, status: 'ok', found: quoted(r.value) };
    }
    case 'mta-sts': {
      const r = await txtWith(dns, name, /^v=STSv1\s*(;|$)/i);
      if (!r.ok) return failed(record, r);
      if (r.value.length === 0) return { record, status: 'missing' };
      const id = r.value.length === 1 ? parseTags(r.value[0]).get('id') : undefined;
      if (!id || !/^[A-Za-z0-9]{1,32}$/.test(id)) {
        return {
          record,
          status: 'different',
          found: quoted(r.value),
          detail: 'one record with id= (1-32 letters or digits) expected (RFC 8461 §3.1)',
        };
      }
      return {
        record,
        status: 'ok',
        found: quoted(r.value),
        detail: `the policy file at https://mta-sts.${plan.domain}/ is not checked`,
      };
    }
    case 'srv': {
      const r = await look(() => dns.resolveSrv(name));
      if (!r.ok) return failed(record, r);
      if (r.value.length === 0) return { record, status: 'missing' };
      const found = r.value.map((s) => `${s.priority} ${s.weight} ${s.port} ${s.name || '.'}`).join(', ');
      const good =
        record.port === 0
          ? r.value.every((s) => bare(s.name) === '' || s.name === '.')
          : r.value.some((s) => bare(s.name) === plan.hostname && s.port === record.port);
      return good
        ? { record, status: 'ok', found }
        : {
            record,
            status: 'different',
            found,
            detail: record.port === 0 ? 'the service is off here' : `expected ${plan.hostname} port ${record.port}`,
          };
    }
    case 'cname': {
      const r = await look(() => dns.resolveCname(name));
      if (r.ok && r.value.length > 0) {
        const found = r.value.join(', ');
        if (r.value.some((t) => bare(t) === plan.hostname)) return { record, status: 'ok', found };
        return { record, status: 'different', found, detail: `expected a CNAME to ${plan.hostname}` };
      }
      if (!r.ok && !r.absent) return failed(record, r);
      // No CNAME: A/AAAA records with the server's own addresses do as well.
      const a = await look(async () => [
        ...(await dns.resolve4(name).catch(() => [])),
        ...(await dns.resolve6(name).catch(() => [])),
      ]);
      const addrs = a.ok ? a.value : [];
      if (addrs.length === 0) return { record, status: 'missing' };
      if (addrs.some((x) => plan.addresses.includes(x))) return { record, status: 'ok', found: addrs.join(', ') };
      return { record, status: 'different', found: addrs.join(', '), detail: `not an address of ${plan.hostname}` };
    }
    case 'ptr': {
      const ip = plan.addresses.find((a) => reverseName(a) === record.name)!;
      const r = await look(() => dns.reverse(ip));
      if (!r.ok) return failed(record, r);
      if (r.value.length === 0) return { record, status: 'missing' };
      const found = r.value.join(', ');
      if (r.value.some((n) => bare(n) === plan.hostname)) return { record, status: 'ok', found };
      return {
        record,
        status: 'different',
        found,
        detail: `ask your hosting provider to set the PTR of ${ip} to ${plan.hostname}`,
      };
    }
  }
}

/** The sender-domain check of SPF, as receivers do it, from each of the hostname's addresses. */
async function checkSpf(plan: DnsPlan, record: PlannedRecord, dns: DnsLookup): Promise<CheckResult> {
  const r = await txtWith(dns, plan.domain, /^v=spf1(\s|$)/i);
  if (!r.ok) return failed(record, r);
  if (r.value.length === 0) return { record, status: 'missing' };
  const found = quoted(r.value);
  if (r.value.length > 1) {
    return {
      record,
      status: 'different',
      found,
      detail: 'several SPF records: receivers treat that as an error (RFC 7208 §4.5)',
    };
  }
  if (plan.addresses.length === 0) {
    // Without an address to evaluate, accept the usual mechanisms that name this server.
    const terms = r.value[0].toLowerCase().split(/\s+/);
    const names = ['mx', '+mx', `mx:${plan.domain}`, `+mx:${plan.domain}`, `a:${plan.hostname}`, `+a:${plan.hostname}`];
    if (plan.hostname === plan.domain) names.push('a', '+a');
    if (terms.some((t) => names.includes(t))) return { record, status: 'ok', found };
    return { record, status: 'different', found, detail: `does not name mx or a:${plan.hostname}` };
  }
  // Loaded here only: mailauth is large, and `postbode dns` alone evaluates SPF.
  const spfLib = await import('mailauth/lib/spf/index.js');
  for (const ip of plan.addresses) {
    const result = await spfLib.spf({
      sender: `postmaster@${plan.domain}`,
      ip,
      helo: plan.hostname,
      mta: plan.hostname,
      resolver: (name: string, rrtype: string) => dns.resolve(name, rrtype) as Promise<string[][] | string[]>,
    });
    const verdict = result.status.result;
    if (verdict === 'temperror')
      return { record, status: 'error', found: `SPF evaluation failed (temperror) for ${ip}` };
    if (verdict !== 'pass') {
      return {
        record,
        status: 'different',
        found,
        detail: `gives "${verdict}" for ${plan.hostname} (${ip}), not "pass"`,
      };
    }
  }
  return { record, status: 'ok', found };
}
