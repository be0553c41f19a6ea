/**
 * The live checker (progress.ts) with a real recorder and store: a quiet session lets its model go and
 * gets it back from the history at its next batch, and is credited as if it had kept it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openTestStore } from '../../../test/harness/store.js';
import { silentLogger } from '../../log.js';
import type { Store } from '../../store/types.js';
import { SessionTrace, TraceBus } from '../../trace/bus.js';
import { SessionRecorder } from '../recorder/index.js';
import { builtinExercises } from './definitions.js';
import { ExerciseTracker } from './progress.js';

const STUDENT = 'student1@example.test';

describe('ExerciseTracker on live sessions', () => {
  let dir: string;
  let store: Store;
  let bus: TraceBus;
  let recorder: SessionRecorder;
  let tracker: ExerciseTracker;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'postbode-progress-'));
    store = await openTestStore({ dataDir: dir });
    await store.accounts.create({ address: STUDENT, passwordHash: 'x', apopSecret: null, quotaBytes: null });
    bus = new TraceBus();
    // Only the flushes the tests ask for.
    recorder = new SessionRecorder({
      bus,
      store,
      log: silentLogger(),
      historySessions: 1000,
      historyDays: 30,
      flushMs: 3_600_000,
    });
    await recorder.start();
    tracker = new ExerciseTracker({ store, log: silentLogger(), exercises: builtinExercises(), recorder });
    tracker.start();
  });

  afterEach(async () => {
    await tracker.stop();
    await recorder.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  function imapSession(sid: string): SessionTrace {
    bus.emit({
      type: 'open',
      sid,
      t: Date.now(),
      proto: 'imap',
      listener: 'imap',
      remote: '192.0.2.9',
      remotePort: 40000,
      local: '127.0.0.1',
      localPort: 143,
      tls: false,
    });
    return new SessionTrace(bus, sid);
  }

  /** The greeting and the student's LOGIN on `t`. */
  function loggedIn(t: SessionTrace): SessionTrace {
    t.out('* OK ready');
    t.in('a1 LOGIN student1@example.test <redacted>');
    t.auth(STUDENT, true, 'LOGIN');
    t.out('a1 OK LOGIN completed');
    return t;
  }

  const done = async () => {
    await tracker.settled();
    return (await store.exerciseProgress.list({ student: STUDENT })).map((r) => r.exercise).sort();
  };

  it('lets a quiet session’s model go and rebuilds it from the history at its next batch', async () => {
    const t = loggedIn(imapSession('q1'));
    t.in('a2 SELECT INBOX');
    t.out('* 0 EXISTS');
    t.out('a2 OK [READ-WRITE] SELECT completed');
    await recorder.flush();
    assert.deepEqual(tracker.held(), { sessions: 1, models: 1 });
    tracker.sweep(0); // quiet
    assert.deepEqual(tracker.held(), { sessions: 1, models: 0 });
    // LIST after the SELECT: login-select needs both after the LOGIN, in any order.
    t.in('a3 LIST "" "*"');
    t.out('* LIST () "/" INBOX');
    t.out('a3 OK LIST completed');
    await recorder.flush();
    assert.deepEqual(await done(), ['imap-login-select']);
    assert.deepEqual(tracker.held(), { sessions: 1, models: 1 });
    // Quiet again, then IDLE with an EXISTS during it; then the session ends.
    tracker.sweep(0);
    t.in('a4 IDLE');
    t.out('+ idling');
    await recorder.flush();
    tracker.sweep(0);
    t.out('* 1 EXISTS');
    t.in('DONE');
    t.out('a4 OK IDLE terminated');
    t.close('closed');
    await recorder.flush();
    assert.deepEqual(await done(), ['imap-idle', 'imap-login-select']);
    assert.deepEqual(tracker.held(), { sessions: 0, models: 0 });
  });

  it('keeps the model of a long quiet session (rebuilding it would cost more than it holds)', async () => {
    const t = loggedIn(imapSession('q3'));
    t.in('a2 IDLE');
    t.out('+ idling');
    for (let i = 1; i <= 300; i++) t.out(`* ${i} EXISTS`);
    await recorder.flush();
    tracker.sweep(0);
    assert.deepEqual(tracker.held(), { sessions: 1, models: 1 });
    assert.deepEqual(await done(), ['imap-idle']);
  });

  it('keeps no model for a session no rule can credit any more, nor for a protocol without rules', async () => {
    const t = loggedIn(imapSession('q2'));
    for (const [i, line] of [
      'SELECT INBOX',
      'LIST "" "*"',
      'FETCH 1 (BODY.PEEK[HEADER])',
      'STORE 1 +FLAGS (\\Seen)',
      'CREATE Done',
      'COPY 1 Done',
    ].entries()) {
      t.in(`b${i} ${line}`);
      t.out(`b${i} OK done`);
    }
    t.in('c1 IDLE');
    t.out('+ idling');
    t.out('* 2 EXISTS');
    t.in('DONE');
    t.out('c1 OK IDLE terminated');
    await recorder.flush();
    // Every IMAP rule is done, and the autoconfig one cannot be (no configuration was fetched).
    assert.deepEqual(tracker.held(), { sessions: 1, models: 0 });
    assert.equal((await done()).length, 6);
    bus.emit({
      type: 'open',
      sid: 'm1',
      t: Date.now(),
      proto: 'managesieve',
      listener: 'managesieve',
      remote: '192.0.2.9',
      remotePort: 40001,
      local: '127.0.0.1',
      localPort: 4190,
      tls: false,
    });
    await recorder.flush();
    assert.deepEqual(tracker.held(), { sessions: 1, models: 0 });
  });
});
