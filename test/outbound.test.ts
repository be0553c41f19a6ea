/**
 * Outbound delivery between two postbode instances on loopback: A (a.test) routes b.test to B's SMTP port
 * through the static transport map. A user on A submits on 587; B's user reads it by POP3; a recipient
 * B does not know bounces back to the sender's INBOX on A as a DSN; B down for a while, then back and
 * `postbode queue flush` on A → delivered exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, submitMessages } from './harness/mail-flow.js';
import { popRetrieveAll } from './harness/pop3.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

/** One message from `from` (password "secret") to `to`, submitted on `port` with AUTH PLAIN. */
const submit = (port: number, from: string, to: string[], subject: string) =>
  submitMessages({ port, user: from, password: 'secret', to, subjects: [subject] });

const withSubject = (msgs: Buffer[], subject: string) =>
  msgs.filter((m) => m.toString('latin1').includes(`Subject: ${subject}\r\n`));

describe('outbound delivery between two servers', () => {
  let a: PostbodeProcess;
  let b: PostbodeProcess;
  let bSmtp: number;
  before(async () => {
    b = await startPostbode({ hostname: 'mx.b.test', domains: ['b.test'] });
    bSmtp = b.ports.smtp;
    assert.equal(b.cli(['user', 'add', 'bob@b.test', '--password', 'secret']).code, 0);
    a = await startPostbode({
      hostname: 'mx.a.test',
      domains: ['a.test'],
      outbound: true,
      extraArgs: [
        '--set',
        `delivery.transport={"b.test":"127.0.0.1:${bSmtp}"}`,
        '--set',
        'delivery.retry_interval_scan=1',
        '--set',
        'delivery.delay_warning=2',
      ],
    });
    assert.equal(a.cli(['user', 'add', 'alice@a.test', '--password', 'secret']).code, 0);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    removeDir(a.dataDir);
    removeDir(b.dataDir);
  });

  it('delivers a message submitted on A to a user on B', async () => {
    await submit(a.ports.submission, 'alice@a.test', ['bob@b.test'], 'first');
    const msgs = await eventually('the message at B', async () => {
      const got = withSubject(await popRetrieveAll(b.ports.pop3, 'bob@b.test', 'secret'), 'first');
      return got.length > 0 ? got : undefined;
    });
    assert.equal(msgs.length, 1);
    const text = msgs[0].toString('latin1');
    assert.match(text, /^Return-Path: <alice@a\.test>\r\n/);
    assert.match(text, /by mx\.a\.test /); // A's Received header travelled along
    assert.match(a.cli(['queue', 'list']).stdout, /the queue is empty/);
  });

  it('bounces a recipient unknown at B to the sender on A (multipart/report)', async () => {
    await submit(a.ports.submission, 'alice@a.test', ['nobody@b.test'], 'unknown');
    const dsn = await eventually('the DSN at A', async () => {
      const got = (await popRetrieveAll(a.ports.pop3, 'alice@a.test', 'secret')).filter((m) =>
        m.toString('latin1').includes('nobody@b.test'),
      );
      return got.length > 0 ? got[0].toString('latin1') : undefined;
    });
    assert.match(dsn, /^Return-Path: <>\r\n/);
    assert.match(dsn, /Content-Type: multipart\/report;\s+report-type=delivery-status/i);
    assert.match(dsn, /Final-Recipient: rfc822; ?nobody@b\.test/i);
    assert.match(dsn, /Action: failed/);
    assert.match(dsn, /Status: 5\.\d+\.\d+/);
    assert.match(dsn, /Subject: unknown/); // the original comes back
    assert.match(a.cli(['queue', 'list']).stdout, /the queue is empty/);
  });

  it('keeps the message while B is down and delivers it once after queue flush', async () => {
    await b.stop();
    await submit(a.ports.submission, 'alice@a.test', ['bob@b.test'], 'while-down');
    const line = await eventually('the failed attempt in the queue', async () => {
      const out = a.cli(['queue', 'list']).stdout;
      return /attempts [1-9].*last error: /.test(out) ? out : undefined;
    });
    const id = /^(\d+) /m.exec(line)?.[1];
    assert.ok(id, line);
    const show = a.cli(['queue', 'show', id]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /bob@b\.test {2}pending {2}last error: /);

    // Still failing once the message is older than delivery.delay_warning (2 s): one "delayed" DSN. Each
    // flush makes the entry due at once; the first attempt after the message is 2 s old sends the warning.
    const delayed = await eventually(
      'the delay warning at A',
      async () => {
        assert.match(a.cli(['queue', 'flush']).stdout, /1 queued message is due now/);
        const got = (await popRetrieveAll(a.ports.pop3, 'alice@a.test', 'secret')).filter((m) =>
          /Action: delayed/.test(m.toString('latin1')),
        );
        return got.length > 0 ? got : undefined;
      },
      20_000,
    );
    assert.equal(delayed.length, 1);
    const warning = delayed[0].toString('latin1');
    assert.match(warning, /^Return-Path: <>\r\n/);
    assert.match(warning, /Content-Type: multipart\/report;\s+report-type=delivery-status/i);
    assert.match(warning, /Final-Recipient: rfc822; ?bob@b\.test/i);
    assert.match(warning, /Status: 4\.\d+\.\d+/);
    assert.match(warning, /Will-Retry-Until: /);
    // The loop's last flush made the entry due again: wait until that attempt has failed and been recorded
    // (its next attempt is then a backoff away, a minute at least), or it could reach B once B is back
    // and empty the queue before the flush below.
    await eventually('the attempt of the last flush recorded', async () => {
      const next = /^ {2}next +(\S+)$/m.exec(a.cli(['queue', 'show', id]).stdout)?.[1];
      return next && Date.parse(next) > Date.now() ? true : undefined;
    });

    b = await startPostbode({
      hostname: 'mx.b.test',
      domains: ['b.test'],
      dataDir: b.dataDir,
      extraArgs: ['--listen', `smtp=127.0.0.1:${bSmtp}`],
    });
    // A's own retry (its backoff is short in tests) may already have delivered the message since B came
    // back: then the queue is empty and the flush finds nothing to make due. Either way, it arrives once.
    assert.match(a.cli(['queue', 'flush']).stdout, /^(1 queued message is|0 queued messages are) due now/);
    await eventually('the message at B', async () => {
      const got = withSubject(await popRetrieveAll(b.ports.pop3, 'bob@b.test', 'secret'), 'while-down');
      return got.length > 0 ? got : undefined;
    });
    await eventually('an empty queue on A', async () =>
      /the queue is empty/.test(a.cli(['queue', 'list']).stdout) ? true : undefined,
    );
    // Nothing is sent again: a probe sent after it takes the same way (A's queue, a scan, B) and arrives;
    // a second copy of the message, sent by the flush or a scan before the queue emptied, came before it.
    await submit(a.ports.submission, 'alice@a.test', ['bob@b.test'], 'probe');
    await eventually('the probe at B', async () => {
      const got = withSubject(await popRetrieveAll(b.ports.pop3, 'bob@b.test', 'secret'), 'probe');
      return got.length > 0 ? got : undefined;
    });
    const all = await popRetrieveAll(b.ports.pop3, 'bob@b.test', 'secret');
    assert.equal(withSubject(all, 'while-down').length, 1);
    assert.equal(withSubject(all, 'first').length, 1);
    // The warning went out once, however many attempts failed.
    const warnings = (await popRetrieveAll(a.ports.pop3, 'alice@a.test', 'secret')).filter((m) =>
      /Action: delayed/.test(m.toString('latin1')),
    );
    assert.equal(warnings.length, 1);
  });
});
