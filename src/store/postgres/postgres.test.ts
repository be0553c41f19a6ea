/**
 * The Store contract on PostgreSQL (one schema per test, test/harness/postgres.ts), and what only this
 * backend has: several nodes on one schema (migrations at once, queue claims, POP3 locks).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import pg from 'pg';
import { PG_TEST_URL, pgSkip, pgTestSchema } from '../../../test/harness/postgres.js';
import { runStoreContract, type StoreHarness } from '../../../test/store-contract/contract.js';
import type { Store } from '../types.js';
import { openPgStore } from './index.js';
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
}
