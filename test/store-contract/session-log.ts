/**
 * Store contract, part: the web lab's session history (`Store.sessionLog`). Called from
 * `runStoreContract` with a getter for the current test's harness.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type LoggedEvent, type LoggedSession, StoreNotFoundError } from '../../src/store/types.js';
import { loggedSession } from '../harness/logged-session.js';
import type { StoreHarness } from './contract.js';

const session = loggedSession;

const event = (sessionId: string, seq: number, overrides: Partial<LoggedEvent> = {}): LoggedEvent => ({
  sessionId,
  seq,
  t: 1_000 + seq,
  type: 'out',
  text: `line ${seq}`,
  encrypted: false,
  data: null,
  ...overrides,
});

export function sessionLogContract(harness: () => StoreHarness): void {
  describe('session log', () => {
    const log = () => harness().store.sessionLog;

    it('appends sessions and events and reads them back in order', async () => {
      await log().append({
        sessions: [session('a', { events: 3 })],
        events: [
          event('a', 0, { type: 'open', text: 'open', data: { tls: false } }),
          event('a', 2, { type: 'in', text: 'EHLO x' }),
          event('a', 1, { encrypted: true, text: '220 hi' }),
        ],
      });
      assert.deepEqual(await log().get('a'), session('a', { events: 3 }));
      const events = await log().events('a');
      assert.deepEqual(
        events.map((e) => [e.seq, e.type, e.text, e.encrypted]),
        [
          [0, 'open', 'open', false],
          [1, 'out', '220 hi', true],
          [2, 'in', 'EHLO x', false],
        ],
      );
      assert.deepEqual(events[0].data, { tls: false });
      assert.equal(await log().get('missing'), null);
      assert.deepEqual(await log().events('missing'), []);
    });

    it('upserts a session summary and appends later events', async () => {
      await log().append({ sessions: [session('a')], events: [event('a', 0)] });
      const done = session('a', {
        user: 'alice@example.org',
        tls: 'TLSv1.3 TLS_AES_256_GCM_SHA384',
        end: 2_000,
        state: 'closed',
        closeReason: 'QUIT',
        events: 2,
        keyLogged: true,
      });
      await log().append({ sessions: [done], events: [event('a', 1)] });
      assert.deepEqual(await log().get('a'), done);
      assert.deepEqual(
        (await log().events('a')).map((e) => e.seq),
        [0, 1],
      );
    });

    it('an event sent again with the same seq replaces the earlier one', async () => {
      await log().append({ sessions: [session('a')], events: [event('a', 0), event('a', 1, { text: 'first' })] });
      await log().append({ sessions: [session('a')], events: [event('a', 1, { text: 'second', encrypted: true })] });
      assert.deepEqual(
        (await log().events('a')).map((e) => [e.seq, e.text, e.encrypted]),
        [
          [0, 'line 0', false],
          [1, 'second', true],
        ],
      );
    });

    it('gives back every field of every event as appended, whatever their mix', async () => {
      const types = ['open', 'in', 'out', 'note', 'tls', 'auth', 'state', 'close', 'future-type'];
      const events: LoggedEvent[] = [];
      let seq = 3;
      let t = 1_700_000_000_000;
      for (let i = 0; i < 60; i++) {
        seq += i % 7 === 6 ? 5 : 1; // gaps, as when tracing was off for a while
        t += i % 5 === 0 ? 1 + i * 13 : 0;
        events.push(
          event('m', seq, {
            t,
            type: types[i % types.length],
            text:
              i % 4 === 0
                ? `"quoted" \\ tab\t ünï ${i}`
                : i % 4 === 1
                  ? '+OK 4608 octets'
                  : i % 8 === 2
                    ? '.'
                    : `line ${i}`,
            encrypted: i >= 20 && i % 9 !== 0,
            data: i % 3 === 0 ? { n: i, list: [1, 'two', null], nested: { ok: i % 2 === 0 } } : null,
          }),
        );
      }
      await log().append({ sessions: [session('m', { events: 60 })], events: events.slice(0, 25) });
      await log().append({ sessions: [session('m', { events: 60 })], events: events.slice(25) });
      assert.deepEqual(await log().events('m'), events);
    });

    it('refuses events of an unknown session and keeps nothing of that batch', async () => {
      await assert.rejects(
        log().append({ sessions: [session('b')], events: [event('b', 0), event('nope', 0)] }),
        StoreNotFoundError,
      );
      assert.equal(await log().get('b'), null);
    });

    it('keeps the captured bytes of several sessions of a batch apart, with their masked originals', async () => {
      const wire = (sessionId: string, t: number, text: string, secrets: [number, Buffer][] | null = null) => ({
        sessionId,
        t,
        dir: (t % 2 === 0 ? 'in' : 'out') as 'in' | 'out',
        data: Buffer.from(text, 'latin1'),
        secrets,
      });
      await log().append({
        sessions: [session('w1'), session('w2')],
        events: [],
        wire: [
          wire('w1', 1, '220 hi\r\n'),
          wire('w2', 2, 'AUTH PLAIN ****\r\n', [[11, Buffer.from('AGEAYg==')]]),
          wire('w1', 2, 'EHLO x\r\n\x00\xff'),
        ],
      });
      await log().append({ sessions: [], events: [], wire: [wire('w2', 3, '235 ok\r\n')] });
      const bytes = async (id: string) =>
        (await log().wire(id)).map((w) => [
          w.t,
          w.dir,
          w.data.toString('latin1'),
          w.secrets?.map(([o, b]) => [o, b.toString()]) ?? null,
        ]);
      assert.deepEqual(await bytes('w1'), [
        [1, 'out', '220 hi\r\n', null],
        [2, 'in', 'EHLO x\r\n\x00\xff', null],
      ]);
      assert.deepEqual(await bytes('w2'), [
        [2, 'in', 'AUTH PLAIN ****\r\n', [[11, 'AGEAYg==']]],
        [3, 'out', '235 ok\r\n', null],
      ]);
      await assert.rejects(
        log().append({ sessions: [session('w3')], events: [], wire: [wire('w3', 1, 'x'), wire('nope', 1, 'y')] }),
        StoreNotFoundError,
      );
      assert.equal(await log().get('w3'), null);
    });

    it('lists newest first with filters and a limit', async () => {
      await log().append({
        sessions: [
          session('s1', { start: 100, proto: 'smtp', remoteAddress: '192.0.2.1' }),
          session('s2', { start: 200, proto: 'imap', user: 'alice@example.org', remoteAddress: '192.0.2.2' }),
          session('s3', { start: 300, proto: 'pop3', user: 'bob@example.org', remoteAddress: '198.51.100.7' }),
          session('s4', { start: 400, proto: 'imap', user: 'alice@example.org', remoteAddress: '10.0.0.1' }),
        ],
        events: [],
      });
      const ids = (list: LoggedSession[]) => list.map((s) => s.id);
      assert.deepEqual(ids(await log().list()), ['s4', 's3', 's2', 's1']);
      assert.deepEqual(ids(await log().list({ proto: 'imap' })), ['s4', 's2']);
      assert.deepEqual(ids(await log().list({ user: 'Alice@Example.org' })), ['s4', 's2']);
      assert.deepEqual(ids(await log().list({ remote: '192.0.2.' })), ['s2', 's1']);
      assert.deepEqual(ids(await log().list({ remote: '192_0' })), [], 'LIKE wildcards are literal');
      assert.deepEqual(ids(await log().list({ limit: 2 })), ['s4', 's3']);
      assert.deepEqual(ids(await log().list({ before: 300 })), ['s2', 's1']);
      assert.deepEqual(ids(await log().list({ proto: 'imap', user: 'bob@example.org' })), []);
    });

    it('lists the sessions visible to a user: logged in, or SMTP without login naming them or from their address', async () => {
      await log().append({
        sessions: [
          session('v1', { start: 100, remoteAddress: '10.0.0.21' }),
          session('v2', { start: 200, remoteAddress: '::ffff:10.0.0.21' }),
          session('v3', { start: 300, remoteAddress: '10.0.0.30', mailFrom: 'bob@lab.test' }),
          session('v4', { start: 400, remoteAddress: '10.0.0.30', helo: 'bob' }),
          session('v5', { start: 500, remoteAddress: '10.0.0.21', user: 'bob@lab.test', mailFrom: 'alice@lab.test' }),
          session('v6', { start: 600, proto: 'pop3', remoteAddress: '10.0.0.21' }),
          session('v7', { start: 700, remoteAddress: '10.0.0.21', user: 'alice@lab.test' }),
        ],
        events: [],
      });
      const got = await log().get('v3');
      assert.equal(got?.mailFrom, 'bob@lab.test');
      assert.equal(got?.helo, null);
      const ids = (list: LoggedSession[]) => list.map((s) => s.id);
      const alice = { user: 'alice@lab.test', heloNames: ['alice@lab.test', 'alice'] };
      assert.deepEqual(ids(await log().list({ visibleTo: { ...alice, remotes: ['10.0.0.21', '::ffff:10.0.0.21'] } })), [
        'v7',
        'v2',
        'v1',
      ]);
      assert.deepEqual(ids(await log().list({ visibleTo: { ...alice, remotes: [] } })), ['v7']);
      const bob = { user: 'bob@lab.test', heloNames: ['bob@lab.test', 'bob'], remotes: ['10.0.0.99'] };
      assert.deepEqual(ids(await log().list({ visibleTo: bob })), ['v5', 'v4', 'v3']);
    });

    it('prunes finished sessions to the newest N and by age, with their events; never an open one', async () => {
      const sessions = [1, 2, 3, 4, 5].map((n) => session(`p${n}`, { start: n * 100, end: n * 100 + 50 }));
      // Open (live somewhere): the oldest and the newest of all.
      const open = [session('o1', { start: 50 }), session('o9', { start: 900 })];
      await log().append({
        sessions: [...sessions, ...open],
        events: [...sessions, ...open].map((s) => event(s.id, 0)),
      });
      assert.equal(await log().prune({ keep: 3 }), 2);
      assert.deepEqual(
        (await log().list()).map((s) => s.id),
        ['o9', 'p5', 'p4', 'p3', 'o1'],
      );
      assert.deepEqual(await log().events('p1'), []);
      assert.equal(await log().prune({ startedBefore: 401 }), 2);
      assert.deepEqual(
        (await log().list()).map((s) => s.id),
        ['o9', 'p5', 'o1'],
      );
      assert.equal(await log().prune({ keep: 0 }), 1);
      assert.deepEqual(
        (await log().list()).map((s) => s.id),
        ['o9', 'o1'],
      );
      assert.equal((await log().events('o1')).length, 1);
    });

    it('deletes the named sessions with their events and wire, no others', async () => {
      const sessions = [1, 2, 3].map((n) => session(`d${n}`, { start: n * 100, events: 1 }));
      await log().append({
        sessions,
        events: sessions.map((s) => event(s.id, 0)),
        wire: sessions.map((s) => ({
          sessionId: s.id,
          t: 1,
          dir: 'in' as const,
          data: Buffer.from('x'),
          secrets: null,
        })),
      });
      assert.equal(await log().delete([]), 0);
      assert.equal(await log().delete(['d1', 'd3', 'nope']), 2);
      assert.deepEqual(
        (await log().list()).map((s) => s.id),
        ['d2'],
      );
      assert.deepEqual(await log().events('d1'), []);
      assert.deepEqual(await log().wire('d3'), []);
      assert.equal((await log().events('d2')).length, 1);
      assert.equal((await log().wire('d2')).length, 1);
      const many = Array.from({ length: 1200 }, (_, i) => `m${i}`);
      assert.equal(await log().delete([...many, 'd2']), 1, 'more ids than one statement binds');
    });

    it('finishOpen ends the sessions that have no end', async () => {
      await log().append({
        sessions: [session('o1', { start: 100 }), session('o2', { start: 200, end: 250, closeReason: 'QUIT' })],
        events: [],
      });
      assert.equal(await log().finishOpen(5_000, 'server restarted'), 1);
      assert.deepEqual(
        [(await log().get('o1'))?.end, (await log().get('o1'))?.closeReason],
        [5_000, 'server restarted'],
      );
      assert.equal((await log().get('o2'))?.closeReason, 'QUIT');
    });

    it('history survives a restart', async (t) => {
      const h = harness();
      if (!h.reopen) {
        t.skip('this backend cannot reopen');
        return;
      }
      await h.store.sessionLog.append({ sessions: [session('r', { events: 1 })], events: [event('r', 0)] });
      const store = await h.reopen();
      assert.equal((await store.sessionLog.get('r'))?.events, 1);
      assert.equal((await store.sessionLog.events('r')).length, 1);
    });
  });
}
