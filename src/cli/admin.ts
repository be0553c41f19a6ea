/** `postbode user|domain|alias|queue|dkim ...`: account administration straight on the store. */
import path from 'node:path';
import type { Command } from 'commander';
import { generatePassword } from '../auth/generated-password.js';
import { hashPassword } from '../auth/password.js';
import { passwordError } from '../auth/password-policy.js';
import type { Config } from '../config/schema.js';
import { AliasRuleError, planAlias } from '../delivery/alias-rules.js';
import { DkimError, DkimKeyStore, dnsRecord, dnsRecordValue } from '../delivery/dkim.js';
import { domainNameError, mailboxError } from '../mail/address-syntax.js';
import { controlRequest } from '../server/control.js';
import { quotaLimit, type Store, StoreConflictError } from '../store/types.js';
import { CliError, configFrom, type GlobalOptions, withConfigOptions, withStore } from './context.js';
import { recordSharedDkim, registerDkimRotation } from './dkim-rotation.js';
import { confirm, readPassword } from './prompt.js';

type Out = (line: string) => void;

function checkAddress(address: string): string {
  const lower = address.trim().toLowerCase();
  const problem = mailboxError(lower, true) ?? domainNameError(domainOf(lower));
  if (problem) throw new CliError(`"${address}" is not a valid address: ${problem}`);
  return lower;
}

/** A domain name, lower-cased, checked by IDNA and LDH syntax (mail/address-syntax.ts). */
function checkDomain(name: string): string {
  const d = name.trim().toLowerCase();
  const problem = domainNameError(d);
  if (problem) throw new CliError(problem);
  return d;
}

type YesOption = { yes?: boolean };

/** Asks before a deletion (see prompt.ts `confirm`); a "no" ends the command with nothing deleted. */
async function confirmDeletion(question: string, what: string, opts: YesOption): Promise<void> {
  const refusal = `not deleting ${what} without confirmation: standard input is not a terminal; add --yes to delete it`;
  if (!(await confirm(question, { yes: opts.yes, refusal }))) throw new CliError(`nothing deleted (${what} is kept)`);
}

