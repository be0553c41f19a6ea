/**
 * The IMAP engine end to end on the PostgreSQL store, in every run of `npm test` (the whole engine
 * suite runs on PostgreSQL with `npm run test:pg`): a real server process on its own schema, a user
 * added by the CLI, then one IMAP session that LOGINs, SELECTs, APPENDs, FETCHes, STOREs and EXPUNGEs
 * while a second one IDLEs and sees an SMTP delivery, the first one's flags and its EXPUNGE at once;
 * the mail is in the schema's tables, the data dir holds no SQLite database, and a restarted server
 * finds the mailbox as it was. Skipped (with the reason) only where PostgreSQL is not reachable and
 * CI is not set.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { ImapClient, smtpSend } from './harness/imap-client.js';
import { PG_TEST_URL, type PgTestSchema, pgSkip, pgTestSchema } from './harness/postgres.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

const skip = await pgSkip();

const USER = 'pg@example.test';
const PASSWORD = 'pg-password';
const msg = (subject: string) =>
  `From: Sender <s@remote.example>\r\nTo: ${USER}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replaceAll(' ', '.')}@remote.example>\r\n\r\nbody of ${subject}\r\n`;

describe('IMAP end to end on a PostgreSQL store', { skip }, () => {
  let schema: PgTestSchema;
  let pb: PostbodeProcess;
  let dataDir = '';
  const start = () =>
    startPostbode({
      listeners: ['smtp', 'imap'],
      ...(dataDir ? { dataDir } : {}),
      extraArgs: ['--store', schema.url, '--node', 'pg-e2e', '--set', 'auth.failure_delay_ms=0'],
    });

  /** One value from this test's schema, read past the server. */
  async function sql<T>(text: string): Promise<T> {
    const client = new pg.Client({ connectionString: PG_TEST_URL });
    await client.connect();
    try {
      await client.query(`SET search_path TO "${schema.schema}"`);
      return (await client.query(text)).rows[0] as T;
    } finally {
      await client.end();
    }
  }

  before(async () => {
    if (skip) return;
    schema = pgTestSchema('imap_e2e');
    pb = await start();
    dataDir = pb.dataDir;
    const added = pb.cli(['user', 'add', USER, '--password', PASSWORD]);
    assert.equal(added.code, 0, added.stderr);
  });
  after(async () => {
    if (skip) return;
    await pb?.stop();
    if (dataDir) removeDir(dataDir);
    await schema.drop();
  });

  it('LOGIN, SELECT, APPEND, FETCH, STORE, EXPUNGE; IDLE sees a delivery, flags and the expunge', async () => {
    const a = await ImapClient.connect(pb.ports.imap);
    const b = await ImapClient.connect(pb.ports.imap);
    try {
      await a.login(USER, PASSWORD);
      await b.login(USER, PASSWORD);
      const selected = await a.ok('SELECT INBOX');
      assert.ok(selected.untagged.includes('* 0 EXISTS'), JSON.stringify(selected.untagged));
      const validity = /UIDVALIDITY (\d+)/.exec(selected.untagged.join('\n'))?.[1];
      assert.ok(validity);

      const appended = await a.append('INBOX', msg('appended one'), '\\Seen');
      assert.equal(appended.status, 'OK', appended.tagged);
      assert.match(appended.tagged, new RegExp(`\\[APPENDUID ${validity} 1\\]`));
      assert.ok(appended.untagged.includes('* 1 EXISTS'), JSON.stringify(appended.untagged));

      assert.ok((await b.ok('SELECT INBOX')).untagged.includes('* 1 EXISTS'));
      b.send('i1 IDLE');
      assert.match(await b.response(), /^\+ /);

      // A delivery over SMTP reaches the IDLE session.
      assert.match(await smtpSend(pb.ports.smtp, 's@remote.example', [USER], msg('delivered two')), /^250 /);
      await b.waitFor(/^\* 2 EXISTS$/, 10_000);
      assert.ok((await a.ok('NOOP')).untagged.includes('* 2 EXISTS'));

      const fetched = await a.ok('UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
      assert.equal(fetched.untagged.filter((r) => /^\* \d+ FETCH /.test(r)).length, 2, JSON.stringify(fetched));
      assert.match(
        fetched.untagged.join('\n'),
        /^\* 1 FETCH \(UID 1 FLAGS \((\\Recent )?\\Seen\) .*Subject: appended one/ms,
      );
      assert.match(fetched.untagged.join('\n'), /^\* 2 FETCH \(UID 2 FLAGS \(.*Subject: delivered two/ms);
      const body = await a.ok('FETCH 2 (BODY[TEXT])');
      assert.match(body.untagged.join('\n'), /body of delivered two/);
      assert.ok((await a.ok('FETCH 2 (FLAGS)')).untagged.some((r) => /^\* 2 FETCH \(FLAGS \(.*\\Seen/.test(r)));

      // A's STORE reaches the IDLE session as FETCH FLAGS, its EXPUNGE as EXPUNGE.
      const stored = await a.ok('STORE 1 +FLAGS (\\Deleted \\Flagged)');
      assert.match(stored.untagged.join('\n'), /^\* 1 FETCH \(FLAGS \(.*\\Deleted/m);
      await b.waitFor(/^\* 1 FETCH \(.*FLAGS \(.*\\Flagged/, 10_000);
      // (A selected first: message 1 was its \Recent one, so a RECENT count follows.)
      assert.equal((await a.ok('EXPUNGE')).untagged[0], '* 1 EXPUNGE');
      await b.waitFor(/^\* 1 EXPUNGE$/, 10_000);
      b.send('DONE');
      assert.equal((await b.until('i1')).status, 'OK');

      const left = await b.ok('UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
      assert.equal(left.untagged.length, 1, JSON.stringify(left.untagged));
      assert.match(left.untagged[0], /^\* 1 FETCH \(UID 2 .*Subject: delivered two/s);
      await a.ok('LOGOUT');
      await b.ok('LOGOUT');
    } finally {
      a.close();
      b.close();
    }
  });

  it('the mail is in the PostgreSQL schema, not in a SQLite database of the data dir', async () => {
    const row = await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.name = 'INBOX'`,
    );
    assert.equal(row.n, 1);
    assert.equal(existsSync(path.join(dataDir, 'postbode.db')), false);
  });

  it('a restarted server finds the mailbox as it was', async () => {
    await pb.stop();
    pb = await start();
    const c = await ImapClient.connect(pb.ports.imap);
    try {
      await c.login(USER, PASSWORD);
      const selected = await c.ok('SELECT INBOX');
      assert.ok(selected.untagged.includes('* 1 EXISTS'), JSON.stringify(selected.untagged));
      assert.ok(
        selected.untagged.some((r) => /UIDNEXT 3\]/.test(r)),
        JSON.stringify(selected.untagged),
      );
      const f = await c.ok('UID FETCH 2 (FLAGS)');
      assert.match(f.untagged.join('\n'), /UID 2/);
      await c.ok('LOGOUT');
    } finally {
      c.close();
    }
  });
});
