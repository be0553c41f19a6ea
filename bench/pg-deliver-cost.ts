/**
 * What a delivery costs the PostgreSQL store alone (no SMTP, no web lab), in process:
 *
 *   node --import tsx bench/pg-deliver-cost.ts [--accounts 1] [--messages 1000] [--concurrency 20] [--url URL]
 *
 * Opens the store on a fresh schema of the database (default: the bench's postbode_bench on 127.0.0.1,
 * which must exist), makes the accounts (default quota 1 GiB, as the server), warms the pool, then
 * delivers `--messages` messages of 4 KB, `--concurrency` at a time, into the accounts in turn. Prints
 * deliveries/s, node-postgres queries per delivery (hints included), and the CPU per delivery of this
 * process and of the store's PostgreSQL backends (from /proc: the database must run on this machine).
 * The schema is dropped at the end.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openPgStore } from '../src/store/postgres/index.js';

const { values } = parseArgs({
  options: {
    accounts: { type: 'string', default: '1' },
    messages: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '20' },
    url: { type: 'string', default: 'postgresql://postgres@127.0.0.1:5432/postbode_bench' },
  },
});
const accounts = Number(values.accounts);
const total = Number(values.messages);
const concurrency = Number(values.concurrency);
const schema = `deliver_cost_${process.pid}`;
const node = `cost${process.pid}`;
const admin = new pg.Client({ connectionString: values.url });
await admin.connect();
await admin.query(`CREATE SCHEMA ${schema}`);
const store = await openPgStore({ url: `${values.url}?schema=${schema}`, node, defaultQuotaBytes: 1 << 30 });
try {
  const ids: number[] = [];
  for (let i = 0; i < accounts; i++) {
    ids.push((await store.accounts.create({ address: `cost${i}@example.org`, passwordHash: 'h' })).id);
  }
  /** CPU ms of the store's backends (utime + stime at 100 Hz). */
  const backendMs = async () => {
    const { rows } = await admin.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE application_name = $1',
      [`postbode ${node}`],
    );
    let ticks = 0;
    for (const { pid } of rows) {
      try {
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // a backend that ended meanwhile
      }
    }
    return ticks * 10;
  };
  const message = (k: number) => Buffer.from(`Subject: ${k}\r\n\r\n${'x'.repeat(4000)}\r\n`);
  await Promise.all(
    Array.from({ length: concurrency }, (_, j) =>
      store.deliver({ raw: message(-1 - j), meta: null, local: [{ accountId: ids[0], mailbox: 'INBOX' }] }),
    ),
  );
  let queries = 0;
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    queries++;
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const k = next++;
      await store.deliver({ raw: message(k), meta: null, local: [{ accountId: ids[k % accounts], mailbox: 'INBOX' }] });
    }
  };
  const b0 = await backendMs();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  await new Promise((resolve) => setTimeout(resolve, 50)); // the last hint
  const counted = queries;
  pg.Client.prototype.query = query;
  const b1 = await backendMs();
  console.log(
    `${total} deliveries into ${accounts} account(s), ${concurrency} at a time: ${(total / seconds).toFixed(0)}/s, ` +
      `${(counted / total).toFixed(2)} queries, node ${((cpu.user + cpu.system) / 1000 / total).toFixed(2)} ms, ` +
      `backends ${((b1 - b0) / total).toFixed(2)} ms per delivery`,
  );
} finally {
  await store.close();
  await admin.query(`DROP SCHEMA ${schema} CASCADE`);
  await admin.end();
}
