/**
 * Store contract, part: web lab administrators (`Store.admins`). Called from `runStoreContract` with a
 * getter for the current test's harness.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreConflictError } from '../../src/store/types.js';
import type { StoreHarness } from './contract.js';

export function adminsContract(harness: () => StoreHarness): void {
  describe('admins', () => {
    const admins = () => harness().store.admins;

    it('create lower-cases the name; get, list sorted; conflicts in any case', async () => {
      const before = Date.now();
      const t = await admins().create({ name: ' Teacher ', passwordHash: 'h1' });
      assert.equal(t.name, 'teacher');
      assert.equal(t.passwordHash, 'h1');
      assert.ok(t.createdAt.getTime() >= before - 1000 && t.createdAt.getTime() <= Date.now() + 1000);
      await admins().create({ name: 'alice', passwordHash: 'h2' });
      assert.deepEqual(
        (await admins().list()).map((a) => a.name),
        ['alice', 'teacher'],
      );
      assert.equal((await admins().get('TEACHER'))?.passwordHash, 'h1');
      assert.equal(await admins().get('nobody'), null);
      await assert.rejects(admins().create({ name: 'TEACHER', passwordHash: 'x' }), StoreConflictError);
      assert.equal((await admins().get('teacher'))?.passwordHash, 'h1');
    });

    it('setPassword and delete report whether the admin existed', async () => {
      await admins().create({ name: 'teacher', passwordHash: 'old' });
      assert.equal(await admins().setPassword('Teacher', 'new'), true);
      assert.equal((await admins().get('teacher'))?.passwordHash, 'new');
      assert.equal(await admins().setPassword('nobody', 'x'), false);
      assert.equal(await admins().delete('TEACHER'), true);
      assert.equal(await admins().delete('teacher'), false);
      assert.deepEqual(await admins().list(), []);
    });

    it('admins are not mail accounts', async () => {
      await admins().create({ name: 'teacher', passwordHash: 'h' });
      assert.equal(await harness().store.accounts.get('teacher'), null);
      assert.deepEqual(await harness().store.accounts.list(), []);
    });
  });
}
