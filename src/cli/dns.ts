/**
 * `postbode dns DOMAIN` prints the DNS records a local domain needs, in zone-file form with one comment
 * line each; `postbode dns check DOMAIN` looks them up (with `delivery.dns_servers`, else the system's
 * resolver) and says per record ok / missing / different, exiting 1 when a required record is missing or
 * any record is wrong. The records themselves are in `dns-records.ts`.
 *
 * Invariants:
 * - Read-only: no data dir or database is created. Without a data dir, or for a domain that is not
 *   local (config `domains` or the store), the command stops with a clear message.
 * - Every lookup goes through one resolver with a per-query timeout, so the command always ends.
 */

import { Resolver } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config/schema.js';
import { DkimKeyStore, domainError } from '../delivery/dkim.js';
import { databaseFile, openStore, storeLocation } from '../store/open.js';
import { CliError, cliStoreOptions, configFrom, type GlobalOptions, withConfigOptions } from './context.js';
import {
  type CheckResult,
  checkRecord,
  type DnsLookup,
  type DnsPlan,
  type PlannedRecord,
  planRecords,
  resolveHost,
  reverseName,
  TTL,
} from './dns-records.js';

type Out = (line: string) => void;

interface DnsOptions extends GlobalOptions {
  hostname?: string;
}

export function registerDnsCommands(program: Command, out: Out): void {
  const dns = withConfigOptions(
    program
      .command('dns')
      .description('print the DNS records a local domain needs (MX, SPF, DKIM, DMARC, MTA-STS, SRV, PTR)')
      .argument('<domain>', 'a local mail domain')
      .option('-H, --hostname <name>', 'the server name (default: hostname from the config)'),
  ).action(async (domain: string, opts: DnsOptions) => {
    const { plan, servers } = await prepare(domain, opts);
    for (const line of formatZone(plan, servers)) out(line);
  });
  withConfigOptions(
    dns
      .command('check')
      .description('look up the records of "postbode dns DOMAIN" and say which are ok, missing or different')
      .argument('<domain>', 'a local mail domain')
      .option('-H, --hostname <name>', 'the server name (default: hostname from the config)'),
  ).action(async (domain: string, _opts: DnsOptions, cmd: Command) => {
    // Options given after `check` may be parsed by the parent `dns` (which has the same ones): take both.
    const { plan, servers, lookup } = await prepare(domain, cmd.optsWithGlobals<DnsOptions>());
    out(`checking the DNS records of ${plan.domain} (mail server ${plan.hostname}) with ${servers}`);
    const results = await Promise.all(plan.records.map((r) => checkRecord(plan, r, lookup)));
    for (const line of formatCheck(results)) out(line);
    if (results.some(failing)) process.exitCode = 1;
  });
}

/** Loads the configuration, refuses a missing data dir or a foreign domain, resolves the hostname. */
async function prepare(domainInput: string, opts: DnsOptions) {
  const config = configFrom({
    config: opts.config,
    dataDir: opts.dataDir,
    store: opts.store,
    node: opts.node,
    hostname: opts.hostname,
  });
  const domain = domainInput.trim().toLowerCase().replace(/\.$/, '');
  const problem = domainError(domain);
  if (problem) throw new CliError(`"${domainInput}": ${problem}`);
  const dataDir = path.resolve(config.data_dir);
  await requireLocal(domain, config, dataDir);
  const hostname = config.hostname.toLowerCase().replace(/\.$/, '');
  if (hostname === 'localhost' || !hostname.includes('.') || domainError(hostname)) {
    throw new CliError(
      `the server's hostname is "${config.hostname}": set its public name first (hostname = "mail.${domain}" in the config, or --hostname mail.${domain})`,
    );
  }
  const dkim = new DkimKeyStore(dataDir);
  const active = dkim.get(domain);
  const keys = dkim.list().filter((k) => k.domain === domain && k.file !== active?.file);
  const lookup = resolverFor(config);
  const host = await resolveHost(lookup, hostname);
  const plan = planRecords({
    domain,
    hostname,
    listen: config.listen,
    dkimKeys: active ? [active, ...keys] : [],
    addresses: host.addresses,
    addressError: host.error,
  });
  const servers =
    config.delivery.dns_servers.length > 0 ? config.delivery.dns_servers.join(', ') : "the system's resolver";
  return { plan, lookup, servers };
}

/** The domain must be local: in the config's `domains` or in the store, which is opened only if it exists. */
async function requireLocal(domain: string, config: Config, dataDir: string): Promise<void> {
  if (!existsSync(dataDir)) {
    throw new CliError(
      `no data dir at ${dataDir}: give the server's data dir with --data-dir DIR or POSTBODE_DATA_DIR=DIR, or its config file with --config FILE`,
    );
  }
  process.stderr.write(`data dir ${dataDir}\n`);
  if (config.domains.some((d) => d.toLowerCase() === domain)) return;
  const add = `add it with "postbode domain add ${domain}"`;
  const file = databaseFile(storeLocation(config.store.url, dataDir));
  if (file !== null && !existsSync(file)) {
    throw new CliError(`${domain} is not a local domain: there is no database in ${dataDir} yet; ${add}`);
  }
  const store = await openStore(cliStoreOptions(config, dataDir));
  try {
    if (!(await store.domains.has(domain))) {
      throw new CliError(`${domain} is not a local domain of the server in ${dataDir}; ${add}`);
    }
  } finally {
    await store.close();
  }
}

