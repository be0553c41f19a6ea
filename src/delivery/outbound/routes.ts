/**
 * Outbound routing: where the mail for one recipient domain goes.
 *
 * Invariants:
 * - Order of precedence: the static transport map (exact domain, then `*`) wins, then the relay host
 *   (smarthost), then DNS: MX by preference (RFC 5321 §5.1), random order among equal preferences.
 * - No MX records (NODATA) → the domain's A/AAAA is the implicit MX (preference 0). No address either →
 *   permanent failure.
 * - Null MX (RFC 7505 §3: a single MX "." with preference 0) → permanent failure "domain does not accept
 *   mail"; a "." record mixed with real ones is skipped.
 * - Permanent routing errors carry their RFC 3463 code for the DSN: NXDOMAIN 5.1.2, null MX 5.1.10
 *   (RFC 7505 §4.2), no address at all 5.4.4.
 * - NXDOMAIN → permanent; SERVFAIL, timeout, refused and anything else unknown → temporary (retry later).
 * - DNS goes through an injectable `DnsResolver`, by default `node:dns/promises` Resolver with the
 *   configured servers, so tests never touch the network.
 */
import { Resolver } from 'node:dns/promises';

/** The DNS queries routing needs (a subset of node's `dns/promises` Resolver). */
export interface DnsResolver {
  resolveMx(domain: string): Promise<{ exchange: string; priority: number }[]>;
  resolve4(domain: string): Promise<string[]>;
  resolve6(domain: string): Promise<string[]>;
  /** TXT records (MTA-STS `_mta-sts.<domain>`); without it MTA-STS policies are never found. */
  resolveTxt?(domain: string): Promise<string[][]>;
}

/** A relay host (smarthost): all remote mail goes there, optionally with AUTH and implicit TLS. */
export interface RelayHost {
  host: string;
  port: number;
  /** Implicit TLS (port 465 style); otherwise STARTTLS when offered. */
  secure?: boolean;
  /** Fail instead of sending in clear text when STARTTLS is not available. */
  requireTls?: boolean;
  auth?: { user: string; pass: string };
  /** Require TLS with a certificate valid for `host` (the route's `verifiedTls`). */
  verifyTls?: boolean;
}

export interface RouteOptions {
  /** domain → `host[:port]` (or `[ipv6]:port`); key `*` matches every domain. Port defaults to 25. */
  transportMap?: Record<string, string>;
  relay?: RelayHost | null;
  /** DNS servers for the default resolver (`ip` or `ip:port`); empty → the system's. */
  dnsServers?: string[];
  /** Per-query timeout of the default resolver. */
  dnsTimeoutMs?: number;
  /** Port for MX and implicit-MX hosts (25; tests may change it). */
  smtpPort?: number;
}

export interface RouteHost {
  /** Host name or IP address to connect to. */
  host: string;
  port: number;
  /** MX preference (0 for transport map, relay and implicit MX). */
  preference: number;
  /** Set for the relay host: AUTH credentials and TLS requirements. */
  relay?: RelayHost;
  /**
   * STARTTLS is required and the certificate must be valid for `host` (set by an enforced MTA-STS
   * policy, RFC 8461 §4.2); otherwise TLS is opportunistic and unverified.
   */
  verifiedTls?: boolean;
}

export type RouteSource = 'transport' | 'relay' | 'mx' | 'implicit-mx';

export type RouteResult =
  | { kind: 'hosts'; source: RouteSource; hosts: RouteHost[] }
  | { kind: 'permanent'; error: string }
  | { kind: 'temporary'; error: string };

/** `host`, `host:port`, `[v6]`, `[v6]:port`. Throws on a bad port. */
export function parseHostPort(value: string, defaultPort: number): { host: string; port: number } {
  const v = value.trim();
  let host = v;
  let port = defaultPort;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (bracket) {
    host = bracket[1];
    if (bracket[2]) port = Number(bracket[2]);
  } else {
    const colon = v.lastIndexOf(':');
    // A bare IPv6 address has several colons and no port.
    if (colon > 0 && v.indexOf(':') === colon) {
      host = v.slice(0, colon);
      port = Number(v.slice(colon + 1));
    }
  }
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`invalid host:port ${JSON.stringify(value)}`);
  }
  return { host, port };
}

export function defaultResolver(servers: string[] = [], timeoutMs = 10_000): DnsResolver {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
  if (servers.length > 0) resolver.setServers(servers);
  return resolver;
}

type DnsOutcome<T> = { ok: true; value: T } | { ok: false; kind: 'nodata' | 'nxdomain' | 'temporary'; error: string };

