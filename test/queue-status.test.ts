/**
 * The queue section of `postbode status`: a server whose only route leads to a closed port defers its
 * mail; status shows the messages, pending recipients, age, next attempt and the deferral class, with the
 * worker on; after the server stops, status reads the same figures from the store; a server with
 * `delivery.enabled = false` says its worker is off.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { closedPort, eventually, submitMessages } from './harness/mail-flow.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

describe('postbode status: the outbound queue', () => {
  let a: PostbodeProcess;
  let off: PostbodeProcess;
  before(async () => {
    const port = await closedPort();
    a = await startPostbode({
      hostname: 'mx.a.test',
      domains: ['a.test'],
      listeners: ['submission'],
      outbound: true,
      extraArgs: ['--set', `delivery.transport={"b.test":"127.0.0.1:${port}"}`],
    });
    assert.equal(a.cli(['user', 'add', 'alice@a.test', '--password', 'secret']).code, 0);
    off = await startPostbode({ listeners: ['smtp'] });
  });
  after(async () => {
    await a?.stop();
    await off?.stop();
    removeDir(a.dataDir);
    removeDir(off.dataDir);
  });

  it('an empty queue and the worker state', () => {
    const on = a.cli(['status']);
    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stdout, /^outbound queue: empty; outbound worker on$/m);
    const r = off.cli(['status']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^outbound queue: empty; outbound worker off \(delivery\.enabled = false/m);
  });

  it('deferred mail: counts, oldest age, next attempt and the class of the last error', async () => {
    await submitMessages({
      port: a.ports.submission,
      user: 'alice@a.test',
      password: 'secret',
      to: ['bob@b.test', 'carol@b.test'],
      subjects: ['one'],
    });
    await submitMessages({
      port: a.ports.submission,
      user: 'alice@a.test',
      password: 'secret',
      to: ['bob@b.test'],
      subjects: ['two'],
    });
    const out = await eventually('both messages deferred', async () => {
      const r = a.cli(['status']);
      return /deferred: 3 recipients/.test(r.stdout) ? r.stdout : undefined;
    });
    assert.match(out, /^outbound queue: 2 messages, 3 recipients pending; outbound worker on$/m);
    assert.match(out, /^ {2}oldest \d+s old, next attempt in \d+[ms]( \d+s)? \(\d{4}-\d\d-\d\dT[\d:.]+Z\)$/m);
    assert.match(out, /^ {2}deferred: 3 recipients by last error: connection 3 \(details: postbode queue list\)$/m);
    assert.match(out, /queue 2$/m, 'the store line agrees');
  });

  it('a stopped server: the same figures from the store', async () => {
    await a.stop();
    const r = a.cli(['status']);
    assert.equal(r.code, 3);
    assert.match(r.stdout, /postbode is not running/);
    assert.match(r.stdout, /^outbound queue: 2 messages, 3 recipients pending; outbound worker not running/m);
    assert.match(r.stdout, /deferred: 3 recipients by last error: connection 3/);
  });
});
