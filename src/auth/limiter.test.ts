/**
 * The login limiter with a fake clock: delays per address and per account, parallel attempts, what a
 * success forgives, forgetting, and bounded tables. No test sleeps; time moves only by `advance`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AttemptOutcome, type Clock, clientKey, type LimiterOptions, LoginLimiter, penalty } from './limiter.js';

class FakeClock implements Clock {
  t = 1_000_000;
  #timers: { at: number; resolve: () => void }[] = [];
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#timers.push({ at: this.t + ms, resolve }));
  }
  /** Moves time forward in steps, running due timers and the promise jobs they start. */
  async advance(ms: number, step = 10): Promise<void> {
    const end = this.t + ms;
    while (this.t < end) {
      this.t = Math.min(end, this.t + step);
      const due = this.#timers.filter((x) => x.at <= this.t);
      this.#timers = this.#timers.filter((x) => x.at > this.t);
      for (const x of due) x.resolve();
      await settle();
    }
  }
}

/** Lets pending promise jobs (and the limiter's follow-ups) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

const OPTS: Partial<LimiterOptions> = { freeFailures: 2, startMs: 500, maxMs: 4000, accountFailures: 10 };

function setup(opts: Partial<LimiterOptions> = OPTS) {
  const clock = new FakeClock();
  const limiter = new LoginLimiter(opts, clock);
  const fail = async () => null;
  const pass = async () => 'ok';
  return { clock, limiter, fail, pass };
}

/** Starts an attempt; `result()` is its outcome once answered, null before. */
function track<T>(p: Promise<AttemptOutcome<T>>): { result: () => AttemptOutcome<T> | null } {
  let outcome: AttemptOutcome<T> | null = null;
  void p.then((o) => {
    outcome = o;
  });
  return { result: () => outcome };
}

function infoOf(o: AttemptOutcome<unknown> | null) {
  return o && o.kind !== 'throttled' ? o.info : null;
}

describe('clientKey', () => {
  it('keys IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by its /64', () => {
    assert.equal(clientKey('192.0.2.7'), '192.0.2.7');
    assert.equal(clientKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:0db8:0001:0002::9%eth0'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(clientKey('::1'), '0:0:0:0::/64');
    assert.notEqual(clientKey('2001:db8:1:3::1'), clientKey('2001:db8:1:2::1'));
    assert.equal(clientKey(''), '');
  });

  it('doubles the delay up to the maximum', () => {
    const policy = { free: 2, startMs: 500, maxMs: 15_000 };
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 100].map((f) => penalty(f, policy)),
      [0, 0, 500, 1000, 2000, 4000, 8000, 15_000, 15_000],
    );
  });
});

describe('LoginLimiter per address', () => {
  it('checks the first failures at once, then waits a doubling delay before each check', async () => {
    const { clock, limiter, fail } = setup();
    for (let i = 0; i < 2; i++) assert.equal((await limiter.attempt('192.0.2.1', 'a@x', fail)).kind, 'failed');
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = clock.now();
      const r = track(limiter.attempt('192.0.2.1', 'a@x', fail));
      await settle();
      while (!r.result()) await clock.advance(10);
      delays.push(clock.now() - start);
    }
    assert.deepEqual(delays, [500, 1000, 2000, 4000, 4000]);
    assert.equal(limiter.stats.checks, 7);
  });

  it('the delay counts across accounts (and so across protocols and connections)', async () => {
    const { clock, limiter, fail } = setup();
    await limiter.attempt('192.0.2.1', 'a@x', fail);
    await limiter.attempt('192.0.2.1', 'b@x', fail);
    const r = track(limiter.attempt('192.0.2.1', 'c@x', fail));
    await settle();
    assert.equal(r.result(), null, 'the third account waits for the address penalty');
    await clock.advance(500);
    assert.equal(r.result()?.kind, 'failed');
  });

  it('parallel attempts from one address get no more checks than one connection', async () => {
    const { clock, limiter, fail } = setup();
    const attempts = Array.from({ length: 300 }, () => track(limiter.attempt('192.0.2.9', 'a@x', fail)));
    await settle();
    assert.equal(limiter.stats.checks, 2, 'only the free failures are checked at first');
    // Checks after the free ones: at 500, +1000, +2000, +4000, +4000 ms ... → 4 within 7.5 s.
    await clock.advance(7600);
    assert.ok(limiter.stats.checks <= 6, `checks: ${limiter.stats.checks}`);
    const throttled = attempts.filter((a) => a.result()?.kind === 'throttled').length;
    assert.ok(throttled >= 290, `throttled: ${throttled}`);
    // Nothing is left hanging: the short line drains.
    await clock.advance(20_000, 100);
    assert.equal(
      attempts.filter((a) => a.result() === null).length,
      0,
      'every attempt is answered (checked or refused)',
    );
    assert.ok(limiter.stats.checks <= 2 + 4 + 1);
  });

  it('another address is not slowed', async () => {
    const { limiter, fail, pass } = setup();
    for (let i = 0; i < 3; i++) void limiter.attempt('192.0.2.1', 'a@x', fail);
    await settle();
    assert.equal((await limiter.attempt('192.0.2.2', 'a@x', pass)).kind, 'ok');
  });

  it('IPv6 addresses of one /64 share a penalty', async () => {
    const { limiter, fail } = setup();
    await limiter.attempt('2001:db8:1:2::1', 'a@x', fail);
    await limiter.attempt('2001:db8:1:2::2', 'a@x', fail);
    const r = track(limiter.attempt('2001:db8:1:2::3', 'a@x', fail));
    await settle();
    assert.equal(r.result(), null);
  });

  it('forgets failures after the quiet window', async () => {
    const { clock, limiter, fail, pass } = setup({ ...OPTS, windowMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      const r = track(limiter.attempt('192.0.2.1', 'a@x', fail));
      await settle();
      while (!r.result()) await clock.advance(100, 100);
    }
    await clock.advance(60_000, 1000);
    const r = track(limiter.attempt('192.0.2.1', 'a@x', pass));
    await settle();
    assert.equal(r.result()?.kind, 'ok', 'answered without waiting');
  });
});

