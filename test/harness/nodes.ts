/**
 * Several `postbode serve` processes (nodes) on one PostgreSQL test schema, for tests of what crosses
 * nodes (test/multi-node-load.test.ts).
 *
 * - `startNodes(n)` writes one `secret.key` into the data dir of every node (the copies an operator
 *   makes, docs/operations.md "Several nodes") and starts them all at once: they race to create the
 *   schema and to record the key digests, which the store settles (one migrates under a lock, one
 *   records, the others compare); the accounts of `users` are added through the store API meanwhile
 *   (as `postbode user add --store` does). Node i is named `node-<letter>-<tag>` (a tag per set, so
 *   that sets of tests running at the same time never share an `application_name`) with the host
 *   name `<name>.example.test` (the EHLO name its outbound worker gives).
 * - `restart(i)` starts node i again on its data dir with its name and arguments (after `kill9()`).
 * - `sql()` queries the schema directly (lease owners, queue rows, pg_stat_activity).
 * - `stop()` stops every node still running, removes the data dirs and drops the schema.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PG_TEST_URL, type PgTestSchema, pgTestSchema } from './postgres.js';
import { type PostbodeProcess, startPostbode } from './server.js';

export interface NodeSetOptions {
  /** Label of the schema (and the data dirs). */
  label: string;
  /** Listeners of every node (default smtp, submission, pop3, imap). */
  listeners?: string[];
  /** Run the outbound queue worker on every node (default false). */
  outbound?: boolean;
  /** Accounts to add (password `pw`) while the nodes start. */
  users?: string[];
  /** Extra `serve` arguments of every node, or per node (index 0, 1, …). */
  extraArgs?: string[] | ((index: number) => string[]);
}

export interface NodeSet {
  schema: PgTestSchema;
  names: string[];
  /** The running processes, by index (replaced by `restart`). */
  nodes: PostbodeProcess[];
  /** The node whose EHLO name (host name) is `helo`, or -1. */
  indexOfHelo(helo: string): number;
  restart(index: number): Promise<PostbodeProcess>;
  sql<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]>;
  stop(): Promise<void>;
}

const DEFAULT_LISTENERS = ['smtp', 'submission', 'pop3', 'imap'];

export async function startNodes(n: number, opts: NodeSetOptions): Promise<NodeSet> {
  const schema = pgTestSchema(opts.label);
  const root = mkdtempSync(path.join(tmpdir(), `postbode-${opts.label}-`));
  const tag = schema.schema.slice(-4);
  const names = Array.from({ length: n }, (_, i) => `node-${String.fromCharCode(97 + i)}-${tag}`);
  const hostOf = (i: number) => `${names[i]}.example.test`;
  const dirOf = (i: number) => path.join(root, names[i]);
  const argsOf = (i: number) => [
    '--store',
    schema.url,
    '--node',
    names[i],
    ...(typeof opts.extraArgs === 'function' ? opts.extraArgs(i) : (opts.extraArgs ?? [])),
  ];
  const launch = (i: number) =>
    startPostbode({
      hostname: hostOf(i),
      listeners: opts.listeners ?? DEFAULT_LISTENERS,
      outbound: opts.outbound ?? false,
      dataDir: dirOf(i),
      extraArgs: argsOf(i),
    });

  const nodes: PostbodeProcess[] = [];
  let pool: pg.Pool | null = null;
  const set: NodeSet = {
    schema,
    names,
    nodes,
    indexOfHelo: (helo) => names.findIndex((_, i) => hostOf(i) === helo.toLowerCase()),
    async restart(index) {
      nodes[index] = await launch(index);
      return nodes[index];
    },
    async sql<R>(text: string, values?: unknown[]) {
      pool ??= new pg.Pool({ connectionString: PG_TEST_URL, max: 2, options: `-c search_path="${schema.schema}"` });
      return (await pool.query(text, values)).rows as R[];
    },
    async stop() {
      await Promise.all(nodes.map((p) => p.stop()));
      await pool?.end();
      rmSync(root, { recursive: true, force: true });
      await schema.drop();
    },
  };
  try {
    const secret = randomBytes(32).toString('hex');
    for (let i = 0; i < n; i++) {
      mkdirSync(dirOf(i), { mode: 0o700 });
      writeFileSync(path.join(dirOf(i), 'secret.key'), secret, { mode: 0o600 });
    }
    const users = addUsers(schema.url, path.join(root, 'setup'), opts.users ?? []);
    const started = await Promise.allSettled(names.map((_, i) => launch(i)));
    for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    await users;
  } catch (error) {
    await set.stop().catch(() => {});
    throw error;
  }
  return set;
}

/**
 * Adds accounts (password `pw`, a cheap hash as the harness's servers make) through the store API, as
 * `postbode user add --store` does, without the start of a CLI process per account.
 */
async function addUsers(url: string, dataDir: string, users: readonly string[]): Promise<void> {
  if (users.length === 0) return;
  const { openStore } = await import('../../src/store/open.js');
  const { hashPassword } = await import('../../src/auth/password.js');
  const store = await openStore({ url, dataDir, node: 'test-setup' });
  try {
    const passwordHash = await hashPassword('pw', 10);
    for (const address of users) {
      await store.domains.add(address.slice(address.lastIndexOf('@') + 1));
      await store.accounts.create({ address, passwordHash, apopSecret: null, quotaBytes: null });
    }
  } finally {
    await store.close();
  }
}
