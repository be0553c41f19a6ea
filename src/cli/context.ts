/**
 * What every CLI command needs: the configuration (same rules as `serve`) and, for admin commands,
 * the store opened directly. The SQLite store is safe to open while the server runs (WAL mode), and
 * the server reads accounts, domains and aliases from it on every use, so changes take effect at once.
 *
 * Invariants (a CLI that cannot hurt, issue 11):
 * - The data dir comes from --data-dir, else $POSTBODE_DATA_DIR, else `data_dir` of the config file
 *   (--config, $POSTBODE_CONFIG or ./postbode.toml), else ./data; every store command names it on stderr.
 *   The store is `--store URL`, else `store.url` of the config, else the data dir's SQLite database.
 * - Only the commands that create something from nothing (`user add`, `domain add`, `admin add`) create
 *   a missing database, and say so; every other command refuses with a message naming the three ways
 *   to point at the right data dir. Nothing is created for a read.
 * - A command warns when no server answers on the data dir's control socket: a change made there is
 *   saved, but no running server sees it.
 * - With a PostgreSQL store (several nodes) there is no database file: the command names the url (never
 *   its password), creates neither the data dir nor `secret.key`, and warns when no node of the database
 *   has a fresh heartbeat instead of asking a control socket. It seals APOP secrets only with the data
 *   dir's `secret.key` when that is the nodes' one (server/node-keys.ts), and refuses another.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Command } from 'commander';
import { SecretBox } from '../auth/secret.js';
import type { AuthService } from '../auth/service.js';
import { type ConfigOverrides, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { authFromConfig, nodeName } from '../server/auth-setup.js';
import { sharedSecretBox } from '../server/node-keys.js';
import { STALE_NODE_SECONDS } from '../server/status.js';
import { databaseFile, describeLocation, type OpenStoreOptions, openStore, storeLocation } from '../store/open.js';
import type { Store } from '../store/types.js';

export interface GlobalOptions {
  config?: string;
  dataDir?: string;
  /** `--store URL`: store.url. */
  store?: string;
  /** `--node NAME`: store.node. */
  node?: string;
}

/** Adds --config, --data-dir, --store and --node to a command. */
export function withConfigOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <path>', 'config file (default: $POSTBODE_CONFIG or ./postbode.toml)')
    .option('-d, --data-dir <dir>', 'data directory (default: $POSTBODE_DATA_DIR, data_dir of the config, ./data)')
    .option(
      '--store <url>',
      'the store: postgresql://USER@HOST:PORT/DB[?schema=NAME] (several nodes) or sqlite:PATH (default: store.url of the config, else postbode.db in the data dir)',
    )
    .option(
      '--node <name>',
      "this node's name in a PostgreSQL store (default: store.node of the config, the host name)",
    );
}

export function configFrom(opts: GlobalOptions & ConfigOverrides): Config {
  const { store, node, ...rest } = opts;
  return loadConfig({
    ...rest,
    ...(store !== undefined ? { storeUrl: store } : {}),
    ...(node !== undefined ? { node } : {}),
  }).config;
}

/** How the CLI opens the configured store (no node registration: the CLI is not a node). */
export function cliStoreOptions(config: Config, dataDir: string): OpenStoreOptions {
  return {
    url: config.store.url,
    dataDir,
    defaultQuotaBytes: config.store.default_quota,
    node: nodeName(config),
    poolSize: config.store.pool_size,
  };
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
  if (file !== null) note(`data dir ${dataDir} (database ${describeLocation(location)})`);
  else note(`database ${describeLocation(location)} (data dir ${dataDir})`);
  const running = file !== null ? await serverRunning(dataDir) : null;
  const store = await openStore(cliStoreOptions(config, dataDir));
  try {
    if (isNew) note(`created a new database in ${path.dirname(file)}`);
    for (const domain of config.domains) await store.domains.add(domain);
    const auth = await cliAuth(store, config, dataDir, access, note);
    const result = await fn({ config, store, auth, dataDir });
    if (running === false) {
      note(
        access === 'read'
          ? `note: no server is running on ${dataDir}`
          : `warning: no server is running on ${dataDir}: the change is saved and the server will see it when started there`,
      );
    } else if (running === null && !(await liveNode(store))) {
      const where = describeLocation(location);
      note(
        access === 'read'
          ? `note: no postbode node is running on ${where}`
          : `warning: no postbode node is running on ${where}: the change is saved and the nodes will see it when started`,
      );
    }
    return result;
  } finally {
    await store.close();
  }
}

/** Whether a node of a shared store has a fresh heartbeat (store without nodes: false). */
export async function liveNode(store: Store, now = Date.now()): Promise<boolean> {
  const nodes = (await store.nodes?.list()) ?? [];
  return nodes.some((n) => now - n.heartbeatAt.getTime() < STALE_NODE_SECONDS * 1000);
}

/**
 * The CLI's AuthService. With a shared store (nodeKeys) the APOP secrets are sealed with the data dir's
 * `secret.key` only when it is the nodes' one; without one, passwords set here get no APOP secret.
 */
async function cliAuth(
  store: Store,
  config: Config,
  dataDir: string,
  access: StoreAccess,
  note: Note,
): Promise<AuthService> {
  if (!store.nodeKeys) return authFromConfig(store, config, dataDir);
  const box = await sharedSecretBox(store.nodeKeys, dataDir);
  if (box) return authFromConfig(store, config, dataDir, undefined, box);
  if (config.pop3.apop && access !== 'read') {
    note(
      `note: no secret.key in ${dataDir}: a password set by this command works everywhere but APOP until it is set again on a node (or give a node's data dir with --data-dir)`,
    );
  }
  // No APOP secret is sealed; the key only derives SCRAM decoy salts, which the CLI never hands out.
  const apopOff = { ...config, pop3: { ...config.pop3, apop: false } };
  return authFromConfig(store, apopOff, dataDir, undefined, new SecretBox(randomBytes(32)));
}

/** The refusal of a command that needs a database where there is none. */
export function noDatabaseMessage(dataDir: string, file: string): string {
  return (
    `no database in ${dataDir} (${file} does not exist): no server has run there, and no account was added. ` +
    "If your server's data dir is elsewhere, give it with --data-dir DIR or POSTBODE_DATA_DIR=DIR, or its config " +
    'file with --config FILE (or POSTBODE_CONFIG); on a new install, "postbode user add", "domain add" and ' +
    '"admin add" create the database'
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
