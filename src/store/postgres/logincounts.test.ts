/**
 * The login limits across nodes (logincounts.ts, schema V6): two stores on one schema stand for two
 * nodes, each with its own LoginLimiter on a fake clock (src/auth/limiter.ts). Failures spread over both
 * nodes are free only `freeFailures` times in all; an account's owner trusted on one node is trusted on
 * the other; a success forgives what its address did on any node; a flood of random addresses leaves a
 * bounded table. Counts and answers only: time moves only when the fake clock is moved.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { type PgTestSchema, pgSkip, pgTestSchema } from '../../../test/harness/postgres.js';
import { type AttemptOutcome, type Clock, type LimiterOptions, LoginLimiter } from '../../auth/limiter.js';
import { LOGIN_PRUNE_EVERY, type LoginCountSettings, type Store } from '../types.js';
import { openPgStore } from './index.js';

const skip = await pgSkip();

/** Time that moves only when told; `sleep` resolves when `set` passes its end. */
class FakeClock implements Clock {
  t = 1_000_000;
  #timers: { at: number; resolve: () => void }[] = [];
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#timers.push({ at: this.t + ms, resolve }));
  }
  set(t: number): void {
    this.t = t;
    const due = this.#timers.filter((x) => x.at <= t);
    this.#timers = this.#timers.filter((x) => x.at > t);
    for (const x of due) x.resolve();
  }
}

