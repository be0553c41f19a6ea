/**
 * What the body search index costs a delivery: `store.deliver` throughput in process, on a fresh SQLite
 * store, with the index off, in the background (the default: new messages pending, indexed later by the
 * server's indexer) and at write (indexed in the delivery's transaction), for large group commits and
 * for small ones (as concurrent SMTP sessions give), and the indexing itself in batches.
 *
 *   node --import tsx bench/search-index-cost.ts [--messages 10000] [--size 600]
 *
 * `--size` pads the body with English-like words to about that many bytes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseMessage } from '../src/mail/parse.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import type { JsonValue } from '../src/store/types.js';

const { values } = parseArgs({
  options: { messages: { type: 'string', default: '10000' }, size: { type: 'string', default: '600' } },
});
const N = Number(values.messages);
const SIZE = Number(values.size);
const WORDS = ['the', 'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog', 'report', 'meeting', 'attached'];

function message(i: number): Buffer {
  let body = `Hello, this is message ${i}.\r\nreference zq${String(i % 2000).padStart(4, '0')}z\r\n`;
  for (let k = i; body.length < SIZE; k = (k * 1103515245 + 12345) & 0x7fffffff) {
    body += WORDS[k % WORDS.length] + (k % 13 === 0 ? '\r\n' : ' ');
  }
  return Buffer.from(
    `From: User ${i % 100} <user@remote.test>\r\nTo: <alice@example.test>\r\nSubject: Report ${i}\r\n` +
      `Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <m${i}@bench.test>\r\n\r\n${body}\r\n`,
  );
}

const raws = Array.from({ length: N }, (_, i) => message(i));
const metas = raws.map((raw) => parseMessage(raw) as unknown as JsonValue);
console.log(`${N} messages of ~${Math.round(raws.reduce((s, r) => s + r.length, 0) / N)} bytes`);
for (const batch of [2000, 20]) {
  for (const searchIndex of ['off', 'background', 'write'] as const) {
    const dir = await mkdtemp(path.join(tmpdir(), 'postbode-index-cost-'));
    const store = await openSqliteStore({ path: path.join(dir, 'postbode.db'), searchIndex });
    try {
      const a = await store.accounts.create({ address: 'a@example.test', passwordHash: 'h' });
      let t = performance.now();
      for (let from = 0; from < N; from += batch) {
        const jobs: Promise<unknown>[] = [];
        for (let i = from; i < Math.min(N, from + batch); i++) {
          jobs.push(store.deliver({ raw: raws[i], meta: metas[i], local: [{ accountId: a.id, mailbox: 'INBOX' }] }));
        }
        await Promise.all(jobs);
      }
      let ms = performance.now() - t;
      let line = `deliver, ${String(batch).padStart(4)} per commit, index ${searchIndex.padEnd(10)} ${((N / ms) * 1000).toFixed(0).padStart(6)} msg/s`;
      if (searchIndex === 'background') {
        t = performance.now();
        while ((await store.searchIndex.indexPending(100)) > 0) {}
        ms = performance.now() - t;
        line += `; then indexed in batches of 100: ${((N / ms) * 1000).toFixed(0)} msg/s`;
      }
      console.log(line);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  }
}
