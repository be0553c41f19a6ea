/**
 * What several nodes share through PostgreSQL besides mail: web logins (websessions.ts, through the web
 * layer's StoreWebSessions) valid on every node with the limits kept, the digests of the nodes' key
 * files (nodekeys.ts), the node list, and the ACME certificate with its lease and challenges
 * (certificates.ts, schema V2, also reached by upgrading a V1 schema). Two stores on one schema stand for
 * two nodes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { PG_TEST_URL, type PgTestSchema, pgSkip, pgTestSchema } from '../../../test/harness/postgres.js';
import { StoreWebSessions } from '../../web/session-auth.js';
import type { Store, WebLogin } from '../types.js';
import { openPgStore } from './index.js';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION } from './schema.js';

const skip = await pgSkip();

const teacher: WebLogin = { name: 'teacher', role: 'admin' };
const student: WebLogin = { name: 'student@example.test', role: 'user' };

describe('PostgreSQL: what several nodes share', { skip }, () => {
  let schema: PgTestSchema;
  let a: Store;
  let b: Store;
  before(async () => {
    if (skip) return;
    schema = pgTestSchema('multinode');
    a = await openPgStore({ url: schema.url, node: 'node-a', pollMs: 200, registerNode: true });
    b = await openPgStore({ url: schema.url, node: 'node-b', pollMs: 200, registerNode: true });
  });
  after(async () => {
    if (skip) return;
    await a.close();
    await b.close();
    await schema.drop();
  });

  it('lists both nodes with their heartbeat; a node that closes leaves the list', async () => {
    const names = (await a.nodes?.list())?.map((n) => n.name);
    assert.deepEqual(names, ['node-a', 'node-b']);
    const c = await openPgStore({ url: schema.url, node: 'node-c', pollMs: 200, registerNode: true });
    assert.equal((await b.nodes?.list())?.length, 3);
    await c.close();
    assert.deepEqual(
      (await b.nodes?.list())?.map((n) => n.name),
      ['node-a', 'node-b'],
    );
  });

  it('a web login made on one node is valid on the other; a logout there ends it everywhere', async () => {
    const onA = new StoreWebSessions(a.webSessions!);
    const onB = new StoreWebSessions(b.webSessions!);
    const id = await onA.create(student);
    assert.ok(id);
    assert.deepEqual(await onB.get(id), student);
    await onB.delete(id);
    assert.equal(await onA.get(id), null);
    assert.equal(await onA.get('no-such-session'), null);
  });

  it("the per-user limit ends only that user's oldest sessions, whichever node made them", async () => {
    const nodes = [a, b].map((s) => new StoreWebSessions(s.webSessions!, undefined, undefined, { perUser: 3 }));
    const t = await nodes[0].create(teacher);
    const ids: (string | null)[] = [];
    // Logins from both nodes at once: the limit holds all the same.
    for (let round = 0; round < 3; round++) ids.push(...(await Promise.all(nodes.map((n) => n.create(student)))));
    assert.equal(await nodes[1].countOf(student), 3);
    assert.equal(await nodes[0].countOf(teacher), 1);
    assert.deepEqual(await nodes[1].get(t ?? ''), teacher);
    const live = await Promise.all(ids.map((id) => nodes[0].get(id ?? '')));
    assert.equal(live.filter((u) => u !== null).length, 3);
    await nodes[0].deleteUser(student);
    await nodes[0].deleteUser(teacher);
    assert.equal(await a.webSessions?.count(), 0);
  });

  it('a full table refuses logins until sessions expire; using a session keeps it alive', async () => {
    let now = 1_000_000;
    const clock = () => now;
    const limits = { maxSessions: 3, perUser: 20 };
    const onA = new StoreWebSessions(a.webSessions!, 1000, clock, limits);
    const onB = new StoreWebSessions(b.webSessions!, 1000, clock, limits);
    const t = await onA.create(teacher);
    assert.ok(t);
    for (let i = 0; i < 2; i++) assert.ok(await onB.create({ name: `u${i}@x`, role: 'user' }));
    assert.equal(await onA.create(student), null, 'full of live sessions: refused');
    const admin = await onB.create(teacher);
    assert.ok(admin, 'an admin is not locked out by a table full of users');
    await onB.delete(admin);
    now += 900;
    assert.deepEqual(await onB.get(t), teacher, 'used at +900 on the other node');
    now += 600;
    assert.ok(await onA.create(student), 'the two unused sessions expired and made room');
    assert.deepEqual(await onA.get(t), teacher);
    assert.equal(await a.webSessions?.count(), 2);
    now += 2000;
    assert.equal(await onB.get(t), null, 'expired');
  });

  it('records key digests once, for the first node; replace swaps one prefix only', async () => {
    const keys = a.nodeKeys!;
    const other = b.nodeKeys!;
    assert.equal(await keys.replace('dkim/', new Map([['dkim/x.key', '1']]), 'cli'), false, 'nothing recorded yet');
    assert.equal((await keys.list()).size, 0);
    const first = new Map([
      ['secret.key', 'aa'],
      ['dkim/example.org.mail.key', 'bb'],
    ]);
    const second = new Map([['secret.key', 'cc']]);
    // Two first nodes at once: one record wins, both get it.
    const [ra, rb] = await Promise.all([keys.recordIfNone(first, 'node-a'), other.recordIfNone(second, 'node-b')]);
    assert.deepEqual(ra, rb);
    assert.ok([first, second].some((m) => JSON.stringify([...m].sort()) === JSON.stringify([...ra].sort())));
    const recorded = await keys.list();
    assert.ok(
      await other.replace(
        'dkim/',
        new Map([
          ['dkim/example.org.new.key', 'dd'],
          ['secret.key', 'ignored: outside the prefix'],
        ]),
        'cli',
      ),
    );
    assert.deepEqual(
      await keys.list(),
      new Map([
        ['dkim/example.org.new.key', 'dd'],
        ['secret.key', recorded.get('secret.key') ?? ''],
      ]),
    );
  });

  it('the ACME certificate: one lease at a time, stored once for every node, a hint to the others, challenges everywhere', async () => {
    const names = ['mail.example.test', 'autoconfig.example.test'];
    const certs = a.certificates!;
    const other = b.certificates!;
    assert.equal(await certs.get(names), null);
    // Two nodes asking at once: exactly one holds the lease; the other learns who and for how long.
    const [la, lb] = await Promise.all([certs.lease(names, 'node-a', 60_000), other.lease(names, 'node-b', 60_000)]);
    assert.equal([la, lb].filter((l) => l.held).length, 1);
    const [holder, waiter] = la.held ? [certs, other] : [other, certs];
    const [holderName, waiterName] = la.held ? ['node-a', 'node-b'] : ['node-b', 'node-a'];
    const refused = await waiter.lease(names, waiterName, 60_000);
    assert.equal(refused.held, false);
    if (!refused.held) {
      assert.equal(refused.by, holderName);
      assert.ok(refused.remainingMs > 0 && refused.remainingMs <= 60_000, String(refused.remainingMs));
    }
    assert.deepEqual(await holder.lease(names, holderName, 60_000), { held: true }, 'the holder extends its lease');
    // Another name set has its own lease.
    assert.deepEqual(await waiter.lease(['other.example.test'], waiterName, 60_000), { held: true });
    // A challenge stored by the holder is answered by the other node, until it is deleted or expires.
    await holder.putChallenge(
      'token-0123456789abcdef',
      'token-0123456789abcdef.thumb',
      holderName,
      Date.now() + 60_000,
    );
    await holder.putChallenge('expired-0123456789abcdef', 'old', holderName, Date.now() - 1);
    assert.equal(await waiter.challenge('token-0123456789abcdef'), 'token-0123456789abcdef.thumb');
    assert.equal(await waiter.challenge('expired-0123456789abcdef'), null);
    assert.equal(await waiter.challenge('unknown'), null);
    await holder.deleteChallenge('token-0123456789abcdef');
    assert.equal(await waiter.challenge('token-0123456789abcdef'), null);
    // The certificate stored by the holder: the other node hears the hint and reads it.
    const heard = new Promise<void>((resolve) => {
      const stop = waiter.watch(() => {
        stop();
        resolve();
      });
    });
    await holder.put(names, { cert: 'CERT', key: 'SEALED' }, holderName);
    await heard;
    const stored = await waiter.get(names);
    assert.equal(stored?.cert, 'CERT');
    assert.equal(stored?.key, 'SEALED');
    assert.equal(stored?.storedBy, holderName);
    assert.ok((stored?.storedAt ?? 0) > 0);
    assert.equal(await waiter.get([...names].reverse()), null, 'the name set is ordered: the subject first');
    // Released: the other node gets the lease at once; a zero-length lease runs out at once.
    await holder.release(names, holderName);
    assert.deepEqual(await waiter.lease(names, waiterName, 0), { held: true });
    assert.deepEqual(await holder.lease(names, holderName, 60_000), { held: true }, 'an expired lease is taken');
    await holder.release(names, holderName);
  });
});

describe('PostgreSQL schema upgrades', { skip }, () => {
  it('a database of the released V1 schema gets the certificate tables when a node opens it', async () => {
    const schema = pgTestSchema('v1');
    const client = new pg.Client({ connectionString: PG_TEST_URL });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA "${schema.schema}"`);
      await client.query(`SET search_path = "${schema.schema}"`);
      await client.query(PG_MIGRATIONS[0]);
      await client.query('CREATE TABLE schema_version (version integer NOT NULL)');
      await client.query('INSERT INTO schema_version (version) VALUES (1)');
      await client.query(`INSERT INTO domains (name) VALUES ('example.test')`);
      const store = await openPgStore({ url: schema.url, node: 'node-a', pollMs: 200 });
      try {
        assert.deepEqual(await store.domains.list(), ['example.test']);
        await store.certificates?.put(['mail.example.test'], { cert: 'C', key: 'K' }, 'node-a');
        assert.equal((await store.certificates?.get(['mail.example.test']))?.cert, 'C');
      } finally {
        await store.close();
      }
      const version = await client.query('SELECT version FROM schema_version');
      assert.deepEqual(version.rows, [{ version: PG_SCHEMA_VERSION }]);
    } finally {
      await client.end();
      await schema.drop();
    }
  });
});