/** Waits (real time, polling) until `f` returns a value; fails after 10 s. */
async function until<T>(what: string, f: () => T | null | undefined): Promise<T> {
  for (let i = 0; i < 1000; i++) {
    const v = f();
    if (v !== null && v !== undefined) return v;
    await delay(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function track<T>(p: Promise<AttemptOutcome<T>>): { result: () => AttemptOutcome<T> | null } {
  let outcome: AttemptOutcome<T> | null = null;
  void p.then((o) => {
    outcome = o;
  });
  return { result: () => outcome };
}

const OPTS: Partial<LimiterOptions> = { freeFailures: 2, startMs: 500, maxMs: 4000, accountFailures: 3 };
const fail = async (): Promise<string | null> => null;
const pass = async (): Promise<string | null> => 'ok';

describe('PostgreSQL: login limits shared by the nodes', { skip }, () => {
  let schema: PgTestSchema;
  let a: Store;
  let b: Store;
  let sql: pg.Client;
  /** One clock per test (attempts left waiting by one test never wake in another). */
  let clock = new FakeClock();
  const limiter = (store: Store) => {
    const counts = store.loginCounts;
    assert.ok(counts, 'a PostgreSQL store shares login counts');
    return new LoginLimiter(OPTS, clock, {
      counts,
      onError: (e) => {
        throw e;
      },
    });
  };
  before(async () => {
    if (skip) return;
    schema = pgTestSchema('logincounts');
    a = await openPgStore({ url: schema.url, node: 'node-a', pollMs: 200 });
    b = await openPgStore({ url: schema.url, node: 'node-b', pollMs: 200 });
    sql = new pg.Client({ connectionString: schema.url.replace(/\?.*$/, '') });
    await sql.connect();
    await sql.query(`SET search_path TO "${schema.schema}"`);
  });
  after(async () => {
    if (skip) return;
    await sql.end();
    await a.close();
    await b.close();
    await schema.drop();
  });

  it('failures spread over two nodes are free twice in all; the next attempt waits on either node', async () => {
    clock = new FakeClock();
    const onA = limiter(a);
    const onB = limiter(b);
    const first = await onA.attempt('192.0.2.1', 'x1@example.test', fail);
    assert.equal(first.kind, 'failed');
    const second = await onB.attempt('192.0.2.1', 'x2@example.test', fail);
    assert.deepEqual(second.kind === 'failed' && second.info, {
      addressFailures: 2,
      accountFailures: 1,
      nextDelayMs: 500,
    });

    // Node A has seen one failure itself; the shared count makes it wait: its line fills, the next
    // attempt is refused without a check, and none of the waiting ones is checked before the delay.
    let checked = 0;
    const counting = async () => {
      checked++;
      return null;
    };
    const fill = (node: LoginLimiter, account: string) =>
      [1, 2, 3, 4, 5].map(() => track(node.attempt('192.0.2.1', account, counting)));
    const tried = fill(onA, 'x1@example.test');
    const refused = await until('an attempt refused', () => tried.find((w) => w.result() !== null));
    assert.deepEqual(refused.result()?.kind === 'throttled' && refused.result(), {
      kind: 'throttled',
      throttle: { scope: 'address', retryAfterMs: 1000 },
    });
    assert.equal(checked, 0);
    const waiting = tried.filter((w) => w !== refused);
    assert.ok(waiting.every((w) => w.result() === null));

    // After the delay one check runs (one at a time while penalized), and its failure counts on B too.
    clock.set(clock.t + 500);
    const done = await until('one waiting attempt checked', () => waiting.find((w) => w.result() !== null));
    assert.equal(checked, 1);
    assert.deepEqual(done.result(), {
      kind: 'failed',
      info: { addressFailures: 3, accountFailures: 2, nextDelayMs: 1000 },
    });
    // Node B, whose own line is empty, holds the address as well: four wait, one is refused, none is checked.
    const onBTried = fill(onB, 'x2@example.test');
    const onBRefused = await until('an attempt refused on B', () => onBTried.find((w) => w.result() !== null));
    assert.equal(onBRefused.result()?.kind, 'throttled');
    assert.equal(checked, 1);
  });

  it("an account's failures from many addresses on both nodes gate it; its owner, trusted on one node, passes on the other", async () => {
    clock = new FakeClock();
    const onA = limiter(a);
    const onB = limiter(b);
    const owner = '198.51.100.7';
    assert.equal((await onB.attempt(owner, 'Owner@example.test', pass)).kind, 'ok');
    // Three failures (the account's free ones) from three addresses, over both nodes.
    for (const [i, node] of [onA, onB, onA].entries()) {
      assert.equal((await node.attempt(`203.0.113.${i + 1}`, 'owner@example.test', fail)).kind, 'failed');
    }
    // A fourth address is held at the account's gate on either node…
    let checked = 0;
    const held = track(
      onB.attempt('203.0.113.9', 'owner@example.test', async () => {
        checked++;
        return null;
      }),
    );
    // …while the owner's address, trusted since its login on B, is checked at once on A.
    const ownerOnA = await onA.attempt(owner, 'owner@example.test', pass);
    assert.deepEqual(ownerOnA.kind === 'ok' && ownerOnA.info, {
      addressFailures: 0,
      accountFailures: 3,
      nextDelayMs: 0,
    });
    assert.equal(held.result(), null);
    assert.equal(checked, 0);
    clock.set(clock.t + 500);
    await until('the held attempt checked', () => held.result());
    assert.equal(checked, 1);

    // The owner's logins while trusted write nothing until the trust is an hour old, then refresh it.
    const trustedAt = async () =>
      (
        await sql.query('SELECT at FROM login_trusted WHERE account = $1 AND address = $2', [
          'owner@example.test',
          owner,
        ])
      ).rows[0]?.at;
    const first = await trustedAt();
    clock.set(clock.t + 60_000);
    assert.equal((await onB.attempt(owner, 'owner@example.test', pass)).kind, 'ok');
    assert.equal(await trustedAt(), first);
    clock.set(clock.t + 3_600_000);
    assert.equal((await onB.attempt(owner, 'owner@example.test', pass)).kind, 'ok');
    assert.equal(Number(await trustedAt()), clock.t);
  });

  it('a success on one node forgives what its address did to that account on the other, nothing else', async () => {
    clock = new FakeClock();
    const onA = limiter(a);
    const onB = limiter(b);
    const ip = '192.0.2.77';
    assert.equal((await onA.attempt(ip, 'typo@example.test', fail)).kind, 'failed');
    assert.equal((await onA.attempt(ip, 'other@example.test', fail)).kind, 'failed');
    clock.set(clock.t + 500);
    const ok = await onB.attempt(ip, 'typo@example.test', pass);
    assert.deepEqual(ok.kind === 'ok' && ok.info, { addressFailures: 1, accountFailures: 0, nextDelayMs: 0 });
    const counts = await a.loginCounts?.read(
      { address: ip, account: 'other@example.test', now: clock.t },
      { windowMs: 900_000, trustMs: 1e9, maxEntries: 100, perAddressAccounts: 4, trustedPerAccount: 8 },
    );
    assert.deepEqual(counts?.address.failures, 1);
    assert.deepEqual(counts?.account.failures, 1);
  });

  it('a flood of random addresses leaves a bounded table; quiet rows go after the window', async () => {
    const settings: LoginCountSettings = {
      windowMs: 60_000,
      trustMs: 1e9,
      maxEntries: 10,
      perAddressAccounts: 4,
      trustedPerAccount: 8,
    };
    const c = await openPgStore({ url: schema.url, node: 'node-c', pollMs: 200 });
    try {
      const now = 10_000_000_000;
      const counts = c.loginCounts;
      assert.ok(counts);
      const rows = async (scope: string) =>
        Number((await sql.query('SELECT count(*) AS n FROM login_gates WHERE scope = $1', [scope])).rows[0].n);
      // The first failure a node records prunes: everything older than the window goes.
      await counts.failed({ address: '10.0.0.1', account: 'flood@example.test', now }, settings);
      assert.equal(await rows('a'), 1);
      for (let i = 0; i < LOGIN_PRUNE_EVERY + 20; i++) {
        const address = `10.${randomBytes(3).join('.')}`;
        await counts.failed(
          { address, account: `${randomBytes(4).toString('hex')}@example.test`, now: now + i },
          settings,
        );
        assert.ok((await rows('a')) <= settings.maxEntries + LOGIN_PRUNE_EVERY);
        assert.ok((await rows('u')) <= settings.maxEntries + LOGIN_PRUNE_EVERY);
      }
      // The prune after LOGIN_PRUNE_EVERY failures kept the newest maxEntries (and what came after).
      assert.ok((await rows('a')) <= settings.maxEntries + 20, String(await rows('a')));
      const split = Number(
        (await sql.query('SELECT count(DISTINCT address) AS n FROM login_address_accounts')).rows[0].n,
      );
      assert.ok(split <= (await rows('a')));
      // Quiet past the window: read as none.
      const later = await counts.read(
        { address: '10.0.0.1', account: 'flood@example.test', now: now + 120_000 },
        settings,
      );
      assert.deepEqual(later.address, { failures: 0, lastFailure: 0 });
    } finally {
      await c.close();
    }
  });
});
