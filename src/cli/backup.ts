/**
 * `postbode backup FILE` and `postbode restore FILE`: the whole state of a server in one ustar archive
 * (tar.ts), written while the server runs, and restored into a new data dir. The format is described in
 * docs/operations.md#backup-and-restore:
 *
 *   manifest.json   format, versions, creation time, counts, and the size + SHA-256 of every entry
 *   postbode.db     a consistent copy of the database (the store's online backup, store/open.ts)
 *   secret.key, dkim/..., tls/..., ...   every other regular file of the data dir, at its own path
 *
 * Invariants:
 * - Backup never creates nor migrates a database, and never overwrites FILE: it writes FILE.partial
 *   and renames it when complete and fsynced. Left out of the data dir: the database files themselves
 *   (the copy replaces them), `spool/` (bodies in flight), `reserve`, `control.sock`, and what is not a
 *   regular file or directory (listed as skipped).
 * - Restore refuses a data dir that is not empty (and says when a server runs on it), an archive whose
 *   manifest it does not know or whose schema is newer than this build, any entry not in the manifest
 *   or whose SHA-256 differs, and a database that fails `PRAGMA integrity_check` or whose counts differ
 *   from the manifest. It extracts into a staging dir next to the target and moves it into place only
 *   after every check passed; files get mode 0600, directories 0700.
 * - With a PostgreSQL `store.url` both commands refuse and point to pg_dump / pg_restore.
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { controlRequest } from '../server/control.js';
import { formatBytes } from '../server/disk.js';
import {
  inspectSnapshot,
  type SnapshotCounts,
  SQLITE_FILE_NAME,
  STORE_SCHEMA_VERSION,
  snapshotStore,
  storeLocation,
} from '../store/open.js';
import { VERSION } from '../version.js';
import { CliError, configFrom, type GlobalOptions, withConfigOptions } from './context.js';
import { checkEntryName, readTar, TarError, TarWriter } from './tar.js';

type Out = (line: string) => void;

export const MANIFEST_NAME = 'manifest.json';
/** The database's name inside the archive, whatever `store.url` names on either side. */
export const DATABASE_NAME = 'postbode.db';
const FORMAT = 'postbode-backup';
const FORMAT_VERSION = 1;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const entryName = z.string().refine((name) => {
  try {
    checkEntryName(name);
    return name !== MANIFEST_NAME && name !== DATABASE_NAME;
  } catch {
    return false;
  }
}, 'an unsafe or reserved name');

/** manifest.json, the first entry of every backup. */
const manifestSchema = z.object({
  format: z.literal(FORMAT),
  formatVersion: z.number().int(),
  createdAt: z.string(),
  postbodeVersion: z.string(),
  backend: z.literal('sqlite'),
  schemaVersion: z.number().int().nonnegative(),
  counts: z.object({
    domains: z.number().int(),
    accounts: z.number().int(),
    aliases: z.number().int(),
    mailboxes: z.number().int(),
    messages: z.number().int(),
    queue: z.number().int(),
  }),
  database: z.object({ size: z.number().int().nonnegative(), sha256 }),
  directories: z.array(entryName),
  files: z.array(z.object({ name: entryName, size: z.number().int().nonnegative(), sha256 })),
});

export type BackupManifest = z.infer<typeof manifestSchema>;

/** Top-level names of the data dir a backup leaves out (see the header). */
const TRANSIENT = new Set(['spool', 'reserve', 'control.sock']);

const POSTGRES = /^postgres(ql)?:/i;

export function registerBackupCommands(program: Command, out: Out): void {
  withConfigOptions(
    program
      .command('backup')
      .description('write the database (a consistent copy, also while the server runs) and the keys to a .tar file')
      .argument('<file>', 'the archive to create (it must not exist)'),
  ).action(async (file: string, opts: GlobalOptions) => {
    for (const line of await backup(file, opts)) out(line);
  });
  withConfigOptions(
    program
      .command('restore')
      .description('restore a backup made by "postbode backup" into a new, empty data dir')
      .argument('<file>', 'the archive written by "postbode backup"'),
  ).action(async (file: string, opts: GlobalOptions) => {
    for (const line of await restore(file, opts)) out(line);
  });
}

// ---------------------------------------------------------------------------------------------------
// backup

interface DataFile {
  name: string;
  path: string;
  size: number;
  mtime: number;
}

