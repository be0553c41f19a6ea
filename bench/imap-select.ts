/**
 * SELECT of a big mailbox, in process: the real IMAP engine on a real listener and SQLite store
 * (test/harness/imap-harness.ts), raw clients, wall-clock time per command including the round trip,
 * and the memory each extra session selecting the same mailbox costs (JavaScript heap plus array
 * buffers, after `gc()`).
 *
 *   node --expose-gc --import tsx bench/imap-select.ts [--messages 100000] [--sessions 10] [--runs 5]
 *
 * The mailbox is filled with `appendMany` (2,000 messages a transaction; one small message, \Seen on
 * all but every 50th). Figures: the first SELECT of the process (nothing cached), the median of
 * repeated SELECTs in one session, SELECT by a new session, SELECT after another session changed flags
 * and a delivery (the cached snapshot brought up to date; median), then FETCH 1:* (FLAGS), SEARCH UNSEEN,
 * UID SEARCH UNSEEN and UID SEARCH UID 5000:60000 FLAGGED (medians), then the memory per extra session.
 */
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { startImap } from '../test/harness/imap-harness.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    sessions: { type: 'string', default: '10' },
    runs: { type: 'string', default: '5' },
  },
});
const N = Number(values.messages);
const SESSIONS = Number(values.sessions);
const RUNS = Number(values.runs);

const gc: () => void =
  globalThis.gc ??
  (() => {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  })();
const memory = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x: number) => x.toFixed(1).padStart(8);
const line = (label: string, value: string, detail = '') => console.log(`${label.padEnd(40)} ${value}  ${detail}`);

const h = await startImap();
try {
  const accountId = await h.account('alice@example.test', 'pw');
  const inbox = await h.store.mailboxes.get(accountId, 'INBOX');
  if (!inbox) throw new Error('no INBOX');
  let t = performance.now();
  const raw = Buffer.from('From: <bob@example.test>\r\nSubject: hello\r\n\r\nHello.\r\n');
  for (let from = 0; from < N; from += 2000) {
    const batch = [];
    for (let i = from; i < Math.min(N, from + 2000); i++) {
      batch.push({ mailboxId: inbox.id, raw, meta: {}, flags: i % 50 === 0 ? [] : ['\\Seen'] });
    }
    await h.store.messages.appendMany(batch);
  }
  console.log(`# filled INBOX with ${N} messages in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const c = await h.connect();
  const timed = async (command: string, client = c) => {
    const start = performance.now();
    const r = await client.cmd(command, 600_000);
    if (r.status !== 'OK') throw new Error(`${command}: ${r.tagged}`);
    return { ms: performance.now() - start, r };
  };
  const medianOf = async (label: string, command: string) => {
    const times: number[] = [];
    let last = '';
    for (let i = 0; i < RUNS; i++) {
      const { ms: x, r } = await timed(command);
      times.push(x);
      last = `${r.untagged.length} untagged`;
    }
    line(
      label,
      `${ms(median(times))} ms`,
      `(median of ${RUNS}, range ${ms(Math.min(...times))}-${ms(Math.max(...times))}; ${last})`,
    );
  };

  const first = await timed('SELECT INBOX');
  line('SELECT, first of the process', `${ms(first.ms)} ms`, first.r.untagged.find((l) => l.endsWith('EXISTS')) ?? '');
  await medianOf('SELECT again, same session', 'SELECT INBOX');
  const other = await h.connect();
  const fresh = await timed('SELECT INBOX', other);
  line('SELECT by a new session', `${ms(fresh.ms)} ms`);
  const afterChange: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await timed(`STORE ${i * 100 + 1}:${i * 100 + 100} +FLAGS (\\Flagged)`, other);
    await h.deliver(accountId, 'From: <carol@example.test>\r\nSubject: new\r\n\r\nNew.\r\n');
    afterChange.push((await timed('SELECT INBOX')).ms);
  }
  line(
    'SELECT after 100 flag changes + 1 delivery',
    `${ms(median(afterChange))} ms`,
    `(median of ${RUNS}, range ${ms(Math.min(...afterChange))}-${ms(Math.max(...afterChange))})`,
  );
  await medianOf('FETCH 1:* (FLAGS)', 'FETCH 1:* (FLAGS)');
  await medianOf('SEARCH UNSEEN', 'SEARCH UNSEEN');
  await medianOf('UID SEARCH UNSEEN', 'UID SEARCH UNSEEN');
  await medianOf('UID SEARCH UID 5000:60000 FLAGGED', 'UID SEARCH UID 5000:60000 FLAGGED');

  const extra = [];
  for (let i = 0; i < SESSIONS; i++) extra.push(await h.connect());
  const base = memory();
  t = performance.now();
  for (const e of extra) await timed('SELECT INBOX', e);
  const selectAll = performance.now() - t;
  const per = (memory() - base) / SESSIONS;
  line(
    `memory per extra session (${SESSIONS})`,
    `${(per / 1024).toFixed(1).padStart(8)} KiB`,
    `(heap + array buffers after gc; their ${SESSIONS} SELECTs took ${selectAll.toFixed(0)} ms in all)`,
  );
} finally {
  await h.stop();
}
