/**
 * SEARCH, SORT and THREAD latency on a large mailbox, in process: the real IMAP engine on a real
 * listener and SQLite store (test/harness/imap-harness.ts), a raw client, wall-clock time per command
 * including the round trip.
 *
 *   node --expose-gc --import tsx bench/imap-search.ts [--messages 100000]
 *
 * The mailbox is filled through `store.deliver` in parallel batches (one group commit each) with
 * small messages (~450 bytes): From `User NN` (NN = i % 100), a subject token `kwNNNN` (i % 1000),
 * \Seen on all but every 50th message, every 10th message a reply to message i - 1 (for THREAD).
 * "cold" is the first query in a session (digests read from the store), "warm" the repeat (digests
 * from the session's cache). BODY/TEXT go through the body search index where the store has one
 * (docs/store.md); the two-character and every-message needles show the cases it cannot narrow.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseMessage } from '../src/mail/parse.js';
import type { JsonValue } from '../src/store/types.js';
import { startImap } from '../test/harness/imap-harness.js';

const { values } = parseArgs({
  options: { messages: { type: 'string', default: '100000' } },
});
const N = Number(values.messages);
const BASE = Date.UTC(2024, 0, 1);
const pad = (n: number, w: number) => String(n).padStart(w, '0');

function message(i: number): { raw: Buffer; flags: string[]; date: Date } {
  const nn = pad(i % 100, 2);
  const date = new Date(BASE + i * 60_000);
  const reply = i % 10 === 9;
  const raw =
    `From: User ${nn} <user${nn}@remote.test>\r\n` +
    'To: <alice@example.test>\r\n' +
    `Subject: ${reply ? 'Re: ' : ''}Report ${reply ? i - 1 : i} kw${pad(i % 1000, 4)}\r\n` +
    `Date: ${date.toUTCString().replace('GMT', '+0000')}\r\n` +
    `Message-ID: <m${i}@bench.test>\r\n` +
    (reply ? `In-Reply-To: <m${i - 1}@bench.test>\r\nReferences: <m${i - 1}@bench.test>\r\n` : '') +
    '\r\n' +
    `Hello, this is message ${i}.\r\nreference zq${pad(i % 2000, 4)}z\r\n`;
  return { raw: Buffer.from(raw, 'latin1'), flags: i % 50 === 0 ? [] : ['\\Seen'], date };
}

const h = await startImap();
try {
  const accountId = await h.account('alice@example.test', 'pw');
  let t = performance.now();
  const batch = 2000;
  for (let from = 0; from < N; from += batch) {
    const jobs: Promise<unknown>[] = [];
    for (let i = from; i < Math.min(N, from + batch); i++) {
      const { raw, flags, date } = message(i);
      jobs.push(
        h.store.deliver({
          raw,
          meta: parseMessage(raw) as unknown as JsonValue,
          internalDate: date,
          local: [{ accountId, mailbox: 'INBOX', flags }],
        }),
      );
    }
    await Promise.all(jobs);
  }
  console.log(`filled ${N} messages in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  // Delivery leaves new messages to the background indexer (docs/store.md "Body search index"); the
  // bench indexes them at once, as the server's indexer or `postbode reindex` would, and times it.
  const dbBytes = () =>
    ['postbode.db', 'postbode.db-wal']
      .map((f) => path.join(h.dataDir, f))
      .filter((f) => existsSync(f))
      .reduce((sum, f) => sum + statSync(f).size, 0);
  const sizeBefore = dbBytes();
  t = performance.now();
  let indexed = 0;
  for (let n = await h.store.searchIndex.indexPending(500); n > 0; n = await h.store.searchIndex.indexPending(500)) {
    indexed += n;
  }
  const secs = (performance.now() - t) / 1000;
  if (indexed > 0) {
    console.log(
      `indexed ${indexed} messages in ${secs.toFixed(1)} s (${(indexed / secs).toFixed(0)}/s); database ${(sizeBefore / 1e6).toFixed(0)} -> ${(dbBytes() / 1e6).toFixed(0)} MB`,
    );
  }

  const c = await h.connect();
  const timed = async (label: string, command: string): Promise<void> => {
    const start = performance.now();
    const r = await c.cmd(command, 600_000);
    const ms = performance.now() - start;
    if (r.status !== 'OK') throw new Error(`${command}: ${r.tagged}`);
    const data = r.untagged.find((l) => /^\* (SEARCH|ESEARCH|SORT|THREAD)/.test(l));
    const count =
      data === undefined
        ? ''
        : data.startsWith('* THREAD')
          ? `${data.split(')(').length} threads`
          : `${/COUNT (\d+)/.exec(data)?.[1] ?? data.split(' ').length - 2} results`;
    console.log(`${label.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms   ${count}`);
  };
  /** The median of `runs` runs of a command (after one untimed run), with the range. */
  const median = async (label: string, command: string, runs = 5): Promise<void> => {
    await c.cmd(command, 600_000);
    const times: number[] = [];
    let hits = '';
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      const r = await c.cmd(command, 600_000);
      times.push(performance.now() - start);
      if (r.status !== 'OK') throw new Error(`${command}: ${r.tagged}`);
      const data = r.untagged.find((l) => l.startsWith('* SEARCH')) ?? '';
      hits = `${data.split(' ').length - 2} results`;
    }
    times.sort((a, b) => a - b);
    const m = times[Math.floor(runs / 2)];
    const range = `${times[0].toFixed(1)}-${times[runs - 1].toFixed(1)}`;
    console.log(
      `${`${label} (median of ${runs})`.padEnd(44)} ${m.toFixed(1).padStart(8)} ms   ${hits}, range ${range} ms`,
    );
  };
  const heap = () => {
    globalThis.gc?.();
    return process.memoryUsage().heapUsed;
  };
  const heap0 = heap();
  await timed('SELECT INBOX', 'SELECT INBOX');
  await timed('SEARCH UNSEEN', 'SEARCH UNSEEN');
  await timed('SEARCH RETURN (COUNT) SEEN', 'SEARCH RETURN (COUNT) SEEN');
  await timed('SEARCH LARGER 400 SINCE 1-Feb-2024', 'SEARCH RETURN (COUNT) LARGER 400 SINCE 1-Feb-2024');
  await timed('UID SEARCH UID 5000:60000 FLAGGED', 'UID SEARCH UID 5000:60000 FLAGGED');
  await timed('SEARCH FROM "user07@" (cold)', 'SEARCH RETURN (COUNT) FROM "user07@"');
  await timed('SEARCH FROM "user07@" (warm)', 'SEARCH RETURN (COUNT) FROM "user07@"');
  await timed('SEARCH SUBJECT "kw0042" (warm)', 'SEARCH SUBJECT "kw0042"');
  await timed('SEARCH SENTSINCE 1-Mar-2024', 'SEARCH RETURN (COUNT) SENTSINCE 1-Mar-2024');
  await timed('SEARCH HEADER Message-ID "m4242@"', 'SEARCH HEADER Message-ID "m4242@"');
  await timed('SEARCH BODY "zq0042z" (1st)', 'SEARCH BODY "zq0042z"');
  await median('SEARCH BODY "zq0042z"', 'SEARCH BODY "zq0042z"');
  await median('SEARCH TEXT "zq0042z"', 'SEARCH TEXT "zq0042z"');
  await median('SEARCH BODY "message 4242."', 'SEARCH BODY "message 4242."');
  await median('SEARCH BODY "nowhere" (no hit)', 'SEARCH BODY "nowhere"');
  await median('SEARCH FROM "user07@" BODY "zq0042z"', 'SEARCH FROM "user07@" BODY "zq0042z"');
  await timed('SEARCH BODY "zq" (2 chars: read all)', 'SEARCH RETURN (COUNT) BODY "zq"');
  await timed('SEARCH BODY "hello" (every message)', 'SEARCH RETURN (COUNT) BODY "hello"');
  await timed('SORT (SUBJECT) UTF-8 ALL', 'SORT RETURN (COUNT) (SUBJECT) UTF-8 ALL');
  await timed('SORT (REVERSE DATE) UTF-8 ALL', 'SORT RETURN (COUNT) (REVERSE DATE) UTF-8 ALL');
  await timed('SORT (ARRIVAL) UTF-8 UNSEEN', 'SORT (ARRIVAL) UTF-8 UNSEEN');
  await timed('THREAD REFERENCES UTF-8 ALL (cold)', 'THREAD REFERENCES UTF-8 ALL');
  await timed('THREAD REFERENCES UTF-8 ALL (warm)', 'THREAD REFERENCES UTF-8 ALL');
  await timed('THREAD ORDEREDSUBJECT UTF-8 ALL', 'THREAD ORDEREDSUBJECT UTF-8 ALL');
  const d = await h.connect();
  t = performance.now();
  await d.cmd('SELECT INBOX');
  const start = performance.now();
  await d.cmd('SEARCH SUBJECT "kw0042"', 600_000);
  console.log(
    `${'SEARCH SUBJECT "kw0042" (cold, 2nd session)'.padEnd(44)} ${(performance.now() - start).toFixed(1).padStart(8)} ms`,
  );
  if (globalThis.gc) {
    console.log(
      `heap after the queries: +${((heap() - heap0) / 1048576).toFixed(0)} MiB (two sessions' digest caches)`,
    );
  }
} finally {
  await h.stop();
}
