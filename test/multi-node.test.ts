/**
 * Two `postbode serve` processes (nodes) on one PostgreSQL schema: a user added with `--store` by the CLI
 * (which creates no data dir) logs in over IMAP on both; `postbode status --store` lists both nodes; a
 * web login made on one node is valid on the other; lab session ids carry the node's name; a node whose
 * data dir lacks the other nodes' keys is refused; mail delivered on one node reaches IMAP (IDLE too) on
 * the other.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImapClient, quote, smtpSend } from './harness/imap-client.js';
import { eventually } from './harness/mail-flow.js';
import { type PgTestSchema, pgSkip, pgTestSchema } from './harness/postgres.js';
import { type PostbodeProcess, runCli, startPostbode } from './harness/server.js';
import { Api } from './harness/web-api-client.js';

const skip = await pgSkip();

const LISTENERS = ['smtp', 'imap', 'http'];
const USER = 'nodes@example.test';
const PASSWORD = 'long-enough-password';

async function imapLogin(port: number, user = USER, pass = PASSWORD): Promise<ImapClient> {
  const c = await ImapClient.connect(port);
  await c.ok(`LOGIN ${quote(user)} ${quote(pass)}`);
  return c;
}

describe('several nodes on one PostgreSQL store', { skip }, () => {
  let schema: PgTestSchema;
  const root = mkdtempSync(path.join(tmpdir(), 'postbode-nodes-'));
  /** A data dir that does not exist: the CLI with --store must not create it. */
  const nowhere = path.join(root, 'cli-nowhere');
  let a: PostbodeProcess;
  let b: PostbodeProcess;
  const cli = (args: string[]) => runCli([...args, '--store', schema.url, '--data-dir', nowhere]);
  const node = (name: string) => ['--store', schema.url, '--node', name];

  before(async () => {
    if (skip) return;
    schema = pgTestSchema('nodes');
    a = await startPostbode({ listeners: LISTENERS, dataDir: path.join(root, 'a'), extraArgs: node('node-a') });
    // The second node's data dir holds a copy of the first one's keys (docs/operations.md "Several nodes").
    mkdirSync(path.join(root, 'b'), { mode: 0o700 });
    cpSync(path.join(a.dataDir, 'secret.key'), path.join(root, 'b', 'secret.key'));
    b = await startPostbode({ listeners: LISTENERS, dataDir: path.join(root, 'b'), extraArgs: node('node-b') });
  });
  after(async () => {
    if (skip) return;
    await Promise.all([a?.stop(), b?.stop()]);
    rmSync(root, { recursive: true, force: true });
    await schema.drop();
  });

  it('a user added with --store by the CLI logs in over IMAP on both nodes; no data dir is created', async () => {
    const r = cli(['user', 'add', USER, '--password', PASSWORD]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /added user nodes@example\.test/);
    assert.match(r.stderr, /database postgresql:\/\/postgres@127\.0\.0\.1/);
    assert.doesNotMatch(r.stderr, /no postbode node is running|created a new database/);
    assert.match(r.stderr, /no secret\.key in/, 'the CLI says it sealed no APOP secret');
    assert.equal(existsSync(nowhere), false);
    for (const pb of [a, b]) await (await imapLogin(pb.ports.imap)).ok('LOGOUT');
    assert.match(cli(['user', 'list']).stdout, /nodes@example\.test/);
  });

  it('postbode status --store lists both nodes, from anywhere and on a node', () => {
    const r = cli(['status']);
    assert.equal(r.code, 0, `live nodes: status succeeds\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /the nodes below serve postgresql:/);
    assert.match(r.stdout, /nodes: 2/);
    assert.match(r.stdout, /^ {2}node-a {2}host .*, pid \d+, .*heartbeat \d+s ago$/m);
    assert.match(r.stdout, /^ {2}node-b {2}host /m);
    assert.equal(existsSync(nowhere), false);
    const onA = a.cli(['status', ...node('node-a')]);
    assert.equal(onA.code, 0, onA.stderr);
    assert.match(onA.stdout, /postbode is running/);
    assert.match(onA.stdout, /node-a .*\(this node\)/);
    assert.match(onA.stdout, /node-b /);
    assert.doesNotMatch(onA.stdout, /WARNING: the key files/);
  });

  it('a web login made on one node is valid on the other, and a logout ends it on both', async () => {
    const onA = await Api.login(`http://127.0.0.1:${a.ports.http}`, USER, PASSWORD);
    const onB = new Api(`http://127.0.0.1:${b.ports.http}`);
    onB.cookie = onA.cookie;
    assert.deepEqual(await onB.json('GET', '/api/me'), { name: USER, role: 'user' });
    await onB.json('POST', '/api/logout', undefined, 204);
    await onA.json('GET', '/api/me', undefined, 401);
  });

  it("lab session ids carry the node's name, and each node's sessions are seen on the other", async () => {
    for (const pb of [a, b]) await (await imapLogin(pb.ports.imap)).ok('LOGOUT');
    const api = await Api.login(`http://127.0.0.1:${b.ports.http}`, USER, PASSWORD);
    const ids = await eventually('IMAP sessions of both nodes in the lab history', async () => {
      const { sessions } = await api.json<{ sessions: { id: string; proto: string; active?: boolean }[] }>(
        'GET',
        '/api/sessions?proto=imap&limit=50',
      );
      const ids = sessions.filter((s) => !s.active).map((s) => s.id);
      return ids.some((id) => id.startsWith('node-a-')) && ids.some((id) => id.startsWith('node-b-')) ? ids : undefined;
    });
    assert.ok(
      ids.every((id) => /^node-[ab]-/.test(id)),
      ids.join(' '),
    );
  });

  it("a node without the other nodes' secret.key is refused at start, and gets none of its own", async () => {
    const dataDir = path.join(root, 'c');
    await assert.rejects(
      startPostbode({ listeners: ['smtp'], dataDir, extraArgs: node('node-c') }),
      /are not those of the other nodes of this database: secret\.key is missing here/,
    );
    assert.equal(existsSync(path.join(dataDir, 'secret.key')), false);
    assert.doesNotMatch(cli(['status']).stdout, /node-c/);
  });

  // Needs the messages part of the PostgreSQL backend (deliver, mailboxes, the change feed).
  it('mail delivered on one node reaches IDLE on the other, and is read there', async () => {
    const reader = await imapLogin(b.ports.imap);
    try {
      const list = await reader.ok('LIST "" "*"');
      assert.ok(
        list.untagged.some((l) => /INBOX/.test(l)),
        list.untagged.join('\n'),
      );
      assert.ok((await reader.ok('SELECT INBOX')).untagged.includes('* 0 EXISTS'));
      reader.send('i1 IDLE');
      assert.match(await reader.response(), /^\+ /);
      await smtpSend(a.ports.smtp, 'sender@remote.example', [USER], 'Subject: via node a\r\n\r\nhello b\r\n');
      await reader.waitFor(/^\* 1 EXISTS$/, 10_000);
      reader.send('DONE');
      assert.equal((await reader.until('i1')).status, 'OK');
      const fetched = await reader.ok('FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
      assert.ok(
        fetched.untagged.some((l) => /via node a/.test(l)),
        fetched.untagged.join('\n'),
      );
      await reader.ok('LOGOUT');
    } finally {
      reader.socket.destroy();
    }
    // A new session on the first node reads the same mailbox.
    const other = await imapLogin(a.ports.imap);
    assert.ok((await other.ok('SELECT INBOX')).untagged.includes('* 1 EXISTS'));
    await other.ok('LOGOUT');
  });
});
