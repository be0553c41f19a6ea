import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openTestStore } from '../../test/harness/store.js';
import { silentLogger } from '../log.js';
import type { Store } from '../store/types.js';
import { SessionTrace, TraceBus, type TraceEvent } from '../trace/bus.js';
import type { SessionSummary } from './api-types.js';
import { type RecorderOptions, SessionRecorder } from './recorder/index.js';

const admin = { role: 'admin', name: 'root' } as const;
const alice = { role: 'user', name: 'alice@example.org' } as const;
const bob = { role: 'user', name: 'bob@example.org' } as const;

let n = 0;
function openSession(bus: TraceBus, opts: { proto?: 'smtp' | 'imap'; tls?: boolean; remote?: string } = {}) {
  const sid = `s${String(++n).padStart(5, '0')}`;
  bus.emit({
    type: 'open',
    sid,
    t: Date.now(),
    proto: opts.proto ?? 'smtp',
    listener: opts.proto === 'imap' ? 'imap' : 'submission',
    remote: opts.remote ?? '192.0.2.7',
    remotePort: 40000 + n,
    local: '127.0.0.1',
    localPort: 587,
    tls: opts.tls ?? false,
  });
  return new SessionTrace(bus, sid);
}

/** An SMTP submission: STARTTLS, AUTH as `user`, QUIT. */
function submission(bus: TraceBus, user: string): SessionTrace {
  const t = openSession(bus);
  t.out('220 mx.example.org ESMTP');
  t.state('connected');
  t.in('EHLO client');
  t.out('250-mx.example.org');
  t.out('250 STARTTLS');
  t.in('STARTTLS');
  t.out('220 2.0.0 Ready to start TLS');
  t.tls('TLSv1.3', 'TLS_AES_256_GCM_SHA384');
  t.in('AUTH PLAIN <redacted>');
  t.auth(user, true, 'PLAIN');
  t.out('235 2.7.0 Authentication successful');
  t.in('QUIT');
  t.out('221 2.0.0 Bye');
  t.close('closed');
  return t;
}

