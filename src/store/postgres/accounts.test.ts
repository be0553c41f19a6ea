/**
 * PostgreSQL accounts and the session log beyond the contract, for several nodes on one database:
 * one address created at once by two nodes, UIDVALIDITY unique across nodes creating at once,
 * deleting an account reporting the expunge of its messages, and `finishOpen` ending only the
 * sessions of its own node.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { loggedSession } from '../../../test/harness/logged-session.js';
import { pgSkip, pgTestSchema } from '../../../test/harness/postgres.js';
import { DEFAULT_MAILBOXES, type MailboxChange, StoreConflictError } from '../types.js';
import { pgAccounts, pgAliases, pgDomains } from './accounts.js';
import { PgContext } from './db.js';
import { migratePg } from './schema.js';
import { pgSessionLog } from './sessionlog.js';
import { nextUidValidity } from './uidvalidity.js';

const skip = await pgSkip();

describe('PostgreSQL accounts and session log, several nodes', { skip }, () => {
  let schema: ReturnType<typeof pgTestSchema>;
  let nodes: PgContext[];

  async function open(node: string): Promise<PgContext> {
    const c = new PgContext({ url: schema.url, schema: schema.schema, node });
    const client = await c.pool.connect();
    try {
      await migratePg(client, c.schema);
    } finally {
      client.release();
    }
    return c;
  }

  beforeEach(async () => {
    schema = pgTestSchema('acc');
    nodes = [await open('a'), await open('b')];
  });
  afterEach(async () => {
    for (const n of nodes) await n.close();
    await schema.drop();
  });

  it('one address created by two nodes at once: one account, one StoreConflictError', async () => {
    const results = await Promise.allSettled(
      nodes.map((n) => pgAccounts(n).create({ address: 'race@example.org', passwordHash: 'h' })),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const refused = results.find((r) => r.status === 'rejected');
    assert.ok(refused?.status === 'rejected' && refused.reason instanceof StoreConflictError);
    assert.equal(await nodes[0].value('SELECT count(*) FROM mailboxes'), DEFAULT_MAILBOXES.length);
  });

  it("lookup reads in one statement what the single reads give, and sees another node's change at once", async () => {
    const [a, b] = nodes.map((n) => pgAccounts(n));
    const aliases = pgAliases(nodes[1]);
    const domains = pgDomains(nodes[1]);
    await domains.add('Example.org');
    const one = await b.create({ address: 'one@example.org', passwordHash: 'h', quotaBytes: 1000 });
    await b.create({ address: 'one@other.example', passwordHash: 'h' });
    await aliases.set('@example.org', ['one@example.org']);
    await nodes[1].run("UPDATE mailboxes SET total_size = 123 WHERE account_id = $1 AND name = 'INBOX'", [one.id]);
    const query = {
      domains: ['EXAMPLE.org', 'nowhere.example'],
      aliases: ['@example.org', 'x@example.org'],
      accounts: ['One@example.org', 'two@example.org'],
      localParts: ['ONE', 'two'],
      usage: true,
    };
    const facts = await a.lookup!(query);
    assert.deepEqual([...facts.domains], ['example.org']);
    assert.deepEqual([...facts.aliases], [['@example.org', ['one@example.org']]]);
    assert.deepEqual([...facts.accounts.keys()], ['one@example.org']);
    assert.deepEqual(facts.accounts.get('one@example.org'), await a.get('one@example.org'));
    assert.deepEqual([...facts.usage], [[one.id, 123]]);
    assert.deepEqual(
      [...facts.localParts].map(([lp, list]) => [lp, list.map((x) => x.address)]),
      [
        ['one', ['one@example.org', 'one@other.example']],
        ['two', []],
      ],
    );
    assert.deepEqual(facts.localParts.get('one'), await a.withLocalPart('one'));
    // Nothing is cached: an account made on node b is found by node a's next lookup.
    await b.create({ address: 'two@example.org', passwordHash: 'h' });
    const again = await a.lookup!(query);
    assert.deepEqual([...again.accounts.keys()].sort(), ['one@example.org', 'two@example.org']);
    assert.equal(again.localParts.get('two')?.length, 1);
    // Parts not asked are empty.
    const none = await a.lookup!({});
    assert.deepEqual([none.domains.size, none.aliases.size, none.accounts.size, none.localParts.size], [0, 0, 0, 0]);
  });

  it('UIDVALIDITY is unique and ascending across nodes creating at once', async () => {
    const before = Math.floor(Date.now() / 1000);
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        pgAccounts(nodes[i % 2]).create({ address: `u${i}@example.org`, passwordHash: 'h' }),
      ),
    );
    const rows = await nodes[0].rows<{ account_id: number; uidvalidity: number }>(
      'SELECT account_id, uidvalidity FROM mailboxes ORDER BY id',
    );
    assert.equal(rows.length, 8 * DEFAULT_MAILBOXES.length);
    assert.equal(new Set(rows.map((r) => r.uidvalidity)).size, rows.length, 'no value twice');
    for (const r of rows) assert.ok(r.uidvalidity >= before && r.uidvalidity <= 0xffffffff);
    const last = Math.max(...rows.map((r) => r.uidvalidity));
    assert.equal(await nodes[1].tx((tx) => nextUidValidity(tx)), last + 1, 'the next is above every value handed out');
  });

  it('deleting an account reports the expunge of its messages and removes everything of it', async () => {
    const accounts = pgAccounts(nodes[0]);
    const a = await accounts.create({ address: 'gone@example.org', passwordHash: 'h' });
    const inbox = await nodes[0].value<number>(`SELECT id FROM mailboxes WHERE account_id = $1 AND name = 'INBOX'`, [
      a.id,
    ]);
    assert.ok(inbox);
    await nodes[0].tx(async (tx) => {
      const blob = await tx.value<number>(
        `INSERT INTO blobs (hash, size, meta, data) VALUES ('h1', 1, 'null', '\\x41') RETURNING id`,
      );
      for (const uid of [1, 2]) {
        await tx.run(
          'INSERT INTO messages (mailbox_id, uid, blob_id, size, internaldate, modseq) VALUES ($1, $2, $3, 1, 0, $4)',
          [inbox, uid, blob, uid + 1],
        );
      }
      await tx.run('UPDATE mailboxes SET uidnext = 3, highestmodseq = 3, total_size = 2 WHERE id = $1', [inbox]);
    });
    assert.equal(await accounts.usage(a.id), 2);
    const reported: MailboxChange[] = [];
    nodes[0].onCommit = (changes) => reported.push(...changes);
    assert.equal(await accounts.delete('GONE@example.org'), true);
    assert.deepEqual(reported, [{ kind: 'expunge', mailboxId: inbox, uids: [1, 2], modseq: 4 }]);
    assert.equal(await accounts.get('gone@example.org'), null);
    assert.equal(await nodes[0].value('SELECT count(*) FROM mailboxes'), 0);
    assert.equal(await nodes[0].value('SELECT count(*) FROM blobs'), 0, 'the orphaned blob goes');
    assert.equal(await accounts.usage(a.id), 0);
    assert.equal(await accounts.delete('gone@example.org'), false);
  });

  it('setScram stores keys only while the password is unchanged; a new password clears them', async () => {
    const accounts = pgAccounts(nodes[0]);
    await accounts.create({ address: 's@example.org', passwordHash: 'p1', scramSha256: 'k1' });
    assert.equal(await accounts.setScram('s@example.org', 'p0', 'k0'), false);
    assert.equal(await accounts.update('s@example.org', { passwordHash: 'p2' }), true);
    assert.equal((await accounts.get('s@example.org'))?.scramSha256, null);
    assert.equal(await accounts.setScram('S@example.org', 'p2', 'k2'), true);
    assert.equal(await accounts.update('s@example.org', { passwordHash: 'p2' }), true);
    assert.equal((await accounts.get('s@example.org'))?.scramSha256, 'k2', 'the same password keeps them');
  });

  it('finishOpen ends only the open sessions this node recorded', async () => {
    const [a, b] = nodes.map((n) => pgSessionLog(n));
    await a.append({ sessions: [loggedSession('a1', { start: 100 })], events: [] });
    await b.append({ sessions: [loggedSession('b1', { start: 200 })], events: [] });
    assert.equal(await a.finishOpen(5_000, 'server restarted'), 1);
    assert.equal((await b.get('a1'))?.end, 5_000);
    assert.equal((await a.get('b1'))?.end, null, "the other node's live session stays open");
    assert.equal(await b.finishOpen(50, 'server restarted'), 1);
    assert.equal((await a.get('b1'))?.end, 200, 'never before its start');
  });

  it('a NUL in a session summary is stored as U+FFFD instead of losing the batch', async () => {
    const log = pgSessionLog(nodes[0]);
    await log.append({
      sessions: [loggedSession('n', { helo: 'a\0b', mailFrom: 'x\0@y' })],
      events: [{ sessionId: 'n', seq: 0, t: 1, type: 'in', text: 'EHLO a\0b', encrypted: false, data: null }],
    });
    const got = await log.get('n');
    assert.equal(got?.helo, 'a\uFFFDb');
    assert.equal(got?.mailFrom, 'x\uFFFD@y');
    assert.equal((await log.events('n'))[0].text, 'EHLO a\0b', 'event texts keep it (JSON escapes it)');
  });
});
