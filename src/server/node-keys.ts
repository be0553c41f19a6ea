/**
 * The key files of several nodes over one store (PostgreSQL): every node's data dir holds a copy of the
 * same `secret.key` (which seals the APOP secrets and keys SCRAM's decoy salts) and the same `dkim/`
 * files (the signing keys and their `.active` pins). The database records their SHA-256 digests
 * (`Store.nodeKeys`), never the keys, so a dump of it still reveals no password; a node whose files
 * differ from the record refuses to start. See docs/operations.md, "Several nodes".
 *
 * Invariants:
 * - Compared: `secret.key` and every regular file directly in `dkim/` whose name ends in `.key` or
 *   `.active`, by the SHA-256 of their bytes, named relative to the data dir with `/`. Nothing else
 *   (`tls/`, the spool, the reserve) is shared: each node has its own certificate.
 * - At a node's start (`checkNodeKeys`), before anything reads a key: with nothing recorded, the node
 *   creates its `secret.key` when missing and records its files (the store makes sure only one of two
 *   first nodes does); otherwise a difference stops the start with a NodeKeysError naming each file and
 *   what to copy, and nothing is created (a missing `secret.key` is not generated).
 * - `dkim keygen|use|del` with such a store re-record the `dkim/` files of the data dir they changed
 *   (`recordDkimKeys`); `secret.key` is recorded by the first node only and replaced by no command.
 * - The CLI uses a data dir's `secret.key` only when it is the recorded one (or none is recorded), and
 *   never creates one (`sharedSecretBox`).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { SecretBox } from '../auth/secret.js';
import type { NodeKeyStore } from '../store/types.js';

export const SECRET_KEY_FILE = 'secret.key';
export const DKIM_PREFIX = 'dkim/';

/** This node's key files differ from those recorded in the shared store: it must not start. */
export class NodeKeysError extends Error {
  override name = 'NodeKeysError';
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The digests of the data dir's key files (see the header), by name. */
export function localKeyFiles(dataDir: string): Map<string, string> {
  const files = new Map<string, string>();
  const secret = path.join(dataDir, SECRET_KEY_FILE);
  if (existsSync(secret)) files.set(SECRET_KEY_FILE, sha256(secret));
  for (const [name, digest] of localDkimFiles(dataDir)) files.set(name, digest);
  return files;
}

function localDkimFiles(dataDir: string): Map<string, string> {
  const files = new Map<string, string>();
  const dir = path.join(dataDir, 'dkim');
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return files;
    throw err;
  }
  for (const name of names) {
    if (!/\.(key|active)$/.test(name)) continue;
    const file = path.join(dir, name);
    if (statSync(file).isFile()) files.set(`${DKIM_PREFIX}${name}`, sha256(file));
  }
  return files;
}

/** One line per file that differs between the record and this data dir; empty when they agree. */
export function keyDifferences(recorded: ReadonlyMap<string, string>, local: ReadonlyMap<string, string>): string[] {
  const lines: string[] = [];
  const names = [...new Set([...recorded.keys(), ...local.keys()])].sort();
  for (const name of names) {
    const want = recorded.get(name);
    const have = local.get(name);
    if (want === have) continue;
    if (have === undefined) lines.push(`${name} is missing here`);
    else if (want === undefined) lines.push(`${name} is here but not on the other nodes`);
    else lines.push(`${name} differs from the other nodes' copy`);
  }
  return lines;
}

/**
 * At a node's start (see the header): records this data dir's key files when nothing is recorded yet,
 * else refuses (NodeKeysError) when they differ. Returns what happened.
 */
export async function checkNodeKeys(keys: NodeKeyStore, dataDir: string, node: string): Promise<'recorded' | 'same'> {
  let recorded = await keys.list();
  if (recorded.size === 0) {
    SecretBox.open(dataDir); // the first node's key, created when missing
    const mine = localKeyFiles(dataDir);
    recorded = await keys.recordIfNone(mine, node);
    if (keyDifferences(recorded, mine).length === 0) return 'recorded';
  }
  const differences = keyDifferences(recorded, localKeyFiles(dataDir));
  if (differences.length === 0) return 'same';
  throw new NodeKeysError(
    `the key files in ${dataDir} are not those of the other nodes of this database: ${differences.join('; ')}. ` +
      `Every node needs a copy of the same ${SECRET_KEY_FILE} and dkim/ directory: copy them from a running node's data dir ` +
      '(docs/operations.md, "Several nodes")',
  );
}

/**
 * After `dkim keygen|use|del` in `dataDir`: records its `dkim/` files as the ones every node must hold.
 * False when nothing is recorded yet (the first node's start records them).
 */
export function recordDkimKeys(keys: NodeKeyStore, dataDir: string, by: string): Promise<boolean> {
  return keys.replace(DKIM_PREFIX, localDkimFiles(dataDir), by);
}

/**
 * The CLI's SecretBox on a shared store: the data dir's `secret.key` when it is the recorded one (or none
 * is recorded yet); null when the data dir has none. Never creates one. Throws NodeKeysError when the
 * data dir holds another key than the nodes.
 */
export async function sharedSecretBox(keys: NodeKeyStore, dataDir: string): Promise<SecretBox | null> {
  const file = path.join(dataDir, SECRET_KEY_FILE);
  if (!existsSync(file)) return null;
  const recorded = (await keys.list()).get(SECRET_KEY_FILE);
  if (recorded !== undefined && recorded !== sha256(file)) {
    throw new NodeKeysError(
      `${file} is not the ${SECRET_KEY_FILE} of the nodes of this database: give a node's data dir with --data-dir ` +
        '(docs/operations.md, "Several nodes")',
    );
  }
  return SecretBox.open(dataDir);
}
