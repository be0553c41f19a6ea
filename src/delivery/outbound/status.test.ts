/** The deferral classes of recorded errors and the queue status built from a real store (test/harness/store.ts). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { openTestStore } from '../../../test/harness/store.js';
import { formatDuration, formatQueueStatus } from '../../cli/main.js';
import { deferralClass, queueStatus } from './status.js';

describe('queue status', () => {
  test('errors as client.ts and routes.ts record them fall into their class', () => {
    const cases: [string, string][] = [
      ['127.0.0.1:2525: ESOCKET: connect ECONNREFUSED 127.0.0.1:2525', 'connection'],
      ['mx.b.test:25: ETIMEDOUT: Connection timeout', 'connection'],
      ['mx.b.test:25: connection closed during setup', 'connection'],
      ['MX b.test: DNS lookup failed (ESERVFAIL)', 'dns'],
      ['relay.test:587: AUTH failed: 535 5.7.8 Authentication failed', 'auth'],
      ['relay.test:587: ETLS: self-signed certificate', 'tls'],
      ['451 4.3.0 Temporary server error', 'reply-4xx'],
      ['mx.b.test:25: 421 4.7.0 Too many connections', 'reply-4xx'],
      ['503 5.5.1 Bad sequence of commands', 'reply-5xx'],
      ['something else entirely', 'other'],
    ];
    for (const [error, cls] of cases) assert.equal(deferralClass(error), cls, error);
  });

  test('queueStatus sums deferred recipients by class; formatting for the CLI', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'postbode-qstatus-'));
    const store = await openTestStore({ dataDir: dir });
    try {
      const remote = {
        envelopeFrom: 'a@a.test',
        recipients: ['x@b.test', 'y@b.test'].map((address) => ({ address, notify: null, orcpt: null })),
        dsnRet: null,
        dsnEnvid: null,
      };
      const { queueId } = await store.deliver({
        raw: Buffer.from('Subject: x\r\n\r\nx\r\n'),
        meta: null,
        local: [],
        remote,
      });
      assert.ok(queueId);
      const next = new Date(Date.now() + 125_000);
      await store.queue.recordAttempt(queueId, {
        recipients: [
          { address: 'x@b.test', state: 'pending', error: 'b:25: ESOCKET: connect ECONNREFUSED' },
          { address: 'y@b.test', state: 'pending', error: '450 4.2.1 mailbox busy' },
        ],
        nextAttemptAt: next,
        error: '450 4.2.1 mailbox busy',
      });
      const now = new Date(Date.now() + 3_700_000);
      const q = await queueStatus(store, { workerEnabled: true, now });
      assert.equal(q.worker, 'on');
      assert.equal(q.messages, 1);
      assert.equal(q.recipientsPending, 2);
      assert.equal(q.deferred, 2);
      assert.deepEqual(q.deferredByClass, { connection: 1, 'reply-4xx': 1 });
      assert.equal(q.nextAttempt, next.toISOString());
      assert.ok((q.oldestAgeSeconds ?? 0) >= 3699 && (q.oldestAgeSeconds ?? 0) <= 3701);
      const lines = formatQueueStatus(q, 'running', new Date(next.getTime() - 125_000));
      assert.deepEqual(lines[0], 'outbound queue: 1 message, 2 recipients pending; outbound worker on');
      assert.match(lines[1], /^ {2}oldest 1h 1m old, next attempt in 2m 5s \(/);
      assert.match(
        lines[2],
        /deferred: 2 recipients by last error: (connection 1, reply-4xx 1|reply-4xx 1, connection 1)/,
      );
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('durations show the two largest units', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(59), '59s');
    assert.equal(formatDuration(3600), '1h');
    assert.equal(formatDuration(3661), '1h 1m');
    assert.equal(formatDuration(4 * 86400 + 7200), '4d 2h');
  });
});
