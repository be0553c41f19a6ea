/**
 * `postbode dkim use DOMAIN SELECTOR` and `postbode dkim del DOMAIN SELECTOR`: switching the signing key
 * of a domain and removing old keys (rotation with two selectors published during the switch; the key
 * store's rules are in delivery/dkim.ts, the procedure in docs/operations.md#dkim-signing).
 *
 * Invariants:
 * - Neither command creates the database; both refuse a data dir that does not exist. With SQLite
 *   neither opens it; with a store of several nodes (PostgreSQL) both record the data dir's DKIM files
 *   in it afterwards, as `dkim keygen` does (server/node-keys.ts): the other nodes need a copy.
 * - `del` deletes only with `--yes`; it refuses the key that signs while the domain has another key.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config/schema.js';
import { DkimError, DkimKeyStore } from '../delivery/dkim.js';
import { nodeName } from '../server/auth-setup.js';
import { recordDkimKeys } from '../server/node-keys.js';
import { openStore, storeLocation } from '../store/open.js';
import type { Store } from '../store/types.js';
import { CliError, cliStoreOptions, configFrom, type GlobalOptions, withConfigOptions } from './context.js';

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

/**
 * After a change of the DKIM keys in `dataDir`: with a store of several nodes, records them as the keys
 * every node must hold and says to copy them (server/node-keys.ts); nothing with SQLite.
 */
export async function recordSharedDkim(store: Store, config: Config, dataDir: string, out: Out): Promise<void> {
  if (!store.nodeKeys) return;
  const dir = path.join(dataDir, 'dkim');
  if (await recordDkimKeys(store.nodeKeys, dataDir, `cli ${nodeName(config)}`)) {
    out(
      `recorded the DKIM keys of ${dir} in the database: copy that directory to the data dir of every other node (a node whose keys differ refuses to start; a running one signs with its own copy)`,
    );
  } else {
    out(`the first node started on this database records the DKIM keys of its data dir: start it on ${dataDir}`);
  }
}

/** `recordSharedDkim` for the commands that do not open the store otherwise (SQLite: nothing to do). */
async function recordIfShared(opts: GlobalOptions, out: Out): Promise<void> {
  const config = configFrom(opts);
  const dataDir = path.resolve(config.data_dir);
  if (storeLocation(config.store.url, dataDir).backend === 'sqlite') return;
  const store = await openStore(cliStoreOptions(config, dataDir));
  try {
    await recordSharedDkim(store, config, dataDir, out);
  } finally {
    await store.close();
  }
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
  ).action(async (domain: string, selector: string, opts: GlobalOptions) => {
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
    await recordIfShared(opts, out);
  });
  withConfigOptions(
    dkim
      .command('del <domain> <selector>')
      .description('delete a DKIM key (not the one that signs, while the domain has another)')
      .option('-y, --yes', 'really delete (the key cannot be recovered except from a backup)'),
  ).action(async (domain: string, selector: string, opts: GlobalOptions & { yes?: boolean }) => {
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
    await recordIfShared(opts, out);
  });
}