describe('LoginLimiter what a success forgives', () => {
  it("the owner's typos on their own account are forgiven", async () => {
    const { clock, limiter, fail, pass } = setup();
    await limiter.attempt('192.0.2.1', 'alice@x', fail);
    await limiter.attempt('192.0.2.1', 'alice@x', fail);
    // Even the right password waits for the address's penalty (the wait comes before the check).
    const ok = track(limiter.attempt('192.0.2.1', 'alice@x', pass));
    await settle();
    assert.equal(ok.result(), null);
    await clock.advance(500);
    assert.equal(infoOf(ok.result())?.addressFailures, 0);
    const r = track(limiter.attempt('192.0.2.1', 'alice@x', fail));
    await settle();
    assert.equal(r.result()?.kind, 'failed', 'no wait after the forgiven typos');
  });

  it("a success on one account does not reset the address's failures on another, nor that account's count", async () => {
    const { clock, limiter, fail, pass } = setup();
    await limiter.attempt('192.0.2.5', 'teacher@x', fail);
    await limiter.attempt('192.0.2.5', 'teacher@x', fail);
    const own = track(limiter.attempt('192.0.2.5', 'student@x', pass));
    await settle();
    await clock.advance(500);
    assert.equal(own.result()?.kind, 'ok');
    assert.equal(infoOf(own.result())?.addressFailures, 2, 'still 2 failures');
    // The next guesses at the teacher count on: the teacher's third failure, the address's third.
    const guess = await limiter.attempt('192.0.2.5', 'teacher@x', fail);
    assert.deepEqual(guess.kind === 'failed' && guess.info, {
      addressFailures: 3,
      accountFailures: 3,
      nextDelayMs: 1000,
    });
    const next = track(limiter.attempt('192.0.2.5', 'teacher@x', fail));
    await settle();
    assert.equal(next.result(), null, 'waits the doubled penalty');
    await clock.advance(1000);
    assert.equal(next.result()?.kind, 'failed');
  });

  it('a student alternating guesses with their own login is slowed all the same', async () => {
    const { clock, limiter, fail, pass } = setup();
    let guesses = 0;
    const start = clock.now();
    // 60 s of: 9 guesses at the teacher, then the student's own login.
    while (clock.now() - start < 60_000) {
      for (let i = 0; i < 9 && clock.now() - start < 60_000; i++) {
        const r = track(limiter.attempt('192.0.2.5', 'teacher@x', fail));
        await settle();
        while (!r.result()) await clock.advance(100, 100);
        guesses++;
      }
      const own = track(limiter.attempt('192.0.2.5', 'student@x', pass));
      await settle();
      while (!own.result()) await clock.advance(100, 100);
    }
    // 2 free, then 0.5+1+2+4 and 4 s each: about 16 in a minute, far from unlimited.
    assert.ok(guesses <= 20, `guesses in a minute: ${guesses}`);
  });
});

