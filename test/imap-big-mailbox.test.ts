/**
 * A big mailbox selected by several sessions (issue 14 item 2): the sessions share one snapshot of
 * it (src/imap/snapshot.ts), so a session that selects a mailbox others have selected costs a small,
 * fixed amount of memory, not one object per message. The figure asserted is memory, measured after
 * garbage collection, never time: the IMAP engine runs in this process (test/harness/imap-harness.ts,
 * real listener, real SQLite/PostgreSQL store), so the JavaScript heap plus array buffers of the
 * process is the server's, plus the few small test clients.
 *
 * 20,000 messages keep the test quick; the one-object-per-message view this replaced took about 100
 * bytes per message per session (2 MB here), the bound is 256 KiB.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { type ImapHarness, startImap } from './harness/imap-harness.js';

const MESSAGES = 20_000;
const EXTRA_SESSIONS = 8;
const BOUND_PER_SESSION = 256 * 1024;

/** `gc()` without starting node with --expose-gc. */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

describe('IMAP: a big mailbox selected by several sessions', () => {
  let h: ImapHarness;
  let mailboxId: number;

  before(async () => {
    h = await startImap();
    const accountId = await h.account('alice@example.test', 'pw');
    const inbox = await h.store.mailboxes.get(accountId, 'INBOX');
    assert.ok(inbox);
    mailboxId = inbox.id;
    const raw = Buffer.from('From: <bob@example.test>\r\nSubject: hello\r\n\r\nHello.\r\n');
    for (let from = 0; from < MESSAGES; from += 2000) {
      const batch = [];
      for (let i = from; i < Math.min(MESSAGES, from + 2000); i++) {
        batch.push({ mailboxId, raw, meta: {}, flags: i % 50 === 0 ? [] : ['\\Seen'] });
      }
      await h.store.messages.appendMany(batch);
    }
  });

  after(async () => {
    await h.stop();
  });

  it('costs each extra session selecting it a bounded amount of memory, and all see the same mailbox', async (t) => {
    const gc = collector();
    const usage = () => {
      gc();
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const first = await h.connect();
    const r = await first.cmd('SELECT INBOX');
    assert.equal(r.status, 'OK');
    assert.ok(r.untagged.includes(`* ${MESSAGES} EXISTS`), r.untagged.join('\n'));
    // Logged in before the baseline: what is measured is the SELECT alone.
    const extra = [];
    for (let i = 0; i < EXTRA_SESSIONS; i++) extra.push(await h.connect());
    const base = usage();
    for (const c of extra) {
      const s = await c.cmd('SELECT INBOX');
      assert.equal(s.status, 'OK');
      assert.ok(s.untagged.includes(`* ${MESSAGES} EXISTS`));
      assert.ok(s.untagged.includes('* OK [UNSEEN 1] First unseen message'), s.untagged.join('\n'));
    }
    const perSession = (usage() - base) / EXTRA_SESSIONS;
    t.diagnostic(`${Math.round(perSession)} bytes per extra session selecting ${MESSAGES} messages`);
    assert.ok(
      perSession < BOUND_PER_SESSION,
      `each extra session took ${Math.round(perSession / 1024)} KiB (bound ${BOUND_PER_SESSION / 1024} KiB)`,
    );

    // The shared snapshot is right for every session after changes by one of them and by the store.
    const a = extra[0];
    const b = extra[1];
    assert.equal((await a.cmd('STORE 2:3 +FLAGS.SILENT (\\Deleted)')).status, 'OK');
    assert.equal((await a.cmd('EXPUNGE')).status, 'OK');
    const noop = await b.cmd('NOOP');
    assert.deepEqual(
      noop.untagged.filter((l) => l.endsWith('EXPUNGE')),
      ['* 2 EXPUNGE', '* 2 EXPUNGE'],
    );
    const unseen = await b.cmd('UID SEARCH UNSEEN');
    assert.ok(
      unseen.untagged.some((l) => l.startsWith('* SEARCH 1 51 101 ')),
      unseen.untagged.join('\n'),
    );
    const later = await h.connect();
    const sel = await later.cmd('SELECT INBOX');
    assert.ok(sel.untagged.includes(`* ${MESSAGES - 2} EXISTS`), sel.untagged.join('\n'));
    const fetched = await later.cmd('FETCH 1:3 (UID FLAGS)');
    assert.deepEqual(
      fetched.untagged.filter((l) => l.includes('FETCH')),
      ['* 1 FETCH (UID 1 FLAGS ())', '* 2 FETCH (UID 4 FLAGS (\\Seen))', '* 3 FETCH (UID 5 FLAGS (\\Seen))'],
    );
  });
});
