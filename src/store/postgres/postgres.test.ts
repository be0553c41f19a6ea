/**
 * The Store contract on PostgreSQL (one schema per test, test/harness/postgres.ts), and what only this
 * backend has: migrations from several nodes at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { pgSkip, pgTestSchema } from '../../../test/harness/postgres.js';
import { runStoreContract, type StoreHarness } from '../../../test/store-contract/contract.js';
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
}