/** Messages in all mailboxes of an account. */
async function messageCount(store: Store, accountId: number): Promise<number> {
  let n = 0;
  for (const m of await store.mailboxes.list(accountId)) n += (await store.mailboxes.status(m.id)).messages;
  return n;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

export function parseSize(text: string): number | null {
  if (/^(none|unlimited|0)$/i.test(text)) return null;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!m) throw new CliError(`bad size "${text}": use bytes or a unit, e.g. 500M or 2G (or "none")`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[
    m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'
  ];
  return Math.round(Number(m[1]) * unit);
}

/**
 * `12.5 MiB / 1.0 GiB (1 %)`, with `(default quota)` when the limit is store.default_quota and
 * `/ unlimited` without a limit. Exact byte counts follow for scripts: `[13107200 / 1073741824 bytes]`.
 */
export function formatUsage(used: number, own: number | null, limit: number | null): string {
  if (limit === null) return `${humanBytes(used)} / unlimited [${used} bytes]`;
  const percent = limit > 0 ? Math.floor((used / limit) * 100) : 100;
  const source = own === null ? ' (default quota)' : '';
  return `${humanBytes(used)} / ${humanBytes(limit)} (${percent} %)${source} [${used} / ${limit} bytes]`;
}

function humanBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[u]}`;
}

/** The password a person chooses, checked against auth.min_password_length (auth/password-policy.ts). */
async function passwordFrom(opts: GlobalOptions & { password?: string }): Promise<string> {
  const password = opts.password ?? (await readPassword('Password: '));
  if (password.length === 0) {
    throw new CliError(
      process.stdin.isTTY
        ? 'the password must not be empty'
        : 'no password: give one with --password P (or --generate where offered), or type it on standard input',
    );
  }
  const problem = passwordError(password, configFrom(opts).auth.min_password_length);
  if (problem) throw new CliError(problem);
  return password;
}

export function registerAdminCommands(program: Command, out: Out): void {
  const user = program.command('user').description('manage mail accounts');
  withConfigOptions(
    user
      .command('add <address>')
      .description('create an account (its domain becomes local if it is not yet)')
      .option('-p, --password <password>', 'the password (prompted for when not given)')
      .option('-q, --quota <size>', 'storage quota, e.g. 500M or 2G'),
  ).action(async (address: string, opts: GlobalOptions & { password?: string; quota?: string }) => {
    const addr = checkAddress(address);
    const quotaBytes = opts.quota ? parseSize(opts.quota) : null;
    const password = await passwordFrom(opts);
    await withStore(
      opts,
      async ({ store, auth }) => {
        const domain = domainOf(addr);
        if (await store.domains.add(domain)) out(`added local domain ${domain}`);
        try {
          await store.accounts.create({ address: addr, ...(await auth.passwordFields(password)), quotaBytes });
        } catch (err) {
          if (err instanceof StoreConflictError)
            throw new CliError(`user ${addr} already exists (use "postbode user passwd" to change the password)`);
          throw err;
        }
        out(`added user ${addr}`);
      },
      'create',
    );
  });
  withConfigOptions(
    user
      .command('del <address>')
      .alias('delete')
      .description('delete an account and all its mail (asks first)')
      .option('-y, --yes', 'do not ask'),
  ).action(async (address: string, opts: GlobalOptions & YesOption) => {
    const addr = address.trim().toLowerCase();
    await withStore(
      opts,
      async ({ store }) => {
        const account = await store.accounts.get(addr);
        if (!account) throw new CliError(`no user ${address}`);
        const n = plural(await messageCount(store, account.id), 'message');
        await confirmDeletion(`Delete user ${addr} and all its mail (${n})?`, `user ${addr} (${n})`, opts);
        if (!(await store.accounts.delete(addr))) throw new CliError(`no user ${address}`);
        out(`deleted user ${addr}`);
      },
      'write',
    );
  });
  withConfigOptions(
    user.command('list').description('list accounts with their storage: used / limit (own quota or the default)'),
  ).action(async (opts: GlobalOptions) => {
    await withStore(opts, async ({ store }) => {
      const accounts = await store.accounts.list();
      if (accounts.length === 0) out('no users yet; add one with: postbode user add you@example.org');
      for (const a of accounts) {
        out(
          `${a.address}  ${formatUsage(await store.accounts.usage(a.id), a.quotaBytes, quotaLimit(store, a))}${a.disabled ? ' (disabled)' : ''}`,
        );
      }
    });
  });
  withConfigOptions(
    user
      .command('passwd <address>')
      .description('change the password of an account')
      .option('-p, --password <password>', 'the new password (prompted for when not given)'),
  ).action(async (address: string, opts: GlobalOptions & { password?: string }) => {
    const password = await passwordFrom(opts);
    await withStore(
      opts,
      async ({ store, auth }) => {
        if (!(await store.accounts.update(address.toLowerCase(), await auth.passwordFields(password)))) {
          throw new CliError(`no user ${address}`);
        }
        out(`password changed for ${address.toLowerCase()}`);
      },
      'write',
    );
  });
  withConfigOptions(
    user.command('quota <address> <size>').description('set the storage quota of an account (e.g. 1G, or "none")'),
  ).action(async (address: string, size: string, opts: GlobalOptions) => {
    const quotaBytes = parseSize(size);
    await withStore(
      opts,
      async ({ store }) => {
        if (!(await store.accounts.update(address.toLowerCase(), { quotaBytes })))
          throw new CliError(`no user ${address}`);
        // "none" removes the account's own quota: then store.default_quota applies, when set.
        const fallback = store.defaultQuotaBytes ? `the default quota (${store.defaultQuotaBytes} bytes)` : 'unlimited';
        out(`quota of ${address.toLowerCase()} is now ${quotaBytes === null ? fallback : `${quotaBytes} bytes`}`);
      },
      'write',
    );
  });

  registerWebAdminCommands(program, out);

  const domain = program.command('domain').description('manage the local mail domains');
  withConfigOptions(domain.command('add <domain>').description('accept mail for a domain')).action(
    async (name: string, opts: GlobalOptions) => {
      const d = checkDomain(name);
      await withStore(
        opts,
        async ({ store }) => {
          out((await store.domains.add(d)) ? `added domain ${d}` : `domain ${d} is already local`);
        },
        'create',
      );
    },
  );
  withConfigOptions(
    domain
      .command('del <domain>')
      .alias('delete')
      .description('stop accepting mail for a domain')
      .option('--force', 'also when accounts of the domain remain (they keep working but get no mail)')
      .option('-y, --yes', 'do not ask'),
  ).action(async (name: string, opts: GlobalOptions & YesOption & { force?: boolean }) => {
    await withStore(
      opts,
      async ({ store }) => {
        const d = name.trim().toLowerCase();
        const left = (await store.accounts.list()).filter((a) => domainOf(a.address) === d).length;
        if (left > 0 && (await store.domains.has(d)) && !opts.force) {
          throw new CliError(
            `${d} still has ${left} account${left === 1 ? '' : 's'}; delete ${left === 1 ? 'it' : 'them'} first ` +
              `(postbode user del ADDRESS), or add --force to stop accepting mail for ${d} anyway`,
          );
        }
        if (!(await store.domains.has(d))) throw new CliError(`${name} is not a local domain`);
        const kept = left > 0 ? ` (its ${plural(left, 'account')} keep their mail)` : '';
        await confirmDeletion(`Delete domain ${d}? Mail to it will be refused${kept}.`, `domain ${d}`, opts);
        if (!(await store.domains.remove(d))) throw new CliError(`${name} is not a local domain`);
        out(`deleted domain ${d}`);
      },
      'write',
    );
  });
  withConfigOptions(domain.command('list').description('list local domains')).action(async (opts: GlobalOptions) => {
    await withStore(opts, async ({ store }) => {
      const domains = await store.domains.list();
      if (domains.length === 0) out('no domains yet; add one with: postbode domain add example.org');
      for (const d of domains) out(d);
    });
  });

  const alias = program.command('alias').description('manage aliases (one address delivered to others)');
  withConfigOptions(
    alias
      .command('add <alias> <targets...>')
      .description(
        'deliver mail for ALIAS (in a local domain) to each TARGET, added to its targets; "@domain" as ALIAS catches all unknown addresses of the domain',
      )
      .option('--replace', 'replace the targets of an existing alias instead of adding to them'),
  ).action(async (name: string, targets: string[], opts: GlobalOptions & { replace?: boolean }) => {
    const key = name.startsWith('@') ? `@${checkDomain(name.slice(1))}` : checkAddress(name);
    const list = targets.map(checkAddress);
    await withStore(
      opts,
      async ({ store }) => {
        let plan: Awaited<ReturnType<typeof planAlias>>;
        try {
          plan = await planAlias(store, {
            key,
            targets: list,
            replace: opts.replace === true,
            howToAddDomain: (d) => `postbode domain add ${d}`,
          });
        } catch (err) {
          if (err instanceof AliasRuleError) throw new CliError(err.message);
          throw err;
        }
        await store.aliases.set(key, plan.targets);
        if (plan.previous && opts.replace) out(`replaced ${plan.previous.join(', ')}`);
        out(`alias ${key} -> ${plan.targets.join(', ')}`);
        for (const t of plan.remote) out(`note: ${t} is not in a local domain: mail for ${key} is sent on to it`);
      },
      'write',
    );
  });
  withConfigOptions(
    alias
      .command('del <alias>')
      .alias('delete')
      .description('delete an alias (asks first)')
      .option('-y, --yes', 'do not ask'),
  ).action(async (name: string, opts: GlobalOptions & YesOption) => {
    const key = name.trim().toLowerCase();
    await withStore(
      opts,
      async ({ store }) => {
        const targets = await store.aliases.get(key);
        if (!targets) throw new CliError(`no alias ${name}`);
        await confirmDeletion(`Delete alias ${key} -> ${targets.join(', ')}?`, `alias ${key}`, opts);
        if (!(await store.aliases.remove(key))) throw new CliError(`no alias ${name}`);
        out(`deleted alias ${key}`);
      },
      'write',
    );
  });
  withConfigOptions(alias.command('list').description('list aliases')).action(async (opts: GlobalOptions) => {
    await withStore(opts, async ({ store }) => {
      const aliases = await store.aliases.list();
      if (aliases.length === 0) out('no aliases');
      for (const a of aliases) out(`${a.alias} -> ${a.targets.join(', ')}`);
    });
  });

  const queue = program.command('queue').description('inspect the outbound queue');
  withConfigOptions(queue.command('list').description('list queued messages')).action(async (opts: GlobalOptions) => {
    await withStore(opts, async ({ store }) => {
      const entries = await store.queue.list();
      if (entries.length === 0) out('the queue is empty');
      for (const e of entries) {
        const rcpts = e.recipients.map((r) => `${r.address}${r.state === 'pending' ? '' : ` (${r.state})`}`).join(', ');
        out(
          `${e.id}  ${e.createdAt.toISOString()}  ${e.size} bytes  from <${e.envelopeFrom}>  to ${rcpts}  attempts ${e.attempts}` +
            `  next ${e.nextAttemptAt.toISOString()}${e.lastError ? `  last error: ${e.lastError}` : ''}`,
        );
      }
    });
  });
  withConfigOptions(queue.command('show <id>').description('show one queued message in detail')).action(
    async (id: string, opts: GlobalOptions) => {
      await withStore(opts, async ({ store }) => {
        const e = await store.queue.get(Number(id));
        if (!e) throw new CliError(`no queue entry ${id}`);
        out(`queue entry ${e.id}`);
        out(`  from        <${e.envelopeFrom}>`);
        out(`  size        ${e.size} bytes`);
        out(`  queued      ${e.createdAt.toISOString()}`);
        out(`  attempts    ${e.attempts}`);
        out(`  next        ${e.nextAttemptAt.toISOString()}`);
        if (e.dsnRet || e.dsnEnvid) out(`  dsn         ret ${e.dsnRet ?? '-'} envid ${e.dsnEnvid ?? '-'}`);
        if (e.lastError) out(`  last error  ${e.lastError}`);
        out('  recipients');
        for (const r of e.recipients) {
          const notify = r.notify ? `  notify ${r.notify.join(',')}` : '';
          out(`    ${r.address}  ${r.state}${notify}${r.lastError ? `  last error: ${r.lastError}` : ''}`);
        }
      });
    },
  );
  withConfigOptions(
    queue.command('retry <id>').description('make a queued message due now (the server sends it on its next scan)'),
  ).action(async (id: string, opts: GlobalOptions) => {
    await withStore(
      opts,
      async ({ store }) => {
        if (!(await store.queue.retry(Number(id)))) throw new CliError(`no queue entry ${id}`);
        out(`queue entry ${id} is due now`);
      },
      'write',
    );
  });
  withConfigOptions(queue.command('flush').description('make every queued message due now')).action(
    async (opts: GlobalOptions) => {
      await withStore(
        opts,
        async ({ store }) => {
          let n = 0;
          for (const e of await store.queue.list()) if (await store.queue.retry(e.id)) n++;
          out(`${n} queued message${n === 1 ? ' is' : 's are'} due now`);
        },
        'write',
      );
    },
  );
  withConfigOptions(
    queue
      .command('delete <id>')
      .description('remove a message from the queue (asks first)')
      .option('-y, --yes', 'do not ask'),
  ).action(async (id: string, opts: GlobalOptions & YesOption) => {
    await withStore(
      opts,
      async ({ store }) => {
        const e = await store.queue.get(Number(id));
        if (!e) throw new CliError(`no queue entry ${id}`);
        const to = plural(e.recipients.length, 'recipient');
        await confirmDeletion(
          `Delete queued message ${id} from <${e.envelopeFrom}> to ${to} (it will not be sent)?`,
          `queue entry ${id}`,
          opts,
        );
        if (!(await store.queue.delete(Number(id)))) throw new CliError(`no queue entry ${id}`);
        out(`deleted queue entry ${id}`);
      },
      'write',
    );
  });

  const dkim = program.command('dkim').description('manage DKIM signing keys for outbound mail');
  withConfigOptions(
    dkim
      .command('keygen <domain>')
      .description('create a DKIM key for a domain and print the DNS TXT record to publish')
      .option('-s, --selector <selector>', 'the key selector (the s= tag)', 'postbode')
      .option('-a, --algorithm <algorithm>', 'rsa (2048 bits) or ed25519 (RFC 8463)', 'rsa')
      .option('--standby', 'do not sign with it yet: publish its record, then switch with "postbode dkim use"'),
  ).action(async (domain: string, opts: GlobalOptions & { selector: string; algorithm: string; standby?: boolean }) => {
    const algorithm = opts.algorithm;
    if (algorithm !== 'rsa' && algorithm !== 'ed25519') {
      throw new CliError(`unknown algorithm "${algorithm}": use rsa (the default) or ed25519`);
    }
    await withStore(
      opts,
      async ({ store, dataDir, config }) => {
        let key: ReturnType<DkimKeyStore['generate']>;
        try {
          key = new DkimKeyStore(dataDir).generate(domain.trim(), opts.selector, algorithm, { standby: opts.standby });
        } catch (err) {
          if (err instanceof DkimError) throw new CliError(err.message);
          throw err;
        }
        out(`created ${key.algorithm} key ${key.file}`);
        if (!(await store.domains.has(key.domain))) {
          out(`note: ${key.domain} is not a local domain; mail is signed only for local domains`);
        }
        if (opts.standby) {
          out('publish this DNS record next to the current one; once it resolves (postbode dns check), switch with:');
          out(`  postbode dkim use ${key.domain} ${key.selector}`);
        } else {
          out('publish this DNS record (outbound mail from the domain is signed from now on):');
        }
        out(dnsRecord(key));
        await recordSharedDkim(store, config, dataDir, out);
      },
      'write',
    );
  });
  registerDkimRotation(dkim, out);
  withConfigOptions(
    dkim
      .command('list')
      .description('list DKIM keys and their DNS records')
      .option('-r, --records', 'also print each DNS TXT value'),
  ).action(async (opts: GlobalOptions & { records?: boolean }) => {
    await withStore(opts, async ({ dataDir }) => {
      const store = new DkimKeyStore(dataDir);
      const keys = store.list();
      if (keys.length === 0) out('no DKIM keys (create one with `postbode dkim keygen DOMAIN`)');
      for (const k of keys) {
        const role = store.get(k.domain)?.file === k.file ? 'signs' : 'standby';
        out(
          `${k.domain}  selector ${k.selector}  ${k.algorithm}  ${k.selector}._domainkey.${k.domain}  ${k.file}  (${role})`,
        );
        if (opts.records) out(`  ${dnsRecordValue(k.privateKey)}`);
      }
    });
  });
}

/** Admin names: lower-case letters, digits, `.`, `_`, `-`; never an `@`, so they cannot be mail addresses. */
export const ADMIN_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

function checkAdminName(name: string): string {
  const n = name.trim().toLowerCase();
  if (!ADMIN_NAME.test(n)) {
    throw new CliError(
      `"${name}" is not a valid admin name: use up to 64 letters, digits, ".", "_" or "-" (no @; mail users log in with their address instead)`,
    );
  }
  return n;
}

/** `postbode admin add|del|list|passwd`: accounts for the web lab and admin UI (not mail accounts). */
function registerWebAdminCommands(program: Command, out: Out): void {
  const admin = program
    .command('admin')
    .description('manage admin accounts of the web lab (http listener); mail users log in with their address');
  const newPassword = async (opts: { password?: string; generate?: boolean }) => {
    if (opts.generate) return { password: generatePassword(), generated: true };
    return { password: await passwordFrom(opts), generated: false };
  };
  withConfigOptions(
    admin
      .command('add <name>')
      .description('create an admin account for the web lab')
      .option('-p, --password <password>', 'the password (prompted for when not given)')
      .option('-g, --generate', 'make up a password and print it'),
  ).action(async (name: string, opts: GlobalOptions & { password?: string; generate?: boolean }) => {
    const n = checkAdminName(name);
    const { password, generated } = await newPassword(opts);
    await withStore(
      opts,
      async ({ store, config, dataDir }) => {
        try {
          await store.admins.create({ name: n, passwordHash: await hashPassword(password, config.auth.scrypt_log_n) });
        } catch (err) {
          if (err instanceof StoreConflictError)
            throw new CliError(`admin ${n} already exists (use "postbode admin passwd ${n}" to change the password)`);
          throw err;
        }
        out(`added admin ${n}${generated ? ` with password ${password}` : ''}`);
        const url = await webUrl(config, dataDir);
        if (url === null) {
          out(
            'note: the web listener is off; turn it on with --listen http=127.0.0.1:8080 (or listen.http in the config)',
          );
        } else {
          out(`log in at ${url}`);
        }
      },
      'create',
    );
  });
  withConfigOptions(
    admin
      .command('del <name>')
      .alias('delete')
      .description('delete an admin account (asks first)')
      .option('-y, --yes', 'do not ask'),
  ).action(async (name: string, opts: GlobalOptions & YesOption) => {
    const n = name.trim().toLowerCase();
    await withStore(
      opts,
      async ({ store }) => {
        if (!(await store.admins.get(n))) throw new CliError(`no admin ${n} (see "postbode admin list")`);
        await confirmDeletion(`Delete admin ${n}?`, `admin ${n}`, opts);
        if (!(await store.admins.delete(n))) throw new CliError(`no admin ${n} (see "postbode admin list")`);
        out(`deleted admin ${n}`);
      },
      'write',
    );
  });
  withConfigOptions(admin.command('list').description('list admin accounts')).action(async (opts: GlobalOptions) => {
    await withStore(opts, async ({ store }) => {
      const admins = await store.admins.list();
      if (admins.length === 0) out('no admins yet; add one with: postbode admin add teacher');
      for (const a of admins) out(`${a.name}  created ${a.createdAt.toISOString()}`);
    });
  });
  withConfigOptions(
    admin
      .command('passwd <name>')
      .description('change the password of an admin account')
      .option('-p, --password <password>', 'the new password (prompted for when not given)')
      .option('-g, --generate', 'make up a password and print it'),
  ).action(async (name: string, opts: GlobalOptions & { password?: string; generate?: boolean }) => {
    const n = name.trim().toLowerCase();
    const { password, generated } = await newPassword(opts);
    await withStore(
      opts,
      async ({ store, config }) => {
        if (!(await store.admins.setPassword(n, await hashPassword(password, config.auth.scrypt_log_n)))) {
          throw new CliError(`no admin ${n} (see "postbode admin list")`);
        }
        out(`password changed for admin ${n}${generated ? `: ${password}` : ''}`);
      },
      'write',
    );
  });
}

/**
 * Where the web lab answers: the http listener of the server running on `dataDir` (its real port, from
 * the control socket), else `listen.http` of the configuration; a wildcard host becomes `localhost`.
 * Null when the listener is off.
 */
async function webUrl(config: Config, dataDir: string): Promise<string | null> {
  const scheme = config.web.https ? 'https' : 'http';
  try {
    const [status] = (await controlRequest(path.join(dataDir, 'control.sock'), 'status')) as {
      listeners?: { name: string; host: string; port: number }[];
    }[];
    const http = status?.listeners?.find((l) => l.name === 'http');
    if (http) return `${scheme}://${urlHost(http.host)}:${http.port}/`;
  } catch {
    // no server running: the configuration says where it will listen
  }
  if (config.listen.http === 'off') return null;
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(config.listen.http);
  if (!m) return `${scheme}://${config.listen.http}/`;
  return `${scheme}://${urlHost(m[1] ?? m[2])}:${m[3]}/`;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}
