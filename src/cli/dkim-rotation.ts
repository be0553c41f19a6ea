/**
 * `postbode dkim use DOMAIN SELECTOR` and `postbode dkim del DOMAIN SELECTOR`: switching the signing key
 * of a domain and removing old keys (rotation with two selectors published during the switch; the key
 * store's rules are in delivery/dkim.ts, the procedure in docs/operations.md#dkim-signing).
 *
 * Invariants:
 * - Neither command opens or creates the database; both refuse a data dir that does not exist.
 * - `del` deletes only with `--yes`; it refuses the key that signs while the domain has another key.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { DkimError, DkimKeyStore } from '../delivery/dkim.js';
import { CliError, configFrom, type GlobalOptions, withConfigOptions } from './context.js';

type Out = (line: string) => void;

/** The key store of the data dir the options name; refuses a missing data dir. */
function keyStore(opts: GlobalOptions): DkimKeyStore {
  const dataDir = path.resolve(configFrom(opts).data_dir);
  if (!existsSync(dataDir)) {
    throw new CliError(
      `no data dir at ${dataDir}: give the server's data dir with --data-dir, or its config file with --config`,
    );
  }
  return new DkimKeyStore(dataDir);
}

function cliErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof DkimError) throw new CliError(err.message);
    throw err;
  }
}

export function registerDkimRotation(dkim: Command, out: Out): void {
  withConfigOptions(
    dkim
      .command('use <domain> <selector>')
      .description('sign the mail of a domain with this key from now on (its DNS record must be published)'),
  ).action((domain: string, selector: string, opts: GlobalOptions) => {
    const store = keyStore(opts);
    const { key, previous } = cliErrors(() => store.use(domain.trim(), selector));
    out(`${key.domain} is signed with selector ${key.selector} (${key.algorithm}) from now on`);
    out(
      `  its record ${key.selector}._domainkey.${key.domain} must resolve: check with postbode dns check ${key.domain}`,
    );
    if (previous) {
      out(
        `  keep the record of ${previous.selector} published for a few days (mail signed with it may still be checked), then: postbode dkim del ${key.domain} ${previous.selector} --yes`,
      );
    }
  });
  withConfigOptions(
    dkim
      .command('del <domain> <selector>')
      .description('delete a DKIM key (not the one that signs, while the domain has another)')
      .option('-y, --yes', 'really delete (the key cannot be recovered except from a backup)'),
  ).action((domain: string, selector: string, opts: GlobalOptions & { yes?: boolean }) => {
    const store = keyStore(opts);
    const d = domain.trim().toLowerCase();
    const key = store.get(d, selector.toLowerCase());
    if (!key) throw new CliError(`no DKIM key for ${d} with selector ${selector} (see postbode dkim list)`);
    if (!opts.yes) {
      throw new CliError(
        `this deletes the DKIM key ${key.file}; run again with --yes to confirm (postbode dkim del ${d} ${key.selector} --yes)`,
      );
    }
    const { wasSigning } = cliErrors(() => store.remove(d, key.selector));
    out(`deleted the DKIM key ${key.file}`);
    out(
      wasSigning
        ? `  mail from ${d} is no longer signed; remove the record ${key.selector}._domainkey.${d} from DNS`
        : `  remove the record ${key.selector}._domainkey.${d} from DNS`,
    );
  });
}
