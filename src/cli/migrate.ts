/**
 * `postbode migrate --from DATA_DIR --store URL`: copies an embedded SQLite store into an empty
 * PostgreSQL database (src/store/migrate.ts: everything in one transaction, counts checked), for moving
 * to several nodes (docs/operations.md "Several nodes"). Stop the server of DATA_DIR first.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { describeLocation, SQLITE_FILE_NAME, storeLocation } from '../store/open.js';
import { CliError, serverRunning } from './context.js';

type Out = (line: string) => void;

export function registerMigrateCommand(program: Command, out: Out): void {
  program
    .command('migrate')
    .description('copy the SQLite store of a data dir into an empty PostgreSQL database')
    .requiredOption('--from <dir>', 'the data dir (or the postbode.db file) to copy from; stop its server first')
    .requiredOption('--store <url>', 'the PostgreSQL database to copy into, postgresql://USER@HOST:PORT/DATABASE')
    .action(async (opts: { from: string; store: string }) => {
      const from = path.resolve(opts.from);
      const file = from.endsWith('.db') ? from : path.join(from, SQLITE_FILE_NAME);
      if (!existsSync(file))
        throw new CliError(`no postbode database at ${file}; give the data dir with --from DIR`, 2);
      const target = storeLocation(opts.store, from);
      if (target.backend !== 'postgresql') {
        throw new CliError(
          `--store must name a PostgreSQL database (postgresql://USER@HOST:PORT/DATABASE), not ${opts.store}`,
          2,
        );
      }
      if (!from.endsWith('.db') && (await serverRunning(from))) {
        throw new CliError(
          `a postbode server is running on ${from}: stop it first, or the copy misses what arrives meanwhile`,
        );
      }
      out(`copying ${file} into ${describeLocation(target)}`);
      // Loaded here only: the copy needs both store backends.
      const { MigrateError, migrateSqliteToPg } = await import('../store/migrate.js');
      try {
        const { target: counts } = await migrateSqliteToPg({
          from: file,
          to: target.url,
          progress: (l) => out(`  ${l}`),
        });
        out(
          `done: ${counts.accounts} accounts, ${counts.mailboxes} mailboxes, ${counts.messages} messages, ${counts.queue} queued; counts match the source`,
        );
        out(
          'next: start each node with --store (docs/operations.md "Several nodes"); the search index rebuilds in the background',
        );
      } catch (error) {
        if (error instanceof MigrateError) throw new CliError(error.message);
        throw error;
      }
    });
}
