/**
 * `postbode reindex`: indexes the pending messages for the body search index (IMAP SEARCH BODY/TEXT,
 * docs/store.md "Body search index") at once — those stored before the index existed, or not yet taken
 * by the server's background indexer, or with the server stopped; `--all` indexes every message again
 * (after an upgrade that changes what is indexed). Safe while the server runs: it works in batches, each
 * one short write transaction, and searches stay right throughout (a message not indexed yet is read).
 */
import type { Command } from 'commander';
import { CliError, type GlobalOptions, withConfigOptions, withStore } from './context.js';

type Out = (line: string) => void;

interface ReindexOptions extends GlobalOptions {
  all?: boolean;
  batch?: string;
}

export function registerReindexCommand(program: Command, out: Out): void {
  withConfigOptions(
    program
      .command('reindex')
      .description('build the body search index for stored messages (safe while the server runs)')
      .option('--all', 'index every stored message again, not only those missing from the index')
      .option('--batch <n>', 'messages per transaction', '500'),
  ).action(async (opts: ReindexOptions) => {
    const batch = Number(opts.batch);
    if (!Number.isInteger(batch) || batch < 1 || batch > 100_000) {
      throw new CliError(`--batch must be a whole number from 1 to 100000, not ${opts.batch}`, 2);
    }
    await withStore(opts, async ({ store }) => {
      const index = store.searchIndex;
      const before = await index.status();
      if (!before.available) {
        throw new CliError(
          'this store has no body search index (its SQLite lacks FTS5 with the trigram tokenizer); SEARCH reads messages instead',
        );
      }
      if (opts.all) await index.markAllPending();
      const { pending } = await index.status();
      out(`${before.indexed} messages indexed, ${pending} to index`);
      const started = Date.now();
      let done = 0;
      let lastReport = started;
      for (;;) {
        const n = await index.indexPending(batch);
        if (n === 0) break;
        done += n;
        if (Date.now() - lastReport >= 1000) {
          lastReport = Date.now();
          out(`  ${done} / ${pending} indexed`);
        }
      }
      const after = await index.status();
      const seconds = (Date.now() - started) / 1000;
      out(`indexed ${done} messages in ${seconds.toFixed(1)} s; ${after.indexed} in the index, ${after.pending} left`);
    });
  });
}
