/**
 * The outbound queue under `kill -9`: two postbode instances on loopback, A routing b.test to B's SMTP port.
 *
 * 1. B is down; A accepts a batch of messages and is killed right after the last `250` → A restarts, B comes
 *    up → every message arrives at B exactly once (the `250` promised durability; nothing was sent yet, so
 *    there is nothing to repeat).
 * 2. A is killed while it delivers a burst to B → after the restart nothing is lost. A message B accepted
 *    whose result A had not recorded yet is sent again (RFC 5321 §6.1: a duplicate rather than a loss). The
 *    test measures how many messages were in flight at the kill (at B and still queued on A) and asserts the
 *    duplicates are no more than that, and that in flight is bounded by the sessions A may have open.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { closedPort, eventually, subjectCounts, submitMessages } from './harness/mail-flow.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

const CONCURRENCY = 2;

describe('outbound queue durability under kill -9', () => {
  let bPort: number;
  let a: PostbodeProcess | undefined;
  let b: PostbodeProcess | undefined;
  let aDir: string | undefined;
  let bDir: string | undefined;

  async function startA(opts: { outbound?: boolean } = {}): Promise<PostbodeProcess> {
    a = await startPostbode({
      hostname: 'mx.a.test',
      domains: ['a.test'],
      listeners: ['submission'],
      outbound: opts.outbound ?? true,
      dataDir: aDir,
      extraArgs: [
        '--set',
        `delivery.transport={"b.test":"127.0.0.1:${bPort}"}`,
        '--set',
        `delivery.concurrency_per_destination=${CONCURRENCY}`,
        '--set',
        'delivery.retry_interval_scan=1',
      ],
    });
    if (!aDir) {
      aDir = a.dataDir;
      assert.equal(a.cli(['user', 'add', 'alice@a.test', '--password', 'secret']).code, 0);
    }
    return a;
  }

  async function startB(): Promise<PostbodeProcess> {
    b = await startPostbode({
      hostname: 'mx.b.test',
      domains: ['b.test'],
      listeners: ['smtp', 'pop3'],
      dataDir: bDir,
      extraArgs: ['--listen', `smtp=127.0.0.1:${bPort}`],
    });
    if (!bDir) {
      bDir = b.dataDir;
      assert.equal(b.cli(['user', 'add', 'bob@b.test', '--password', 'secret']).code, 0);
    }
    return b;
  }

  const queueLength = (p: PostbodeProcess) => {
    const out = p.cli(['status']).stdout;
    const m = /outbound queue: (\d+) message/.exec(out);
    return m ? Number(m[1]) : /outbound queue: empty/.test(out) ? 0 : Number.NaN;
  };

  /**
   * Sends one more message through A and waits until B has it: it takes the way a repeated message would
   * (A's queue, a scan, a session to B), so a copy sent again before the queue emptied arrived before it.
   */
  let probes = 0;
  async function probe(atB: PostbodeProcess): Promise<void> {
    assert.ok(a);
    const subject = `probe-${++probes}`;
    await submitMessages({
      port: a.ports.submission,
      user: 'alice@a.test',
      password: 'secret',
      to: ['bob@b.test'],
      subjects: [subject],
    });
    await eventually(
      `${subject} at B`,
      async () => ((await subjectCounts(atB.ports.pop3, 'bob@b.test', 'secret')).has(subject) ? true : undefined),
      30_000,
    );
  }

  before(async () => {
    bPort = await closedPort();
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    if (aDir) removeDir(aDir);
    if (bDir) removeDir(bDir);
  });

  it('kill -9 right after the last 250 while B is down: every message arrives once', async () => {
    const n = 40;
    const subjects = Array.from({ length: n }, (_, i) => `down-${i}`);
    const server = await startA();
    let killed: Promise<void> | undefined;
    await submitMessages({
      port: server.ports.submission,
      user: 'alice@a.test',
      password: 'secret',
      to: ['bob@b.test'],
      subjects,
      onAccepted: (subject) => {
        // No QUIT, no grace: the process dies with the last 250 just sent.
        if (subject === subjects[n - 1]) killed = server.kill9();
      },
    }).catch(() => {}); // the session dies with the server
    await killed;

    await startA();
    await startB();
    assert.ok(a);
    assert.equal(queueLength(a), n, 'all accepted messages are still queued');
    a.cli(['queue', 'flush']);
    const b1 = b;
    assert.ok(b1);
    await eventually('an empty queue on A', async () => (a && queueLength(a) === 0 ? true : undefined), 30_000);
    await probe(b1); // nothing goes again
    const counts = await subjectCounts(b1.ports.pop3, 'bob@b.test', 'secret');
    const wrong = subjects.filter((s) => counts.get(s) !== 1).map((s) => `${s}: ${counts.get(s) ?? 0}`);
    assert.deepEqual(wrong, [], 'each message exactly once');
  });

  it('kill -9 during a burst to B: nothing lost, duplicates no more than were in flight', async () => {
    assert.ok(a && b);
    const n = 200;
    const subjects = Array.from({ length: n }, (_, i) => `burst-${i}`);
    // Queue the burst while B is away, then let A loose on it.
    await b.stop();
    await submitMessages({
      port: a.ports.submission,
      user: 'alice@a.test',
      password: 'secret',
      to: ['bob@b.test'],
      subjects,
    });
    const server = a;
    const seen = server.logs.length;
    await startB();
    server.cli(['queue', 'flush']);
    // Kill once a quarter of the burst has been recorded as delivered.
    await eventually(
      'a quarter of the burst delivered',
      async () => {
        const delivered = server.logs
          .slice(seen)
          .filter((l) => l.msg === 'outbound attempt' && Number(l.delivered) > 0).length;
        return delivered >= n / 4 ? true : undefined;
      },
      30_000,
    );
    await server.kill9();

    const atB = await subjectCounts(b.ports.pop3, 'bob@b.test', 'secret');
    const atBBurst = subjects.filter((s) => atB.has(s)).length;
    // Look at A's queue before its worker runs again.
    const inspect = await startA({ outbound: false });
    const queued = queueLength(inspect);
    await inspect.stop();
    const inFlight = atBBurst + queued - n;
    assert.ok(atBBurst < n, `the kill came mid-burst (B had ${atBBurst} of ${n})`);
    assert.ok(inFlight >= 0, `nothing lost at the kill: ${atBBurst} at B + ${queued} queued < ${n}`);
    // Each of A's sessions has at most one message between B's 250 and A's bookkeeping.
    assert.ok(inFlight <= CONCURRENCY, `in flight at the kill: ${inFlight}`);

    await startA();
    assert.ok(a);
    a.cli(['queue', 'flush']);
    await eventually('an empty queue on A', async () => (a && queueLength(a) === 0 ? true : undefined), 60_000);
    await probe(b); // nothing goes again
    const counts = await subjectCounts(b.ports.pop3, 'bob@b.test', 'secret');
    const lost = subjects.filter((s) => !counts.has(s));
    assert.deepEqual(lost, [], 'nothing lost');
    const duplicates = subjects.reduce((sum, s) => sum + (counts.get(s) ?? 0) - 1, 0);
    console.log(
      `# kill -9 mid-burst: ${atBBurst}/${n} at B at the kill, ${queued} still queued on A, ${inFlight} in flight, ${duplicates} duplicates after the restart`,
    );
    assert.ok(duplicates <= inFlight, `duplicates ${duplicates} > in flight ${inFlight}`);
  });
});
