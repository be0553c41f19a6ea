/**
 * The Store contract on PostgreSQL (one schema per test, test/harness/postgres.ts), and what only this
 * backend has: several nodes on one schema (migrations at once, queue claims, POP3 locks, the change
 * feed across nodes, dense UIDs and no lost updates under concurrent writes from both).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import pg from 'pg';
import { PG_TEST_URL, pgSkip, pgTestSchema } from '../../../test/harness/postgres.js';
import { runStoreContract, type StoreHarness } from '../../../test/store-contract/contract.js';
import { type MailboxChange, OverQuotaError, type Store, StoreNotFoundError } from '../types.js';
import { PgContext, type PgTx } from './db.js';
import { openPgStore, pgDeliveryStats, schemaOf } from './index.js';
import { PG_SCHEMA_VERSION } from './schema.js';

const skip = await pgSkip();

if (skip) {
  describe('PostgreSQL store', () => {
    it('needs PostgreSQL', { skip }, () => {});
  });
} else {
  runStoreContract('postgresql', async (): Promise<StoreHarness> => {
    const schema = pgTestSchema('contract');
    let store = await openPgStore({ url: schema.url, node: 'test', pollMs: 200 });
    const harness: StoreHarness = {
      store,
      cleanup: async () => {
        await store.close();
        await schema.drop();
      },
      reopen: async () => {
        await store.close();
        store = await openPgStore({ url: schema.url, node: 'test', pollMs: 200 });
        harness.store = store;
        return store;
      },
    };
    return harness;
  });

  describe('PostgreSQL schema', () => {
    it('several nodes starting at once migrate exactly once', async () => {
      const schema = pgTestSchema('migrate');
      try {
        const stores = await Promise.all(
          [1, 2, 3, 4].map((n) => openPgStore({ url: schema.url, node: `n${n}`, pollMs: 200 })),
        );
        for (const s of stores) await s.close();
        const client = new pg.Client({ connectionString: schema.url.replace(/\?.*$/, '') });
        await client.connect();
        try {
          const rows = await client.query(`SELECT version FROM "${schema.schema}".schema_version`);
          assert.deepEqual(rows.rows, [{ version: PG_SCHEMA_VERSION }]);
        } finally {
          await client.end();
        }
      } finally {
        await schema.drop();
      }
    });
  });

  describe('PostgreSQL: two nodes on one schema', () => {
    let schema: ReturnType<typeof pgTestSchema>;
    let n1: Store;
    let n2: Store;
    let admin: pg.Client;

    beforeEach(async () => {
      schema = pgTestSchema('nodes');
      n1 = await openPgStore({ url: schema.url, node: 'n1', pollMs: 200 });
      n2 = await openPgStore({ url: schema.url, node: 'n2', pollMs: 200 });
      admin = new pg.Client({ connectionString: PG_TEST_URL });
      await admin.connect();
    });
    afterEach(async () => {
      await admin.end();
      await n1.close();
      await n2.close();
      await schema.drop();
    });

    /** Polls `cond` until it holds, for at most a few seconds (no fixed sleeps). */
    async function eventually(what: string, cond: () => Promise<boolean>): Promise<void> {
      const until = Date.now() + 5000;
      while (!(await cond())) {
        if (Date.now() > until) assert.fail(`timed out waiting until ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    it('queue entries claimed concurrently from both nodes: each exactly once', async () => {
      const n = 40;
      const ids: number[] = [];
      for (let i = 0; i < n; i++) {
        const { queueId } = await n1.deliver({
          raw: Buffer.from(`Subject: claim ${i}\r\n\r\nbody ${i}\r\n`),
          meta: null,
          local: [],
          remote: {
            envelopeFrom: 'a@n1.test',
            recipients: [{ address: 'b@remote.test', notify: null, orcpt: null }],
            dsnRet: null,
            dsnEnvid: null,
          },
        });
        assert.ok(queueId);
        ids.push(queueId);
      }
      const now = new Date(Date.now() + 1000);
      // Two claimers per node, each claiming small batches until nothing is left.
      const claimer = async (store: Store, owner: string) => {
        const got: number[] = [];
        for (;;) {
          const batch = await store.queue.claim(now, 3, { owner, leaseMs: 60_000 });
          if (batch.length === 0) return got;
          got.push(...batch.map((e) => e.id));
        }
      };
      const results = await Promise.all([
        claimer(n1, 'n1:1'),
        claimer(n2, 'n2:1'),
        claimer(n1, 'n1:2'),
        claimer(n2, 'n2:2'),
      ]);
      const all = results.flat().sort((x, y) => x - y);
      assert.deepEqual(all, ids, 'every entry claimed exactly once');
      const owners = ['n1:1', 'n2:1', 'n1:2', 'n2:2'];
      const expected = owners
        .map((owner, i) => ({ owner, entries: results[i].length }))
        .filter((l) => l.entries > 0)
        .sort((x, y) => (x.owner < y.owner ? -1 : 1));
      assert.deepEqual(
        (await n2.queue.leases()).map((l) => ({ owner: l.owner, entries: l.entries })),
        expected,
        'both nodes see who holds what',
      );
      // A lease that runs out on one node is taken by the other.
      const later = new Date(now.getTime() + 60_001);
      assert.equal((await n2.queue.claim(later, n, { owner: 'n2:9', leaseMs: 60_000 })).length, n);
      assert.deepEqual(await n1.queue.renew(results[0], later, { owner: 'n1:1', leaseMs: 60_000 }), []);
    });

    it('POP3 locks are exclusive across nodes and freed by release, by close and with the connection', async () => {
      assert.equal(await n1.locks.tryAcquire(7, 'pop-a'), true);
      assert.equal(await n1.locks.tryAcquire(7, 'pop-a'), true, 'again for its owner');
      assert.equal(await n2.locks.tryAcquire(7, 'pop-b'), false);
      assert.equal(
        await n2.locks.tryAcquire(7, 'pop-a'),
        false,
        'the same owner name on another node is another session',
      );
      assert.equal(await n2.locks.tryAcquire(8, 'pop-b'), true, 'per mailbox');
      await n1.locks.release(7, 'pop-a');
      assert.equal(await n2.locks.tryAcquire(7, 'pop-b'), true, 'released on n1: n2 gets it');
      assert.equal(await n1.locks.tryAcquire(7, 'pop-a'), false);

      // Concurrent attempts from both nodes: exactly one wins.
      const raced = await Promise.all([
        n1.locks.tryAcquire(9, 'x'),
        n2.locks.tryAcquire(9, 'y'),
        n1.locks.tryAcquire(9, 'x'),
      ]);
      assert.equal(raced[0], raced[2], 'one owner, one answer');
      assert.notEqual(raced[0], raced[1], 'exactly one node holds it');

      // n2 closes (a clean stop): its locks go with its lock connection.
      await n2.close();
      await eventually('n1 gets mailbox 7 after n2 closed', () => n1.locks.tryAcquire(7, 'pop-a'));
      assert.equal(await n1.locks.tryAcquire(8, 'pop-a'), true);

      // n1's lock connection dies (as with kill -9 of the node): a third node gets the maildrops.
      const n3 = await openPgStore({ url: schema.url, node: 'n3', pollMs: 200 });
      try {
        assert.equal(await n3.locks.tryAcquire(7, 'pop-c'), false);
        const killed = await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_locks
           WHERE locktype = 'advisory' AND classid = $1 AND objid = 7 AND objsubid = 2 AND granted`,
          [0x706f7033],
        );
        assert.equal(killed.rowCount, 1);
        await eventually('n3 gets mailbox 7 after n1 lost its lock connection', () => n3.locks.tryAcquire(7, 'pop-c'));
      } finally {
        await n3.close();
      }
    });
  });

  describe('PostgreSQL: two nodes, one mailbox', () => {
    let schema: ReturnType<typeof pgTestSchema>;
    let n1: Store;
    let n2: Store;

    beforeEach(async () => {
      schema = pgTestSchema('mail');
      // A poll far beyond the test's bounds: changes cross nodes by the NOTIFY hint alone.
      n1 = await openPgStore({ url: schema.url, node: 'n1', pollMs: 600_000 });
      n2 = await openPgStore({ url: schema.url, node: 'n2', pollMs: 600_000 });
    });
    afterEach(async () => {
      await n1.close();
      await n2.close();
      await schema.drop();
    });

    let counter = 0;
    const raw = (label = `m${++counter}`) =>
      Buffer.from(`From: a@example.net\r\nSubject: ${label}\r\nMessage-ID: <${label}@test>\r\n\r\nBody ${label}\r\n`);
    const sha256 = (buf: Buffer) => createHash('sha256').update(buf).digest('hex');

    /** Waits (bounded) until `cond` holds. */
    async function waitFor(what: string, cond: () => boolean): Promise<void> {
      const until = Date.now() + 5000;
      while (!cond()) {
        if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }

    /** An account made on n1 and its INBOX id. */
    async function inboxOf(quotaBytes: number | null = null) {
      const account = await n1.accounts.create({ address: `u${++counter}@example.org`, passwordHash: 'h', quotaBytes });
      const inbox = await n1.mailboxes.get(account.id, 'INBOX');
      assert.ok(inbox);
      return { account, inbox };
    }

    /** Settles the deliveries `start` queues, checking that they went in one transaction of `store`. */
    async function inOneBatch<T>(store: Store, start: () => Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
      const before = pgDeliveryStats(store)!;
      const deliveries = start();
      const settled = await Promise.allSettled(deliveries);
      const after = pgDeliveryStats(store)!;
      assert.deepEqual(
        { batches: after.batches - before.batches, jobs: after.jobs - before.jobs },
        { batches: 1, jobs: deliveries.length },
      );
      return settled;
    }

    /** Subscribes on `store` and waits until every later change will reach the subscriber. */
    async function watch(store: Store, mailboxId: number) {
      const events: MailboxChange[] = [];
      const off = store.changes.subscribe(mailboxId, (c) => events.push(c));
      await store.changes.ready?.(mailboxId);
      return { events, off };
    }

    /**
     * After `raws[i]` was delivered (meta `{ i }`) as `uids[i]` into an empty `inbox`: the UIDs are
     * exactly 1..N on both nodes, each acknowledged delivery is the message stored under the UID it was
     * told, the counts and usage add up, and every watcher hears each UID once, in UID order (= commit
     * order).
     */
    async function assertDense(d: {
      account: { id: number };
      inbox: { id: number };
      raws: Buffer[];
      uids: number[];
      watchers: { events: MailboxChange[]; off: () => void }[];
    }): Promise<void> {
      const n = d.raws.length;
      const dense = Array.from({ length: n }, (_, i) => i + 1);
      assert.deepEqual(
        [...d.uids].sort((x, y) => x - y),
        dense,
      );
      for (const store of [n1, n2]) {
        assert.deepEqual(
          (await store.messages.list(d.inbox.id)).map((m) => m.uid),
          dense,
        );
        assert.equal((await store.mailboxes.getById(d.inbox.id))?.uidNext, n + 1);
      }
      const metas = await n2.messages.metaMany(d.inbox.id, d.uids);
      d.raws.forEach((r, i) => {
        assert.deepEqual(metas.get(d.uids[i]), { hash: sha256(r), meta: { i } });
      });
      assert.equal((await n1.stats()).messages, n);
      assert.equal(
        await n1.accounts.usage(d.account.id),
        d.raws.reduce((sum, r) => sum + r.length, 0),
      );
      for (const on of d.watchers) {
        await waitFor('all exists events', () => on.events.length >= n);
        assert.deepEqual(
          on.events.map((e) => (e.kind === 'exists' ? e.uid : -1)),
          dense,
        );
        on.off();
      }
    }

    it('the change feed crosses nodes: a change on one reaches a subscriber on the other', async () => {
      const { account, inbox } = await inboxOf();
      const on1 = await watch(n1, inbox.id);
      const delivered = await n2.deliver({
        raw: raw(),
        meta: null,
        local: [{ accountId: account.id, mailbox: 'INBOX' }],
      });
      await waitFor('exists on n1', () => on1.events.length === 1);
      const info = await n1.messages.get(inbox.id, delivered.local[0].uid);
      assert.deepEqual(on1.events[0], { kind: 'exists', mailboxId: inbox.id, uid: 1, modseq: info?.modseq });

      const [flagged] = await n2.messages.setFlags({ mailboxId: inbox.id, uids: [1], op: 'add', flags: ['\\Seen'] });
      await waitFor('flags on n1', () => on1.events.length === 2);
      assert.deepEqual(on1.events[1], {
        kind: 'flags',
        mailboxId: inbox.id,
        uid: 1,
        flags: ['\\Seen'],
        modseq: flagged.modseq,
      });

      const removed = await n2.messages.expungeDeleted(inbox.id, [1]);
      assert.deepEqual(removed, { uids: [], modseq: 0 }, 'not \\Deleted: nothing to expunge, nothing published');
      await n2.messages.expunge(inbox.id, [1]);
      await waitFor('expunge on n1', () => on1.events.length === 3);
      assert.deepEqual(on1.events[2], {
        kind: 'expunge',
        mailboxId: inbox.id,
        uids: [1],
        modseq: (await n1.mailboxes.getById(inbox.id))?.highestModseq,
      });

      // A mailbox deleted on n2 while n1 watches it: n1's subscriber hears its messages go.
      const tmp = await n1.mailboxes.create(account.id, 'Tmp');
      await n1.deliver({ raw: raw(), meta: null, local: [{ accountId: account.id, mailbox: 'Tmp' }] });
      await n1.deliver({ raw: raw(), meta: null, local: [{ accountId: account.id, mailbox: 'Tmp' }] });
      const onTmp = await watch(n1, tmp.id);
      assert.equal(await n2.mailboxes.delete(account.id, 'Tmp'), true);
      await waitFor('expunge of the deleted mailbox on n1', () => onTmp.events.length === 1);
      const gone = onTmp.events[0];
      assert.ok(gone.kind === 'expunge');
      assert.ok(gone.uids.includes(1) && gone.uids.includes(2), 'both messages of the deleted mailbox');
      on1.off();
      onTmp.off();
    });

    it('concurrent deliveries from both nodes to one mailbox: UIDs exactly 1..N, every acked message there once', async () => {
      const { account, inbox } = await inboxOf();
      const on1 = await watch(n1, inbox.id);
      const on2 = await watch(n2, inbox.id);
      const n = 40;
      const raws = Array.from({ length: n }, (_, i) => raw(`dense-${i}`));
      const results = await Promise.all(
        raws.map((r, i) =>
          (i % 2 === 0 ? n1 : n2).deliver({
            raw: r,
            meta: { i },
            local: [{ accountId: account.id, mailbox: 'INBOX' }],
          }),
        ),
      );
      await assertDense({ account, inbox, raws, uids: results.map((r) => r.local[0].uid), watchers: [on1, on2] });
    });

    it("one node's concurrent deliveries to one mailbox: batched, UIDs exactly 1..N, every acked message there once", async () => {
      const { account, inbox } = await inboxOf();
      const on1 = await watch(n1, inbox.id);
      const on2 = await watch(n2, inbox.id);
      const before = pgDeliveryStats(n1)!;
      // More than one batch holds (MAX_BATCH_JOBS), all queued at once.
      const n = 150;
      const raws = Array.from({ length: n }, (_, i) => raw(`batched-${i}`));
      const results = await Promise.all(
        raws.map((r, i) => n1.deliver({ raw: r, meta: { i }, local: [{ accountId: account.id, mailbox: 'INBOX' }] })),
      );
      const after = pgDeliveryStats(n1)!;
      assert.equal(after.jobs - before.jobs, n);
      const batches = after.batches - before.batches;
      assert.ok(batches >= 3 && batches < n, `${n} deliveries in ${batches} transactions`);
      await assertDense({ account, inbox, raws, uids: results.map((r) => r.local[0].uid), watchers: [on1, on2] });
    });

    it('a batch of deliveries with refused ones commits the others and rejects only those', async () => {
      const raws = Array.from({ length: 8 }, (_, i) => raw(`batch-${i}`));
      const size = Math.max(...raws.map((r) => r.length));
      const big = raw(`big-${'x'.repeat(size * 8)}`);
      // Room for the eight small ones, not for the big one.
      const { account, inbox } = await inboxOf(size * 8 + 10);
      const on1 = await watch(n1, inbox.id);
      const to = (accountId: number) => [{ accountId, mailbox: 'INBOX' }];
      const settled = await inOneBatch(n1, () => [
        ...raws.slice(0, 3).map((r) => n1.deliver({ raw: r, meta: null, local: to(account.id) })),
        // Over quota: refused before it writes anything.
        n1.deliver({ raw: big, meta: null, local: to(account.id) }),
        ...raws.slice(3, 5).map((r) => n1.deliver({ raw: r, meta: null, local: to(account.id) })),
        // Refused by the database after its blob and its message row were written (a CHECK
        // constraint of the queue): rolled back to its savepoint, its UID given back.
        n1.deliver({
          raw: raw('bad-queue-entry'),
          meta: null,
          local: to(account.id),
          remote: {
            envelopeFrom: 'a@example.net',
            recipients: [{ address: 'b@example.com', notify: null, orcpt: null }],
            dsnRet: 'NEVER' as 'FULL',
            dsnEnvid: null,
          },
        }),
        // No such account: no mailbox to lock.
        n1.deliver({ raw: raw('nowhere'), meta: null, local: to(account.id + 1000) }),
        ...raws.slice(5).map((r) => n1.deliver({ raw: r, meta: null, local: to(account.id) })),
        // Fits the quota alone, not after the eight kept before it in the batch (and only because the
        // rolled-back delivery's bytes do not count does the eighth fit).
        n1.deliver({ raw: raw('batch-8'), meta: null, local: to(account.id) }),
      ]);
      assert.deepEqual(
        settled.map((r) => r.status),
        ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'rejected', 'rejected'].concat([
          'fulfilled',
          'fulfilled',
          'fulfilled',
          'rejected',
        ]),
      );
      const reason = (i: number) => (settled[i] as PromiseRejectedResult).reason;
      assert.ok(reason(3) instanceof OverQuotaError, String(reason(3)));
      assert.equal((reason(6) as { code?: string }).code, '23514', String(reason(6)));
      assert.ok(reason(7) instanceof StoreNotFoundError, String(reason(7)));
      assert.ok(reason(11) instanceof OverQuotaError, String(reason(11)));
      // The kept ones: UIDs 1..8 in the order they were queued, nothing of the refused ones.
      const uids = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value.local[0].uid] : []));
      assert.deepEqual(uids, [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.deepEqual(
        (await n2.messages.list(inbox.id)).map((m) => m.uid),
        [1, 2, 3, 4, 5, 6, 7, 8],
      );
      assert.equal((await n2.mailboxes.getById(inbox.id))?.uidNext, 9);
      assert.equal(
        await n2.accounts.usage(account.id),
        raws.reduce((sum, r) => sum + r.length, 0),
      );
      assert.deepEqual(await n2.queue.list(), []);
      assert.equal((await n2.stats()).blobs, 8, 'the refused deliveries left no blob');
      await waitFor('the exists events', () => on1.events.length >= 8);
      assert.deepEqual(
        on1.events.map((e) => (e.kind === 'exists' ? e.uid : -1)),
        [1, 2, 3, 4, 5, 6, 7, 8],
      );
      on1.off();
    });

    it('a batch of plain deliveries (one statement): two mailboxes, a repeated message, a refusal between', async () => {
      const small = raw('bulk-same');
      const { account: a, inbox: ia } = await inboxOf();
      // Room for two messages of b, not three.
      const { account: b, inbox: ib } = await inboxOf(small.length * 2 + 10);
      const to = (...ids: number[]) => ids.map((accountId) => ({ accountId, mailbox: 'INBOX' }));
      const blobs0 = (await n1.stats()).blobs;
      const settled = await inOneBatch(n1, () => [
        n1.deliver({ raw: raw('bulk-1'), meta: null, local: to(a.id) }),
        n1.deliver({ raw: small, meta: null, local: to(a.id, b.id) }),
        n1.deliver({ raw: small, meta: null, local: to(b.id) }),
        // b is full now: refused before it sends anything; the delivery after it is kept.
        n1.deliver({ raw: small, meta: null, local: to(b.id) }),
        n1.deliver({ raw: raw('bulk-2'), meta: null, local: to(a.id) }),
      ]);
      assert.deepEqual(
        settled.map((r) => r.status),
        ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
      );
      assert.ok((settled[3] as PromiseRejectedResult).reason instanceof OverQuotaError);
      const uidsOf = (i: number) =>
        (settled[i] as PromiseFulfilledResult<{ local: { mailboxId: number; uid: number }[] }>).value.local.map(
          (l) => `${l.mailboxId === ia.id ? 'a' : 'b'}${l.uid}`,
        );
      assert.deepEqual([0, 1, 2, 4].map(uidsOf), [['a1'], ['a2', 'b1'], ['b2'], ['a3']]);
      for (const [box, n] of [
        [ia, 3],
        [ib, 2],
      ] as const) {
        const list = await n2.messages.list(box.id);
        assert.deepEqual(
          list.map((m) => m.uid),
          Array.from({ length: n }, (_, i) => i + 1),
        );
        const modseqs = list.map((m) => m.modseq);
        assert.deepEqual(
          modseqs,
          [...new Set(modseqs)].sort((x, y) => x - y),
          'one MODSEQ per message, ascending with the UIDs',
        );
        assert.equal((await n2.mailboxes.getById(box.id))?.highestModseq, modseqs.at(-1));
      }
      assert.equal((await n2.stats()).blobs - blobs0, 3, 'the repeated message is one blob');
      assert.equal(await n2.accounts.usage(b.id), small.length * 2);
    });

    it('concurrent flag changes from both nodes lose nothing, each with its own MODSEQ', async () => {
      const { account, inbox } = await inboxOf();
      await n1.deliver({ raw: raw(), meta: null, local: [{ accountId: account.id, mailbox: 'INBOX' }] });
      const before = (await n1.mailboxes.getById(inbox.id))!.highestModseq;
      const keywords = Array.from({ length: 12 }, (_, i) => `kw${i}`);
      const changed = await Promise.all(
        keywords.map((k, i) =>
          (i % 2 === 0 ? n1 : n2).messages.setFlags({ mailboxId: inbox.id, uids: [1], op: 'add', flags: [k] }),
        ),
      );
      const modseqs = changed.map(([info]) => info.modseq).sort((x, y) => x - y);
      assert.deepEqual(
        modseqs,
        keywords.map((_, i) => before + i + 1),
      );
      assert.deepEqual([...((await n2.messages.get(inbox.id, 1))?.flags ?? [])].sort(), [...keywords].sort());
      // UNCHANGEDSINCE decided against the other node's changes: of two racing writes with one
      // known MODSEQ, exactly one passes.
      const since = (await n1.messages.get(inbox.id, 1))!.modseq;
      const raced = await Promise.all([
        n1.messages.storeFlags({ mailboxId: inbox.id, uids: [1], op: 'add', flags: ['a'], unchangedSince: since }),
        n2.messages.storeFlags({ mailboxId: inbox.id, uids: [1], op: 'add', flags: ['b'], unchangedSince: since }),
      ]);
      assert.deepEqual(
        raced.map((r) => r.changed.length + r.modified.length),
        [1, 1],
      );
      assert.equal(raced.filter((r) => r.changed.length === 1).length, 1);
    });

    it('the quota holds against concurrent writes from both nodes', async () => {
      const raws = Array.from({ length: 6 }, (_, i) => raw(`quota-${i}-${'x'.repeat(100)}`));
      const size = Math.max(...raws.map((r) => r.length));
      const { account, inbox } = await inboxOf(size * 2 + Math.floor(size / 2));
      const settled = await Promise.allSettled(
        raws.map((r, i) => {
          const store = i % 2 === 0 ? n1 : n2;
          return i < 3
            ? store.deliver({ raw: r, meta: null, local: [{ accountId: account.id, mailbox: 'INBOX' }] })
            : store.messages.append({ mailboxId: inbox.id, raw: r, meta: null });
        }),
      );
      assert.equal(settled.filter((r) => r.status === 'fulfilled').length, 2, settled.map((r) => r.status).join(' '));
      for (const r of settled) if (r.status === 'rejected') assert.ok(r.reason instanceof OverQuotaError);
      assert.equal((await n2.messages.list(inbox.id)).length, 2);
    });
  });

  describe('PostgreSQL: a batch (txBatch) without savepoints until a job fails after a statement', () => {
    it('refuses a job that sent nothing alone; runs the batch again in savepoints when one fails after a statement', async () => {
      const schema = pgTestSchema('isolate');
      const ctx = new PgContext({ url: schema.url, schema: schemaOf(schema.url), node: 'test' });
      try {
        await ctx.run(`CREATE SCHEMA "${schema.schema}"`);
        await ctx.run('CREATE TABLE t (job integer NOT NULL CHECK (job <> 3), attempt integer NOT NULL)');
        let attempt = 0;
        const runs = [0, 0, 0, 0];
        const published: MailboxChange[][] = [];
        ctx.onCommit = (changes) => published.push(changes);
        const job = (i: number) => async (tx: PgTx) => {
          runs[i]++;
          // Job 1 is refused before it sends anything (as a delivery over quota).
          if (i === 1) throw new Error('refused in JavaScript');
          // Job 3 breaks the CHECK constraint after job 2's insert (which aborts the transaction
          // without a savepoint).
          await tx.run('INSERT INTO t (job, attempt) VALUES ($1, $2)', [i, attempt]);
          tx.publish({ kind: 'exists', mailboxId: 1, uid: i + 1, modseq: attempt });
          return i;
        };
        // The first batch: only the refusal in JavaScript; nothing runs again.
        const first = await ctx.txBatch(async () => {
          attempt++;
        }, [job(0), job(1), job(2)]);
        assert.deepEqual(
          first.map((o) => o.ok),
          [true, false, true],
        );
        assert.deepEqual(runs, [1, 1, 1, 0]);
        assert.equal(ctx.stats.isolated, 0);
        // The second: job 3 fails in the database; the batch runs again, each job in a savepoint.
        const second = await ctx.txBatch(async () => {
          attempt++;
        }, [job(0), job(3), job(2), job(1)]);
        assert.deepEqual(
          second.map((o) => o.ok),
          [true, false, true, false],
        );
        assert.equal((second[1] as { error: { code?: string } }).error.code, '23514');
        assert.equal(ctx.stats.isolated, 1);
        assert.equal(ctx.stats.retries, 0);
        assert.deepEqual(runs, [3, 2, 2, 2], 'the second batch ran twice, every job included');
        assert.deepEqual(await ctx.rows('SELECT job, attempt FROM t ORDER BY attempt, job'), [
          { job: 0, attempt: 1 },
          { job: 2, attempt: 1 },
          { job: 0, attempt: 3 },
          { job: 2, attempt: 3 },
        ]);
        assert.deepEqual(
          published.map((changes) => changes.map((c) => `${c.kind === 'exists' ? c.uid : '?'}@${c.modseq}`)),
          [
            ['1@1', '3@1'],
            ['1@3', '3@3'],
          ],
          'only the committed attempts are published, without the failed jobs',
        );
      } finally {
        await ctx.close();
        await schema.drop();
      }
    });
  });

  describe('PostgreSQL: a batch (txBatch) after a serialization failure', () => {
    it('runs again whole, every job included, and keeps nothing of the failed attempt', async () => {
      const schema = pgTestSchema('retry');
      const ctx = new PgContext({ url: schema.url, schema: schemaOf(schema.url), node: 'test' });
      try {
        await ctx.run(`CREATE SCHEMA "${schema.schema}"`);
        await ctx.run('CREATE TABLE t (job integer NOT NULL, attempt integer NOT NULL)');
        let attempt = 0;
        const runs = [0, 0, 0];
        const published: MailboxChange[][] = [];
        ctx.onCommit = (changes) => published.push(changes);
        const job = (i: number) => async (tx: PgTx) => {
          runs[i]++;
          await tx.run('INSERT INTO t (job, attempt) VALUES ($1, $2)', [i, attempt]);
          tx.publish({ kind: 'exists', mailboxId: 1, uid: i + 1, modseq: attempt });
          // The middle job meets a serialization failure on the first attempt, after its insert.
          if (i === 1 && attempt === 1) throw Object.assign(new Error('could not serialize access'), { code: '40001' });
          return i;
        };
        const outcomes = await ctx.txBatch(async () => {
          attempt++;
        }, [job(0), job(1), job(2)]);
        assert.deepEqual(
          outcomes,
          [0, 1, 2].map((value) => ({ ok: true, value })),
        );
        assert.deepEqual(runs, [2, 2, 1], 'the first two jobs ran again, the third once, in the second attempt');
        assert.equal(ctx.stats.retries, 1);
        assert.deepEqual(await ctx.rows('SELECT job, attempt FROM t ORDER BY job'), [
          { job: 0, attempt: 2 },
          { job: 1, attempt: 2 },
          { job: 2, attempt: 2 },
        ]);
        assert.deepEqual(
          published.map((changes) => changes.map((c) => c.modseq)),
          [[2, 2, 2]],
          'only the committed attempt is published',
        );
      } finally {
        await ctx.close();
        await schema.drop();
      }
    });
  });
}