function resolverFor(config: Config): DnsLookup {
  const r = new Resolver({ timeout: Math.min(config.checks.dns_timeout * 1000, 5000), tries: 2 });
  if (config.delivery.dns_servers.length > 0) r.setServers(config.delivery.dns_servers);
  // The PTR record itself, asked of the DNS: `Resolver.reverse` answers from /etc/hosts first, where a
  // server often names its own address, which says nothing about what receivers will find.
  const reverse = (ip: string) => r.resolvePtr(reverseName(ip).replace(/\.$/, ''));
  return Object.assign(r, { reverse });
}

/** The zone-file lines of one record (several for several addresses), or its placeholder as a comment. */
function zoneLines(r: PlannedRecord): string[] {
  if (r.values.length === 0) return [`; ${r.name} ${TTL} IN ${r.type} ${r.placeholder ?? ''}`];
  return r.values.map((v) => {
    const type = r.kind === 'host' ? (v.includes(':') ? 'AAAA' : 'A') : r.type;
    return `${r.name} ${TTL} IN ${type} ${v}`;
  });
}

export function formatZone(plan: DnsPlan, servers: string): string[] {
  const d = plan.domain;
  const lines = [
    `; DNS records for ${d}, whose mail server is ${plan.hostname}.`,
    `; Publish them at your DNS provider (lines starting with ";" are comments), then run: postbode dns check ${d}`,
    '; Records marked (optional) are not needed for mail to work.',
  ];
  for (const r of plan.records) {
    if (r.kind === 'ptr') continue;
    lines.push('');
    if (r.kind === 'host' && r.values.length > 0) {
      lines.push(
        `; ${r.purpose}; ${plan.hostname} resolves to these now (through ${servers}): check they are this server's public addresses`,
      );
    } else {
      lines.push(`; ${r.level === 'optional' ? '(optional) ' : ''}${r.purpose}`);
    }
    lines.push(...zoneLines(r));
    if (r.kind === 'mta-sts') {
      lines.push(
        `; postbode does not serve the MTA-STS policy itself: publish the record above only once a web server with a`,
        `; certificate for mta-sts.${d} serves https://mta-sts.${d}/.well-known/mta-sts.txt with (mode: testing at first,`,
        '; then enforce once TLS works; a changed policy needs a new id):',
        ...plan.mtaStsPolicy
          .trimEnd()
          .split('\n')
          .map((l) => `;   ${l}`),
      );
    }
  }
  lines.push('', '; Reverse DNS (PTR): not part of your zone; ask your hosting provider to set it.');
  const ptrs = plan.records.filter((r) => r.kind === 'ptr');
  if (ptrs.length === 0 && plan.addressError) {
    lines.push(
      `; ${plan.hostname} could not be looked up (${plan.addressError} through ${servers}); once it resolves, ask for the`,
      `; PTR record of each of its addresses to name ${plan.hostname}. Many receivers refuse mail without it.`,
    );
  } else if (ptrs.length === 0) {
    lines.push(
      `; ${plan.hostname} does not resolve yet (through ${servers}); once it does, ask for the PTR record of each of its`,
      `; addresses to name ${plan.hostname}, e.g. 192.0.2.25 -> ${plan.hostname}. Many receivers refuse mail without it.`,
    );
  }
  for (const r of ptrs) {
    lines.push(`; ${r.purpose}`, ...zoneLines(r));
  }
  return lines;
}

/** True when a result makes the check fail. */
function failing(r: CheckResult): boolean {
  if (r.status === 'ok') return false;
  return r.status !== 'missing' || r.record.level === 'required';
}

export function formatCheck(results: CheckResult[]): string[] {
  const lines: string[] = [];
  const counts = { ok: 0, missing: 0, different: 0, error: 0, optional: 0 };
  for (const r of results) {
    const optionalMissing = r.status === 'missing' && r.record.level === 'optional';
    if (optionalMissing) counts.optional++;
    else counts[r.status]++;
    const label = r.status === 'error' ? 'lookup failed' : r.status;
    const what = `${label}${optionalMissing ? ' (optional)' : ''}`.padEnd(19);
    lines.push(`${what}${r.record.type.padEnd(6)}${r.record.name}  ${r.record.purpose}`);
    const pad = ' '.repeat(19);
    if (r.status === 'ok') {
      if (r.found) lines.push(`${pad}found: ${r.found}`);
      if (r.detail) lines.push(`${pad}note: ${r.detail}`);
      continue;
    }
    if (r.found) lines.push(`${pad}found: ${r.found}${r.detail && r.status === 'different' ? ` (${r.detail})` : ''}`);
    else if (r.detail) lines.push(`${pad}${r.detail}`);
    for (const z of zoneLines(r.record)) lines.push(`${pad}publish: ${z.replace(/^; /, '')}`);
  }
  const parts = [`${counts.ok} ok`, `${counts.missing} missing`, `${counts.different} different`];
  if (counts.error > 0) parts.push(`${counts.error} lookups failed`);
  if (counts.optional > 0) parts.push(`${counts.optional} optional not published`);
  lines.push('', `${parts.join(', ')}`);
  lines.push(
    results.some(failing)
      ? 'fix the records marked missing or different at your DNS provider (changes can take up to the TTL to show)'
      : 'all required records are in place',
  );
  return lines;
}