async function backup(fileArg: string, opts: GlobalOptions): Promise<string[]> {
  const config = configFrom(opts);
  const dataDir = path.resolve(config.data_dir);
  if (POSTGRES.test(config.store.url.trim())) {
    throw new CliError(
      'store.url names a PostgreSQL database: back it up with pg_dump (e.g. pg_dump -Fc -f postbode.dump DBNAME) and copy the data dir (DKIM keys, secret.key, tls/) with it; "postbode backup" copies only the embedded SQLite database',
    );
  }
  const location = storeLocation(config.store.url, dataDir);
  if (location.backend !== 'sqlite') throw new CliError('"postbode backup" copies only the embedded SQLite database');
  if (!existsSync(location.file)) {
    throw new CliError(
      `no database at ${location.file}: nothing to back up; give the server's data dir with --data-dir, or its config file with --config`,
    );
  }
  const target = path.resolve(fileArg);
  if (existsSync(target)) throw new CliError(`${target} exists already; remove it or choose another file name`);
  if (!existsSync(path.dirname(target))) throw new CliError(`the directory ${path.dirname(target)} does not exist`);
  try {
    accessSync(path.dirname(target), constants.W_OK);
  } catch {
    // Else SQLite's copy fails with a bare "unable to open database file".
    throw new CliError(
      `${userInfo().username} may not write in ${path.dirname(target)}: choose a directory this user may write (e.g. one it owns), or run the backup as a user who may write there and read the data dir`,
    );
  }
  const partial = `${target}.partial`;
  const snapshotFile = `${target}.db-partial`;
  for (const f of [partial, snapshotFile]) {
    if (existsSync(f)) throw new CliError(`${f} exists (left by an interrupted backup?); remove it first`);
  }

  let writer: TarWriter | null = null;
  try {
    const started = Date.now();
    const snapshot = await snapshotStore({ url: config.store.url, dataDir }, snapshotFile);
    const snapshotMs = Date.now() - started;
    const { directories, files, skipped } = listDataDir(
      dataDir,
      new Set([location.file, target, partial, snapshotFile]),
    );
    const dbSize = (await stat(snapshotFile)).size;
    const manifest: BackupManifest = {
      format: FORMAT,
      formatVersion: FORMAT_VERSION,
      createdAt: new Date(started).toISOString(),
      postbodeVersion: VERSION,
      backend: 'sqlite',
      schemaVersion: snapshot.schemaVersion,
      counts: snapshot.counts,
      database: { size: dbSize, sha256: await hashFile(snapshotFile) },
      directories,
      files: await Promise.all(
        files.map(async (f) => ({ name: f.name, size: f.size, sha256: await hashFile(f.path) })),
      ),
    };
    writer = await TarWriter.create(partial);
    await writer.addBuffer(MANIFEST_NAME, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
    await writer.addFile(DATABASE_NAME, snapshotFile, dbSize, started / 1000);
    for (const dir of directories) await writer.addDirectory(dir);
    for (const [i, f] of files.entries()) {
      const hash = await writer.addFile(f.name, f.path, f.size, f.mtime);
      if (hash !== manifest.files[i].sha256) {
        throw new CliError(`${f.path} changed while it was backed up; run the backup again`);
      }
    }
    await writer.finish();
    writer = null;
    await rename(partial, target);
    await unlink(snapshotFile);
    const size = (await stat(target)).size;
    const lines = [
      `wrote ${target} (${formatBytes(size)}): the database ${snapshot.source} (schema ${snapshot.schemaVersion}, copied in ${formatSeconds(snapshotMs)}) and ${files.length} ${files.length === 1 ? 'file' : 'files'} of ${dataDir}`,
      `  ${formatCounts(snapshot.counts)}`,
      `  files: ${files.length > 0 ? files.map((f) => f.name).join(', ') : 'none'}`,
    ];
    if (skipped.length > 0) lines.push(`  skipped (not regular files): ${skipped.join(', ')}`);
    lines.push(`restore it with: postbode restore ${fileArg} --data-dir NEW_DIR`);
    return lines;
  } catch (error) {
    await writer?.abort();
    await rm(partial, { force: true });
    await rm(snapshotFile, { force: true });
    throw error;
  }
}

/** The data dir's directories and regular files to archive, in a stable order (see the header). */
function listDataDir(
  dataDir: string,
  exclude: Set<string>,
): { directories: string[]; files: DataFile[]; skipped: string[] } {
  const directories: string[] = [];
  const files: DataFile[] = [];
  const skipped: string[] = [];
  const dbNames = new Set(['', '-wal', '-shm', '-journal'].map((suffix) => `${SQLITE_FILE_NAME}${suffix}`));
  const walk = (dir: string, rel: string) => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      const name = rel ? `${rel}/${entry.name}` : entry.name;
      const full = path.join(dir, entry.name);
      if (rel === '' && (TRANSIENT.has(entry.name) || dbNames.has(entry.name) || entry.name === MANIFEST_NAME))
        continue;
      if ([...exclude].some((e) => full === e || full === `${e}-wal` || full === `${e}-shm` || full === `${e}-journal`))
        continue;
      if (entry.isDirectory()) {
        directories.push(name);
        walk(full, name);
      } else if (entry.isFile()) {
        const s = statSync(full);
        files.push({ name, path: full, size: s.size, mtime: s.mtimeMs / 1000 });
      } else {
        skipped.push(name);
      }
    }
  };
  // With `store.url = sqlite:PATH` the data dir may not exist (yet): then there is nothing but the database.
  if (existsSync(dataDir)) walk(dataDir, '');
  return { directories, files, skipped };
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