describe('LoginLimiter per account', () => {
  it('slows guessing at one account from many addresses, but not its owner at a usual address', async () => {
    const { clock, limiter, fail, pass } = setup();
    assert.equal((await limiter.attempt('198.51.100.1', 'alice@x', pass)).kind, 'ok');
    // 40 addresses, each with two free guesses, all at once.
    const attacks = [];
    for (let i = 0; i < 40; i++) {
      for (let j = 0; j < 2; j++) attacks.push(track(limiter.attempt(`203.0.113.${i}`, 'alice@x', fail)));
    }
    await settle();
    assert.ok(limiter.stats.checks <= 1 + 10, `the account gate stops at its free failures: ${limiter.stats.checks}`);
    const throttled = attacks.filter((a) => a.result()?.kind === 'throttled').length;
    assert.ok(throttled >= 60, `refused at once: ${throttled}`);

    // The owner from the usual address is answered at once.
    const owner = track(limiter.attempt('198.51.100.1', 'alice@x', pass));
    await settle();
    assert.equal(owner.result()?.kind, 'ok');

    // The owner (or anyone) from a new address waits behind the account gate.
    const stranger = track(limiter.attempt('192.0.2.200', 'alice@x', pass));
    await settle();
    assert.notEqual(stranger.result()?.kind, 'ok');
    await clock.advance(30_000, 100);
    assert.ok(stranger.result(), 'answered in the end');
  });

  it('the owner on a new address is not kept out by guessers who fill the line', async () => {
    const { clock, limiter, fail, pass } = setup();
    // Ten addresses fail once each: the account is penalized, and each of them has failed.
    for (let i = 0; i < 10; i++) await limiter.attempt(`203.0.113.${i}`, 'alice@x', fail);
    // The same addresses keep the account's short line full (4 waiting).
    const guesses = [];
    for (let i = 0; i < 6; i++) guesses.push(track(limiter.attempt(`203.0.113.${i}`, 'alice@x', fail)));
    await settle();
    assert.equal(guesses.filter((g) => g.result()?.kind === 'throttled').length, 2, 'a line of 4');
    // The owner on a new address (no failures anywhere) takes the place of a guesser, ahead of the
    // others, and is let in after one delay instead of being refused at once.
    let checkedAs = 0;
    const ownerPassword = async () => {
      checkedAs = limiter.stats.checks;
      return pass();
    };
    const owner = track(limiter.attempt('192.0.2.200', 'alice@x', ownerPassword));
    await settle();
    assert.equal(owner.result(), null, 'waiting, not refused');
    assert.equal(guesses.filter((g) => g.result()?.kind === 'throttled').length, 3, 'one guesser made room');
    await clock.advance(4000, 50);
    assert.equal(owner.result()?.kind, 'ok');
    assert.equal(checkedAs, 11, 'the owner was checked before the guessers waiting');
  });

  it('other accounts are not slowed by one account under attack', async () => {
    const { limiter, fail, pass } = setup();
    for (let i = 0; i < 10; i++) await limiter.attempt(`203.0.113.${i}`, 'alice@x', fail);
    const late = track(limiter.attempt('203.0.113.50', 'alice@x', fail));
    await settle();
    assert.equal(late.result(), null, 'alice is under attack');
    assert.equal((await limiter.attempt('203.0.113.100', 'bob@x', pass)).kind, 'ok');
  });
});

describe('LoginLimiter memory', () => {
  it('keeps at most maxEntries addresses and accounts under a flood of random ones', async () => {
    const { limiter, fail } = setup({ ...OPTS, maxEntries: 500 });
    for (let i = 0; i < 5000; i++) {
      await limiter.attempt(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `user${i}@x`, fail);
    }
    const { addresses, accounts } = limiter.size;
    assert.ok(addresses <= 500 && accounts <= 500, `${addresses} addresses, ${accounts} accounts`);
    assert.equal(limiter.stats.checks, 5000);
  });

  it('tells at most a few accounts apart per address (the rest are never forgiven)', async () => {
    const { clock, limiter, fail, pass } = setup({ ...OPTS, freeFailures: 100 });
    for (let i = 0; i < 50; i++) await limiter.attempt('192.0.2.1', `u${i}@x`, fail);
    const r = track(limiter.attempt('192.0.2.1', 'u49@x', pass));
    await settle();
    await clock.advance(1);
    assert.equal(infoOf(r.result())?.addressFailures, 50, 'a late account is not told apart');
  });
});
