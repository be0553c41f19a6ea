/**
 * MTA-STS (RFC 8461) for outbound delivery: fetch and cache a recipient domain's policy, and decide
 * which MX hosts may be used and how.
 *
 * Invariants:
 * - Only routes found in DNS (MX or implicit MX) are subject to a policy; the transport map and the
 *   relay host are the administrator's own choice and are never checked.
 * - Setting `off`: no lookups. `log`: policies are fetched and violations logged, never enforced.
 *   `enforce`: a policy in mode `enforce` is obeyed: MX hosts that do not match its `mx` patterns
 *   are skipped (RFC 8461 §4.1), and the others are used only over STARTTLS with a certificate valid
 *   for the MX host name (§4.2). No matching host left → a temporary failure (the message stays queued;
 *   §5.1 says to treat it as a delivery failure, and a policy may be fixed before the queue lifetime
 *   ends). Policies in mode `testing` are only logged (§5.2) and `none` is nothing.
 * - Policies are fetched with mailauth (`_mta-sts.<domain>` TXT through our resolver, then
 *   https://mta-sts.<domain>/.well-known/mta-sts.txt with a verified certificate) and cached in memory
 *   until their max_age runs out; "no policy" is cached for 10 minutes. A fetch error keeps a cached
 *   policy (even an expired one: §5.1 lets the sender keep using it rather than fall back to nothing).
 *   The cache is not persistent: after a restart policies are fetched again.
 */
import type { MTASTSPolicy, MTASTSPolicyResult } from 'mailauth';
import * as mtaSts from 'mailauth/lib/mta-sts.js';
import type { DnsResolver, RouteHost } from './routes.js';

export type MtaStsSetting = 'off' | 'log' | 'enforce';

export type StsPolicy = MTASTSPolicy;

/** Fetches the policy of a domain (mailauth's getPolicy by default; tests inject their own). */
export type PolicyFetcher = (domain: string, known: StsPolicy | null) => Promise<MTASTSPolicyResult>;

export interface PolicyDecision {
  /** The hosts to try, in order; `verifiedTls` set on those an enforced policy covers. */
  hosts: RouteHost[];
  /** Set when an enforced policy leaves no host: deliver nothing, retry later. */
  error: string | null;
  /** Violations that were not enforced (mode testing, or setting `log`), for the log. */
  warnings: string[];
}

/** Applies a domain's policy to its MX hosts (see the header). Pure: the unit tests drive it. */
export function applyPolicy(
  domain: string,
  hosts: RouteHost[],
  policy: StsPolicy | null,
  setting: MtaStsSetting,
): PolicyDecision {
  if (setting === 'off' || !policy || policy.mode === 'none') return { hosts, error: null, warnings: [] };
  const matching = hosts.filter((h) => mtaSts.validateMx(h.host, policy).valid);
  const misfits = hosts.filter((h) => !matching.includes(h)).map((h) => h.host);
  const patterns = (policy.mx ?? []).join(', ');
  const enforce = setting === 'enforce' && policy.mode === 'enforce';
  if (!enforce) {
    const warnings = misfits.map(
      (host) => `MTA-STS (${policy.mode}): MX ${host} of ${domain} does not match the policy (mx: ${patterns})`,
    );
    return { hosts, error: null, warnings };
  }
  if (matching.length === 0) {
    return {
      hosts: [],
      error:
        `451 4.7.5 MTA-STS: none of the MX hosts of ${domain} (${hosts.map((h) => h.host).join(', ')}) matches ` +
        `its enforced policy (mx: ${patterns}); the message stays queued until the domain fixes its MX records ` +
        `or policy (RFC 8461 §4.1)`,
      warnings: [],
    };
  }
  return { hosts: matching.map((h) => ({ ...h, verifiedTls: true })), error: null, warnings: [] };
}

/** mailauth's resolver signature over our DnsResolver. */
function mailauthResolver(resolver: DnsResolver) {
  return async (name: string, rrtype: string): Promise<string[][] | string[]> => {
    switch (rrtype) {
      case 'TXT':
        if (!resolver.resolveTxt) throw Object.assign(new Error('no TXT lookups'), { code: 'ENODATA' });
        return resolver.resolveTxt(name);
      case 'A':
        return resolver.resolve4(name);
      case 'AAAA':
        return resolver.resolve6(name);
      default:
        throw Object.assign(new Error(`unsupported query type ${rrtype}`), { code: 'ENOTIMP' });
    }
  };
}

const NO_POLICY_CACHE_MS = 10 * 60_000;

interface Cached {
  policy: StsPolicy | null;
  until: number;
}

export class MtaSts {
  readonly #cache = new Map<string, Cached>();
  readonly #fetch: PolicyFetcher;
  readonly #now: () => number;

  constructor(
    readonly setting: MtaStsSetting,
    opts: { resolver: DnsResolver; fetcher?: PolicyFetcher; now?: () => number },
  ) {
    const resolver = mailauthResolver(opts.resolver);
    this.#fetch = opts.fetcher ?? ((domain, known) => mtaSts.getPolicy(domain, known ?? undefined, { resolver }));
    this.#now = opts.now ?? Date.now;
  }

  /** The policy of `domain` (cached), or null when it publishes none or the setting is `off`. */
  async policy(domain: string): Promise<StsPolicy | null> {
    if (this.setting === 'off') return null;
    const now = this.#now();
    const cached = this.#cache.get(domain);
    if (cached && cached.until > now) return cached.policy;
    const known = cached?.policy ?? null;
    let result: MTASTSPolicyResult;
    try {
      result = await this.#fetch(domain, known);
    } catch (err) {
      result = { status: 'errored', policy: { id: false, mode: 'none', error: err as Error } };
    }
    if (result.status === 'errored' && known) {
      // Keep what we had; ask again in a while.
      this.#cache.set(domain, { policy: known, until: now + NO_POLICY_CACHE_MS });
      return known;
    }
    const policy = result.policy.mode === 'none' ? null : result.policy;
    const maxAgeMs = (policy?.maxAge ?? 0) * 1000;
    this.#cache.set(domain, { policy, until: now + (policy && maxAgeMs > 0 ? maxAgeMs : NO_POLICY_CACHE_MS) });
    return policy;
  }

  /** Resolves and applies the policy of `domain` to its DNS-routed hosts. */
  async decide(domain: string, hosts: RouteHost[]): Promise<PolicyDecision> {
    if (this.setting === 'off') return { hosts, error: null, warnings: [] };
    return applyPolicy(domain, hosts, await this.policy(domain), this.setting);
  }
}
