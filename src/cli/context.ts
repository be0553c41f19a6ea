/**
 * What every CLI command needs: the configuration (same rules as `serve`) and, for admin commands,
 * the store opened directly. The SQLite store is safe to open while the server runs (WAL mode), and
 * the server reads accounts, domains and aliases from it on every use, so changes take effect at once.
 */
import path from 'node:path';
import type { Command } from 'commander';
import type { AuthService } from '../auth/service.js';
import { type ConfigOverrides, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { authFromConfig } from '../server/server.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/types.js';

export interface GlobalOptions {
  config?: string;
  dataDir?: string;
}

/** Adds --config and --data-dir to a command. */
export function withConfigOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <path>', 'config file (default: $POSTBODE_CONFIG or ./postbode.toml)')
    .option('-d, --data-dir <dir>', 'data directory (default: ./data)');
}

export function configFrom(opts: GlobalOptions & ConfigOverrides): Config {
  return loadConfig(opts).config;
}

export interface AdminContext {
  config: Config;
  store: Store;
  auth: AuthService;
  dataDir: string;
}

export async function withStore<T>(opts: GlobalOptions, fn: (ctx: AdminContext) => Promise<T>): Promise<T> {
  const config = configFrom(opts);
  const dataDir = path.resolve(config.data_dir);
  const store = await openStore({ url: config.store.url, dataDir, defaultQuotaBytes: config.store.default_quota });
  try {
    for (const domain of config.domains) await store.domains.add(domain);
    const auth = authFromConfig(store, config, dataDir);
    return await fn({ config, store, auth, dataDir });
  } finally {
    await store.close();
  }
}

/** A user-facing error: printed as one line without a stack trace, exit code 1. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