// ---------------------------------------------------------------------------------------------------
// restore

async function restore(fileArg: string, opts: GlobalOptions): Promise<string[]> {
  const config = configFrom(opts);
  const dataDir = path.resolve(config.data_dir);
  if (POSTGRES.test(config.store.url.trim())) {
    throw new CliError(
      'store.url names a PostgreSQL database: restore it with pg_restore; "postbode restore" restores only the embedded SQLite database',
    );
  }
  const archive = path.resolve(fileArg);
  if (!existsSync(archive)) throw new CliError(`no backup at ${archive}`);
  const location = storeLocation(config.store.url, dataDir);
  if (location.backend !== 'sqlite')
    throw new CliError('"postbode restore" restores only the embedded SQLite database');
  await refuseOccupied(dataDir);
  if (existsSync(location.file)) {
    throw new CliError(`a database exists already at ${location.file} (store.url); restore into a new one`);
  }

  const parent = path.dirname(dataDir);
  await mkdir(parent, { recursive: true });
  const staging = path.join(parent, `.${path.basename(dataDir)}.restoring-${process.pid}`);
  await mkdir(staging, { mode: 0o700 });
  try {
    const manifest = await extract(archive, staging).catch((error: unknown) => {
      if (error instanceof TarError) throw new CliError(`${archive}: ${error.message}; nothing was restored`);
      throw error;
    });
    const stagedDb = path.join(staging, DATABASE_NAME);
    const check = inspectSnapshot(stagedDb);
    if (check.problems.length > 0) {
      throw new CliError(
        `the database in ${archive} is damaged (integrity check: ${check.problems.slice(0, 3).join('; ')}); nothing was restored`,
      );
    }
    if (check.schemaVersion !== manifest.schemaVersion) {
      throw new CliError(
        `the database in ${archive} has schema ${check.schemaVersion}, the manifest says ${manifest.schemaVersion}; nothing was restored`,
      );
    }
    const differing = (Object.keys(manifest.counts) as (keyof SnapshotCounts)[]).filter(
      (k) => manifest.counts[k] !== check.counts[k],
    );
    if (differing.length > 0) {
      throw new CliError(
        `the database in ${archive} does not hold what its manifest lists (${differing.map((k) => `${k}: ${check.counts[k]}, manifest ${manifest.counts[k]}`).join('; ')}); nothing was restored`,
      );
    }
    // Everything checked: move into place.
    if (location.file !== path.join(dataDir, SQLITE_FILE_NAME)) {
      await mkdir(path.dirname(location.file), { recursive: true, mode: 0o700 });
      await moveFile(stagedDb, location.file);
    }
    if (existsSync(dataDir)) {
      await refuseOccupied(dataDir);
      for (const name of await readdir(staging)) await rename(path.join(staging, name), path.join(dataDir, name));
      await rmdir(staging);
    } else {
      await rename(staging, dataDir);
    }
    await chmod(dataDir, 0o700);
    return [
      `restored ${archive} (made ${manifest.createdAt} by postbode ${manifest.postbodeVersion}) into ${dataDir}`,
      `  database ${location.file}: integrity ok, schema ${manifest.schemaVersion}${manifest.schemaVersion < STORE_SCHEMA_VERSION ? ` (upgraded to ${STORE_SCHEMA_VERSION} when the server starts)` : ''}`,
      `  ${formatCounts(check.counts)}`,
      `  files: ${manifest.files.length > 0 ? manifest.files.map((f) => f.name).join(', ') : 'none'}`,
      `start the server on it with: postbode serve --data-dir ${dataDir} (with the same hostname and domains as before)`,
    ];
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

/** Refuses a data dir with anything in it, saying when a server runs on it. */
async function refuseOccupied(dataDir: string): Promise<void> {
  if (!existsSync(dataDir)) return;
  const s = await stat(dataDir);
  if (!s.isDirectory()) throw new CliError(`${dataDir} is not a directory`);
  const entries = await readdir(dataDir);
  if (entries.length === 0) return;
  const socket = path.join(dataDir, 'control.sock');
  if (entries.includes('control.sock')) {
    const running = await controlRequest(socket, 'status').then(
      () => true,
      () => false,
    );
    if (running) {
      throw new CliError(
        `a postbode server is running on ${dataDir} (it answers on ${socket}): restore into a new, empty data dir with --data-dir NEW_DIR, then stop this server and start one on the new dir`,
      );
    }
  }
  throw new CliError(
    `${dataDir} is not empty: restore into a new or empty data dir with --data-dir NEW_DIR (to replace this one, stop its server and move ${dataDir} away first)`,
  );
}

/** Extracts the archive into `staging`, checking each entry against the manifest; returns the manifest. */
async function extract(archive: string, staging: string): Promise<BackupManifest> {
  let manifest: BackupManifest | null = null;
  const expected = new Map<string, { size: number; sha256: string }>();
  const directories = new Set<string>();
  const seen = new Set<string>();
  await readTar(archive, async (entry) => {
    if (manifest === null) {
      if (entry.name !== MANIFEST_NAME || entry.type !== 'file') {
        throw new CliError(`${archive} is not a postbode backup (it does not start with ${MANIFEST_NAME})`);
      }
      manifest = parseManifest(await entry.buffer(16 << 20), archive);
      expected.set(DATABASE_NAME, manifest.database);
      for (const f of manifest.files) expected.set(f.name, f);
      for (const d of manifest.directories) directories.add(d);
      return;
    }
    if (seen.has(entry.name)) throw new CliError(`${archive} holds ${entry.name} twice; nothing was restored`);
    seen.add(entry.name);
    const target = path.join(staging, ...entry.name.split('/'));
    if (entry.type === 'directory') {
      if (!directories.has(entry.name)) throw new CliError(`${archive}: ${entry.name} is not in the manifest`);
      await mkdir(target, { recursive: true, mode: 0o700 });
      return;
    }
    const want = expected.get(entry.name);
    if (!want) throw new CliError(`${archive}: ${entry.name} is not in the manifest; nothing was restored`);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    const hash = await entry.copyTo(target, 0o600);
    if (entry.size !== want.size || hash !== want.sha256) {
      throw new CliError(
        `${archive}: ${entry.name} differs from its checksum in the manifest (damaged); nothing was restored`,
      );
    }
  });
  if (manifest === null) throw new CliError(`${archive} is empty`);
  const missing = [...expected.keys(), ...directories].filter((name) => !seen.has(name));
  if (missing.length > 0) {
    throw new CliError(`${archive} is incomplete (missing ${missing.slice(0, 5).join(', ')}); nothing was restored`);
  }
  return manifest;
}

function parseManifest(data: Buffer, archive: string): BackupManifest {
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch {
    throw new CliError(`${archive}: ${MANIFEST_NAME} is not JSON`);
  }
  const head = json as { format?: unknown; formatVersion?: unknown; schemaVersion?: unknown };
  if (head?.format !== FORMAT) throw new CliError(`${archive} is not a postbode backup (manifest format)`);
  if (typeof head.formatVersion === 'number' && head.formatVersion > FORMAT_VERSION) {
    throw new CliError(
      `${archive} was written in backup format ${head.formatVersion}, newer than this postbode (${VERSION}) reads (${FORMAT_VERSION}); upgrade postbode to restore it`,
    );
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliError(`${archive}: ${MANIFEST_NAME} is invalid (${issue.path.join('.')}: ${issue.message})`);
  }
  if (parsed.data.schemaVersion > STORE_SCHEMA_VERSION) {
    throw new CliError(
      `${archive} holds a database of schema ${parsed.data.schemaVersion}, newer than this postbode (${VERSION}, schema ${STORE_SCHEMA_VERSION}); upgrade postbode to restore it`,
    );
  }
  return parsed.data;
}

async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(from, to);
    await chmod(to, 0o600);
    await unlink(from);
  }
}

function formatCounts(c: SnapshotCounts): string {
  return `${c.domains} domains, ${c.accounts} accounts, ${c.aliases} aliases, ${c.mailboxes} mailboxes, ${c.messages} messages, ${c.queue} queued`;
}

function formatSeconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