describe('SessionRecorder', () => {
  let dir: string;
  let store: Store;
  let bus: TraceBus;
  const recorders: SessionRecorder[] = [];

  async function recorder(opts: Partial<RecorderOptions> = {}): Promise<SessionRecorder> {
    const r = new SessionRecorder({
      bus,
      store,
      log: silentLogger(),
      historySessions: 1000,
      historyDays: 30,
      flushMs: 20,
      ...opts,
    });
    await r.start();
    recorders.push(r);
    return r;
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'postbode-recorder-'));
    store = await openTestStore({ dataDir: dir });
    bus = new TraceBus();
  });

  afterEach(async () => {
    for (const r of recorders.splice(0)) await r.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('turns line tracing on and writes a closed session with its events to the store', async () => {
    assert.equal(bus.active, false);
    const r = await recorder();
    assert.equal(bus.active, true, 'subscribing makes SessionTrace emit in/out lines');
    const t = submission(bus, 'Alice@Example.org');
    await r.flush();
    const stored = await store.sessionLog.get(t.sid);
    assert.ok(stored);
    assert.equal(stored.user, 'alice@example.org');
    assert.equal(stored.tls, 'TLSv1.3 TLS_AES_256_GCM_SHA384');
    assert.equal(stored.closeReason, 'closed');
    assert.ok(stored.end !== null);
    const events = await store.sessionLog.events(t.sid);
    assert.equal(stored.events, events.length);
    assert.deepEqual(
      events.map((e) => [e.seq, e.type, e.encrypted]).slice(7, 11),
      [
        [7, 'out', false],
        [8, 'tls', false],
        [9, 'in', true],
        [10, 'auth', true],
      ],
      'lines after the TLS event travelled encrypted; the 220 before it did not',
    );
    assert.equal(events[0].type, 'open');
    assert.equal(r.isLive(t.sid), false, 'a closed and written session leaves memory');
    const got = await r.get(admin, t.sid);
    assert.ok(got && got !== 'forbidden');
    assert.deepEqual(
      got.events.map((e) => e.type),
      events.map((e) => e.type),
    );
    const tlsEvent = got.events.find((e) => e.type === 'tls');
    assert.deepEqual(tlsEvent && [tlsEvent.protocol, tlsEvent.cipher], ['TLSv1.3', 'TLS_AES_256_GCM_SHA384']);
  });

  it('shows a user only the sessions where they authenticated as themselves', async () => {
    const r = await recorder();
    const a = submission(bus, 'alice@example.org');
    const b = submission(bus, 'bob@example.org');
    const anon = openSession(bus);
    anon.in('EHLO x');
    anon.auth('alice@example.org', false, 'PLAIN');
    const live = openSession(bus);
    live.auth('alice@example.org', true, 'LOGIN');
    await r.flush();
    const ids = (list: SessionSummary[]) => list.map((s) => s.id).sort();
    assert.deepEqual(ids(await r.list(alice)), [a.sid, live.sid].sort());
    assert.deepEqual(ids(await r.list(bob)), [b.sid]);
    assert.deepEqual(ids(await r.list(admin)), [a.sid, b.sid, anon.sid, live.sid].sort());
    assert.deepEqual(ids(await r.list(alice, { user: 'bob@example.org' })), []);
    assert.deepEqual(ids(await r.list(admin, { user: 'bob@example.org' })), [b.sid]);
    assert.deepEqual(ids(await r.list(admin, { active: true })), [anon.sid, live.sid].sort());
    assert.equal(await r.get(bob, a.sid), 'forbidden');
    assert.equal(await r.get(bob, live.sid), 'forbidden');
    assert.equal(await r.get(alice, anon.sid), 'forbidden');
    assert.equal(await r.get(admin, 'nope'), null);
    const mine = await r.get(alice, live.sid);
    assert.ok(mine && mine !== 'forbidden' && mine.summary.active);
  });

  it('streams summaries and one session live, ending with null at close', async () => {
    const r = await recorder();
    const summaries: SessionSummary[] = [];
    const stop = r.subscribeSessions(admin, (s) => summaries.push(s));
    const hidden: SessionSummary[] = [];
    r.subscribeSessions(bob, (s) => hidden.push(s));
    const t = openSession(bus);
    t.out('220 hi');
    const seen: (TraceEvent | null)[] = [];
    const follow = await r.follow(t.sid, (e) => seen.push(e));
    assert.ok(follow);
    assert.deepEqual(
      follow.events.map((e) => e.type),
      ['open', 'out'],
    );
    t.in('QUIT');
    t.state('quit');
    t.close('closed');
    assert.deepEqual(
      seen.map((e) => e?.type ?? null),
      ['in', 'state', 'close', null],
    );
    assert.deepEqual(
      summaries.map((s) => [s.state, s.active]),
      [
        ['connected', true],
        ['quit', true],
        ['quit', false],
      ],
    );
    assert.deepEqual(hidden, [], 'bob never authenticated in that session');
    stop();
    assert.equal(await r.follow(t.sid, () => {}), null, 'a closed session cannot be followed');
  });

  it('keeps at most maxEvents per session, plus the close', async () => {
    const r = await recorder({ maxEvents: 10 });
    const t = openSession(bus);
    for (let i = 0; i < 50; i++) t.out(`250 line ${i}`);
    t.close('closed');
    await r.flush();
    const events = await store.sessionLog.events(t.sid);
    assert.equal(events.length, 11);
    assert.equal(events.at(-1)?.type, 'close');
  });

  it('keeps at most about maxLiveEvents in all live sessions: each keeps its first 100 and its share', async () => {
    const r = await recorder({ maxEvents: 5000, maxLiveEvents: 2000 });
    // 20 long sessions (IDLE clients told of every delivery), 500 lines each: 10,000 events offered.
    const sessions = Array.from({ length: 20 }, () => openSession(bus, { proto: 'imap' }));
    for (let i = 0; i < 500; i++) for (const t of sessions) t.out(`* ${i + 1} EXISTS`);
    const kept = await Promise.all(sessions.map(async (t) => (await r.follow(t.sid, () => {}))?.events.length ?? 0));
    const total = kept.reduce((a, b) => a + b, 0);
    assert.ok(total <= 2000 + 20, `${total} events held by the live sessions`);
    for (const k of kept) assert.ok(k >= 100, `a session kept only ${k} events`);
    // The same probe sees a session's events grow while there is room.
    const r2 = await recorder({ maxEvents: 5000, maxLiveEvents: 1_000_000 });
    const t = openSession(bus, { proto: 'imap' });
    for (let i = 0; i < 500; i++) t.out(`* ${i + 1} EXISTS`);
    assert.ok(((await r2.follow(t.sid, () => {}))?.events.length ?? 0) >= 500);
  });

  it('applies retention and ends sessions a previous run left open', async () => {
    let r = await recorder({ historySessions: 3 });
    for (let i = 0; i < 5; i++) submission(bus, 'alice@example.org');
    const open = openSession(bus);
    open.out('220 hi');
    await r.stop();
    assert.equal(
      (await store.sessionLog.list()).length,
      4,
      'retention applies as the batch is written: the open session (never pruned) and the newest 3 finished ones',
    );
    r = await recorder({ historySessions: 3 });
    const left = await store.sessionLog.list();
    assert.equal(left.length, 3);
    assert.equal(left[0].id, open.sid);
    assert.equal(left[0].closeReason, 'server stopped');
    assert.equal((await r.list(admin))[0].active, false);
  });

  it('writes no finished session that retention would delete at once, and prunes in the same batch', async () => {
    const written: string[] = [];
    const append = store.sessionLog.append.bind(store.sessionLog);
    store.sessionLog.append = (batch) => {
      written.push(...batch.sessions.map((s) => s.id));
      return append(batch);
    };
    const r = await recorder({ historySessions: 4, flushMs: 10_000 });
    const first = Array.from({ length: 3 }, () => submission(bus, 'alice@example.org').sid);
    await r.flush();
    const batch = Array.from({ length: 6 }, () => submission(bus, 'alice@example.org').sid);
    await r.flush();
    assert.deepEqual(
      (await store.sessionLog.list()).map((s) => s.id),
      batch.slice(2).reverse(),
      'the newest 4 of the second batch; the first batch was pruned with it',
    );
    assert.deepEqual(
      written.sort(),
      [...first, ...batch.slice(2)].sort(),
      'the oldest 2 of the second batch are never written',
    );
    assert.equal((await store.sessionLog.events(batch[5])).length, 15);
    assert.deepEqual(await store.sessionLog.events(first[0]), []);
    assert.deepEqual(await store.sessionLog.events(batch[0]), []);
    assert.deepEqual(
      (await r.list(admin)).map((s) => s.id),
      batch.slice(2).reverse(),
    );
  });

  it('on a store shared by several nodes writes only its share of history_sessions', async () => {
    const written: string[] = [];
    const append = store.sessionLog.append.bind(store.sessionLog);
    store.sessionLog.append = (batch) => {
      written.push(...batch.sessions.map((s) => s.id));
      return append(batch);
    };
    // Three nodes registered, one of them with a heartbeat two minutes old: two alive, a share of 2 of 4.
    const node = (name: string, ageMs: number) => ({
      name,
      host: 'h',
      pid: 1,
      version: 'v',
      startedAt: new Date(0),
      heartbeatAt: new Date(Date.now() - ageMs),
    });
    Object.assign(store, { nodes: { list: async () => [node('n1', 0), node('n2', 1000), node('n3', 120_000)] } });
    const r = await recorder({ historySessions: 4, flushMs: 10_000 });
    const batch = Array.from({ length: 6 }, () => submission(bus, 'alice@example.org').sid);
    await r.flush();
    assert.deepEqual(written.sort(), batch.slice(4).sort(), 'the newest 2 of the batch, this node’s share');
  });

  it('with history_sessions = 0 writes nothing and shows only live sessions', async () => {
    const r = await recorder({ historySessions: 0 });
    submission(bus, 'alice@example.org');
    const live = openSession(bus);
    await r.flush();
    assert.deepEqual(await store.sessionLog.list(), []);
    assert.deepEqual(
      (await r.list(admin)).map((s) => s.id),
      [live.sid],
    );
  });

  it('writes in batches off the bus callback', async () => {
    const r = await recorder({ flushMs: 50 });
    const t = openSession(bus);
    t.out('220 hi');
    assert.equal(await store.sessionLog.get(t.sid), null, 'nothing is written synchronously');
    // The timer's flush writes it: wait for the row (polled, at most 5 s), with no flush() call.
    const deadline = Date.now() + 5000;
    while (!(await store.sessionLog.get(t.sid)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10)); // poll interval of a bounded wait
    }
    assert.equal((await store.sessionLog.get(t.sid))?.events, 2);
    await r.stop();
  });

  it('keeps the bytes of a session masked; the passwords only when allowed, only before TLS', async () => {
    const plain = Buffer.from('\0alice\0pw').toString('base64');
    const run = async (capturePasswords: boolean) => {
      const r = await recorder({ capturePasswords });
      const t = openSession(bus);
      t.wire('out', Buffer.from('220 mx ESMTP\r\n'));
      t.wire('in', Buffer.from(`AUTH PLAIN ${plain}\r\n`));
      t.wire('out', Buffer.from('235 2.7.0 ok\r\nSTARTTLS\r\n'));
      t.tls('TLSv1.3', 'TLS_AES_256_GCM_SHA384');
      t.wire('in', Buffer.from(`AUTH PLAIN ${plain}\r\n`));
      t.wire('out', Buffer.from('235 2.7.0 ok\r\n'));
      // The first line after an AUTH exchange is masked unless it is a known command (redact.ts): QUIT is.
      t.wire('in', Buffer.from('QUIT\r\n'));
      t.close('closed');
      await r.flush();
      await r.stop();
      assert.equal(r.isLive(t.sid), false);
      return r.wire(t.sid);
    };
    for (const allowed of [true, false]) {
      const wire = await run(allowed);
      const text = Buffer.concat(wire.map((w) => w.data)).toString('latin1');
      const masked = Buffer.from('\0*****\0**').toString('base64');
      assert.equal(
        text,
        `220 mx ESMTP\r\nAUTH PLAIN ${masked}\r\n235 2.7.0 ok\r\nSTARTTLS\r\nAUTH PLAIN ${masked}\r\n235 2.7.0 ok\r\nQUIT\r\n`,
      );
      assert.deepEqual(
        wire.map((w) => w.dir),
        ['out', 'in', 'out', 'in', 'out', 'in'],
      );
      const kept = wire.map((w) => w.secrets?.map(([at, b]) => [at, b.toString()]) ?? null);
      assert.deepEqual(
        kept,
        allowed ? [null, [[11, plain]], null, null, null, null] : [null, null, null, null, null, null],
      );
    }
  });

  it('lets a quiet open session go from memory once the history has it, and shows it whole', async () => {
    const r = await recorder({ flushMs: 3_600_000 }); // only the flushes the test asks for
    const t = openSession(bus, { proto: 'imap' });
    const say = (dir: 'in' | 'out', line: string) => {
      if (dir === 'in') t.in(line);
      else t.out(line);
      t.wire(dir, Buffer.from(`${line}\r\n`));
    };
    say('out', '* OK ready');
    say('in', 'a1 STARTTLS');
    say('out', 'a1 OK go');
    t.tls('TLSv1.3', 'TLS_AES_256_GCM_SHA384');
    say('in', 'a2 LOGIN alice@example.org <redacted>');
    t.auth('alice@example.org', true, 'LOGIN');
    say('out', 'a2 OK LOGIN completed');
    say('in', 'a3 IDLE');
    say('out', '+ idling');
    const whole = async () => {
      const got = await r.get(admin, t.sid);
      assert.ok(got && got !== 'forbidden');
      return { events: got.events, encrypted: got.encrypted, wire: await r.wire(t.sid) };
    };
    const before = await whole();
    assert.equal(before.events.length, 10);
    await r.flush(); // written
    assert.equal(r.held().events, 10);
    await r.flush(); // quiet since: let go
    assert.deepEqual(r.held(), { sessions: 1, events: 0, captureCost: 0 });
    assert.ok(r.isLive(t.sid));
    assert.deepEqual(await whole(), before);
    const followed: (TraceEvent | null)[] = [];
    const follow = await r.follow(t.sid, (e) => followed.push(e));
    assert.deepEqual(follow?.events, before.events);
    // It goes on: new events and bytes come after those let go, numbered and encrypted as the session's.
    say('out', '* 1 EXISTS');
    assert.deepEqual(
      followed.map((e) => e?.type),
      ['out'],
    );
    let now = await whole();
    assert.deepEqual(now.events.slice(0, 10), before.events);
    assert.deepEqual(now.wire.slice(0, before.wire.length), before.wire);
    assert.equal(now.events.length, 11);
    assert.equal(now.encrypted.at(-1), true);
    assert.equal(now.wire.at(-1)?.data.toString(), '* 1 EXISTS\r\n');
    await r.flush();
    await r.flush();
    assert.equal(r.held().events, 0);
    say('in', 'DONE');
    say('out', 'a3 OK IDLE terminated');
    t.close('closed');
    now = await whole();
    assert.equal(now.events.length, 14);
    assert.deepEqual(
      now.events.map((e) => (e.type === 'open' ? 0 : e.seq)),
      [0, ...Array.from({ length: 13 }, (_, i) => i + 1)],
    );
    await r.flush();
    assert.equal(r.isLive(t.sid), false);
    const stored = await store.sessionLog.get(t.sid);
    assert.equal(stored?.events, 14);
    const after = await whole();
    assert.deepEqual(after.events, now.events);
    assert.deepEqual(after.encrypted, now.encrypted);
    assert.deepEqual(
      after.wire.map((w) => [w.dir, w.t, w.data.toString()]),
      now.wire.map((w) => [w.dir, w.t, w.data.toString()]),
    );
    assert.deepEqual(r.held(), { sessions: 0, events: 0, captureCost: 0 });
  });

  it('keeps a session whose history could not be written, and with the history off', async () => {
    const r = await recorder({ flushMs: 3_600_000 });
    const append = store.sessionLog.append;
    store.sessionLog.append = () => Promise.reject(new Error('disk full'));
    const t = openSession(bus, { proto: 'imap' });
    t.out('* OK ready');
    await r.flush(); // fails
    store.sessionLog.append = append;
    await r.flush();
    await r.flush();
    assert.equal(r.held().events, 2);
    assert.equal((await r.follow(t.sid, () => {}))?.events.length, 2);
    await r.stop();
    const off = await recorder({ flushMs: 3_600_000, historySessions: 0 });
    const u = openSession(bus, { proto: 'imap' });
    u.out('* OK ready');
    await off.flush();
    await off.flush();
    assert.equal(off.held().events, 2);
  });

  it('cuts a capture at captureBytes with a note; all live captures share maxLiveBytes', async () => {
    const r = await recorder({ captureBytes: 1000 });
    const t = openSession(bus);
    for (let i = 0; i < 5; i++) t.wire('out', Buffer.alloc(300, 0x61));
    const live = await r.wire(t.sid);
    const bytes = live.reduce((a, w) => a + w.data.length, 0);
    assert.ok(bytes <= 1000 && bytes >= 700, `${bytes} bytes kept`);
    const got = await r.get(admin, t.sid);
    assert.ok(got && got !== 'forbidden');
    const notes = got.events.filter((e) => e.type === 'note').map((e) => (e.type === 'note' ? e.text : ''));
    assert.deepEqual(notes, [
      `capture cut after ${bytes} bytes: lab.capture_bytes (1000 bytes per session); the pcap ends here`,
    ]);
    await r.stop();

    const r2 = await recorder({ captureBytes: 1 << 20, maxLiveBytes: 20_000 });
    const sessions = Array.from({ length: 10 }, () => openSession(bus));
    for (let i = 0; i < 20; i++) for (const s of sessions) s.wire('in', Buffer.from(`${'x'.repeat(198)}\r\n`));
    let total = 0;
    for (const s of sessions) {
      const kept = (await r2.wire(s.sid)).reduce((a, w) => a + w.data.length, 0);
      assert.ok(kept >= 1000, `each session keeps about its share: ${kept}`);
      total += kept;
    }
    assert.ok(total <= 20_000, `${total} bytes held by all live captures`);
  });
});
