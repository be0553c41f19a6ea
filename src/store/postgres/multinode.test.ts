/**
 * What several nodes share through PostgreSQL besides mail: web logins (websessions.ts, through the web
 * layer's StoreWebSessions) valid on every node with the limits kept, the digests of the nodes' key
 * files (nodekeys.ts), and the node list. Two stores on one schema stand for two nodes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type PgTestSchema, pgSkip, pgTestSchema } from '../../../test/harness/postgres.js';
import { StoreWebSessions } from '../../web/session-auth.js';
import type { Store, WebLogin } from '../types.js';
import { openPgStore } from './index.js';

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
});
