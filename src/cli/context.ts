/**
 * What every CLI command needs: the configuration (same rules as `serve`) and, for admin commands,
 * the store opened directly. The SQLite store is safe to open while the server runs (WAL mode), and
 * the server reads accounts, domains and aliases from it on every use, so changes take effect at once.
 *
 * Invariants (a CLI that cannot hurt, issue 11):
 * - The data dir comes from --data-dir, else $POSTBODE_DATA_DIR, else `data_dir` of the config file
 *   (--config, $POSTBODE_CONFIG or ./postbode.toml), else ./data; every store command names it on stderr.
 * - Only the commands that create something from nothing (`user add`, `domain add`, `admin add`) create
 *   a missing database, and say so; every other command refuses with a message naming the three ways
 *   to point at the right data dir. Nothing is created for a read.
 * - A command warns when no server answers on the data dir's control socket: a change made there is
 *   saved, but no running server sees it.
 */
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Command } from 'commander';
import type { AuthService } from '../auth/service.js';
import { type ConfigOverrides, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { authFromConfig } from '../server/server.js';
import { databaseFile, describeLocation, openStore, storeLocation } from '../store/open.js';
import type { Store } from '../store/types.js';

export interface GlobalOptions {
  config?: string;
  dataDir?: string;
}

/** Adds --config and --data-dir to a command. */
export function withConfigOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <path>', 'config file (default: $POSTBODE_CONFIG or ./postbode.toml)')
    .option('-d, --data-dir <dir>', 'data directory (default: $POSTBODE_DATA_DIR, data_dir of the config, ./data)');
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

/**
 * What a command does with the store: `read` (never creates anything), `write` (changes an existing
 * database) or `create` (may create the database: user add, domain add, admin add).
 */
export type StoreAccess = 'read' | 'write' | 'create';

/** Diagnostics of the CLI (which data dir, no server, new database) go to stderr: stdout stays for results. */
export type Note = (line: string) => void;
const stderrNote: Note = (line) => process.stderr.write(`${line}\n`);

export async function withStore<T>(
  opts: GlobalOptions,
  fn: (ctx: AdminContext) => Promise<T>,
  access: StoreAccess = 'read',
  note: Note = stderrNote,
): Promise<T> {
  const config = configFrom(opts);
  const dataDir = path.resolve(config.data_dir);
  const location = storeLocation(config.store.url, dataDir);
  const file = databaseFile(location);
  const isNew = file !== null && !existsSync(file);
  if (isNew && access !== 'create') throw new CliError(noDatabaseMessage(dataDir, file));
  note(`data dir ${dataDir} (database ${describeLocation(location)})`);
  const running = await serverRunning(dataDir);
  const store = await openStore({ url: config.store.url, dataDir, defaultQuotaBytes: config.store.default_quota });
  try {
    if (isNew) note(`created a new database in ${path.dirname(file)}`);
    for (const domain of config.domains) await store.domains.add(domain);
    const auth = authFromConfig(store, config, dataDir);
    const result = await fn({ config, store, auth, dataDir });
    if (!running) {
      note(
        access === 'read'
          ? `note: no server is running on ${dataDir}`
          : `warning: no server is running on ${dataDir}: the change is saved and the server will see it when started there`,
      );
    }
    return result;
  } finally {
    await store.close();
  }
}

/** The refusal of a command that needs a database where there is none. */
export function noDatabaseMessage(dataDir: string, file: string): string {
  return (
    `no database in ${dataDir} (${file} does not exist): this is not the data dir of your server. ` +
    "Give the server's data dir with --data-dir DIR or POSTBODE_DATA_DIR=DIR, or its config file with " +
    '--config FILE (or POSTBODE_CONFIG); "postbode user add", "domain add" and "admin add" create a new database'
  );
}

/** Whether a server answers on the control socket of `dataDir` (server/control.ts). */
export function serverRunning(dataDir: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(path.join(dataDir, 'control.sock'));
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
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