/** Classifies a DNS failure by node's error code. */
function classify(err: unknown, what: string): { kind: 'nodata' | 'nxdomain' | 'temporary'; error: string } {
  const code = (err as { code?: string }).code ?? 'UNKNOWN';
  if (code === 'ENODATA') return { kind: 'nodata', error: `${what}: no records` };
  if (code === 'ENOTFOUND') return { kind: 'nxdomain', error: `5.1.2 ${what}: domain not found (NXDOMAIN)` };
  return { kind: 'temporary', error: `${what}: DNS lookup failed (${code})` };
}

async function query<T>(fn: () => Promise<T>, what: string): Promise<DnsOutcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return { ok: false, ...classify(err, what) };
  }
}

export class Router {
  readonly #transport = new Map<string, { host: string; port: number }>();
  readonly #relay: RelayHost | null;
  readonly #resolver: DnsResolver;
  readonly #port: number;
  readonly #random: () => number;

  constructor(opts: RouteOptions = {}, resolver?: DnsResolver, random: () => number = Math.random) {
    for (const [domain, target] of Object.entries(opts.transportMap ?? {})) {
      this.#transport.set(domain.trim().toLowerCase(), parseHostPort(target, 25));
    }
    this.#relay = opts.relay ?? null;
    this.#resolver = resolver ?? defaultResolver(opts.dnsServers, opts.dnsTimeoutMs);
    this.#port = opts.smtpPort ?? 25;
    this.#random = random;
  }

  async resolve(domainInput: string): Promise<RouteResult> {
    const domain = domainInput.trim().toLowerCase().replace(/\.$/, '');
    const mapped = this.#transport.get(domain) ?? this.#transport.get('*');
    if (mapped) return { kind: 'hosts', source: 'transport', hosts: [{ ...mapped, preference: 0 }] };
    if (this.#relay) {
      const r = this.#relay;
      const host: RouteHost = { host: r.host, port: r.port, preference: 0, relay: r };
      if (r.verifyTls) host.verifiedTls = true;
      return { kind: 'hosts', source: 'relay', hosts: [host] };
    }
    // An address literal domain (`[192.0.2.1]`) is delivered to that address (RFC 5321 §4.1.3).
    const literal = /^\[(?:ipv6:)?([^\]]+)\]$/i.exec(domain);
    if (literal) {
      return { kind: 'hosts', source: 'implicit-mx', hosts: [{ host: literal[1], port: this.#port, preference: 0 }] };
    }
    return this.#dns(domain);
  }

  async #dns(domain: string): Promise<RouteResult> {
    const mx = await query(() => this.#resolver.resolveMx(domain), `MX ${domain}`);
    if (!mx.ok && mx.kind === 'nxdomain') return { kind: 'permanent', error: mx.error };
    if (!mx.ok && mx.kind === 'temporary') return { kind: 'temporary', error: mx.error };
    const records = mx.ok ? mx.value : [];
    if (records.length > 0) {
      const isNull = (r: { exchange: string }) => r.exchange === '' || r.exchange === '.';
      if (records.length === 1 && isNull(records[0]) && records[0].priority === 0) {
        return { kind: 'permanent', error: `5.1.10 ${domain}: domain does not accept mail (null MX, RFC 7505)` };
      }
      const usable = records.filter((r) => !isNull(r));
      if (usable.length === 0) {
        return { kind: 'permanent', error: `5.1.10 ${domain}: domain does not accept mail (null MX, RFC 7505)` };
      }
      const keyed = usable.map((r) => ({ r, k: this.#random() }));
      keyed.sort((a, b) => a.r.priority - b.r.priority || a.k - b.k);
      return {
        kind: 'hosts',
        source: 'mx',
        hosts: keyed.map(({ r }) => ({
          host: r.exchange.replace(/\.$/, '').toLowerCase(),
          port: this.#port,
          preference: r.priority,
        })),
      };
    }
    // No MX: the domain itself is the implicit MX (RFC 5321 §5.1) when it has an address.
    const [a, aaaa] = await Promise.all([
      query(() => this.#resolver.resolve4(domain), `A ${domain}`),
      query(() => this.#resolver.resolve6(domain), `AAAA ${domain}`),
    ]);
    if ((a.ok && a.value.length > 0) || (aaaa.ok && aaaa.value.length > 0)) {
      return { kind: 'hosts', source: 'implicit-mx', hosts: [{ host: domain, port: this.#port, preference: 0 }] };
    }
    for (const r of [a, aaaa]) if (!r.ok && r.kind === 'temporary') return { kind: 'temporary', error: r.error };
    for (const r of [a, aaaa]) if (!r.ok && r.kind === 'nxdomain') return { kind: 'permanent', error: r.error };
    return {
      kind: 'permanent',
      error: `5.4.4 ${domain}: no MX and no A/AAAA records, so there is no host to deliver to`,
    };
  }
}
