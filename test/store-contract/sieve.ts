/**
 * Store contract, part: Sieve scripts and their memory (`Store.sieve`, issue 13). Called from
 * `runStoreContract` with a getter for the current test's harness.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Account, StoreNotFoundError } from '../../src/store/types.js';
import type { StoreHarness } from './contract.js';

let counter = 0;

export function sieveContract(harness: () => StoreHarness): void {
  describe('sieve', () => {
    const sieve = () => harness().store.sieve;
    const account = (): Promise<Account> =>
      harness().store.accounts.create({ address: `sieve${++counter}@example.org`, passwordHash: 'hash' });

    it('put creates and replaces, get returns the source, list sorts by name with UTF-8 sizes', async () => {
      const a = await account();
      assert.deepEqual(await sieve().list(a.id), []);
      assert.equal(await sieve().get(a.id, 'missing'), null);
      const before = Date.now();
      await sieve().put(a.id, 'vacation', 'keep;\r\n');
      await sieve().put(a.id, 'Filters', 'discard;');
      await sieve().put(a.id, 'ünïcode', '# é\r\nkeep;');
      const list = await sieve().list(a.id);
      assert.deepEqual(
        list.map((s) => [s.name, s.active, s.size]),
        [
          ['Filters', false, 8],
          ['vacation', false, 7],
          ['ünïcode', false, 11],
        ],
      );
      for (const s of list)
        assert.ok(s.updatedAt.getTime() >= before - 1000 && s.updatedAt.getTime() <= Date.now() + 1000);
      await sieve().put(a.id, 'vacation', 'stop;');
      assert.equal(await sieve().get(a.id, 'vacation'), 'stop;');
      assert.equal(await sieve().get(a.id, 'Vacation'), null, 'names are case-sensitive');
      assert.equal((await sieve().list(a.id)).length, 3);
    });

    it('one active script per account; put keeps the active state; null deactivates', async () => {
      const a = await account();
      assert.equal(await sieve().active(a.id), null);
      await sieve().put(a.id, 'one', 'keep;');
      await sieve().put(a.id, 'two', 'discard;');
      assert.equal(await sieve().setActive(a.id, 'one'), true);
      assert.deepEqual(await sieve().active(a.id), { name: 'one', source: 'keep;' });
      assert.equal(await sieve().setActive(a.id, 'two'), true);
      assert.deepEqual(
        (await sieve().list(a.id)).map((s) => [s.name, s.active]),
        [
          ['one', false],
          ['two', true],
        ],
      );
      assert.equal(await sieve().setActive(a.id, 'two'), true, 'activating the active script again');
      await sieve().put(a.id, 'two', 'stop;');
      assert.deepEqual(await sieve().active(a.id), { name: 'two', source: 'stop;' });
      assert.equal(await sieve().setActive(a.id, 'three'), false);
      assert.equal((await sieve().active(a.id))?.name, 'two', 'an unknown name changes nothing');
      assert.equal(await sieve().setActive(a.id, null), true);
      assert.equal(await sieve().active(a.id), null);
      assert.equal(await sieve().setActive(a.id, null), true, 'deactivating with nothing active');
    });

    it('delete refuses the active script; rename keeps the active state and refuses a taken name', async () => {
      const a = await account();
      await sieve().put(a.id, 'one', 'keep;');
      await sieve().put(a.id, 'two', 'discard;');
      await sieve().setActive(a.id, 'one');
      assert.equal(await sieve().delete(a.id, 'one'), 'active');
      assert.equal(await sieve().delete(a.id, 'nope'), 'missing');
      assert.equal(await sieve().rename(a.id, 'nope', 'x'), 'missing');
      assert.equal(await sieve().rename(a.id, 'one', 'two'), 'exists');
      assert.equal(await sieve().rename(a.id, 'one', 'one'), 'exists');
      assert.equal(await sieve().rename(a.id, 'one', 'first'), 'renamed');
      assert.equal(await sieve().get(a.id, 'one'), null);
      assert.deepEqual(await sieve().active(a.id), { name: 'first', source: 'keep;' });
      assert.equal(await sieve().delete(a.id, 'two'), 'deleted');
      assert.equal(await sieve().delete(a.id, 'two'), 'missing');
      await sieve().setActive(a.id, null);
      assert.equal(await sieve().delete(a.id, 'first'), 'deleted');
      assert.deepEqual(await sieve().list(a.id), []);
    });

    it('accounts are separate, and deleting an account deletes its scripts and memory', async () => {
      const a = await account();
      const b = await account();
      const now = new Date(1_800_000_000_000);
      await sieve().put(a.id, 'same', 'keep;');
      await sieve().put(b.id, 'same', 'discard;');
      await sieve().setActive(a.id, 'same');
      assert.equal(await sieve().active(b.id), null);
      assert.equal(await sieve().get(b.id, 'same'), 'discard;');
      assert.equal(await sieve().remember(a.id, 'vacation', 'k', 60, now), true);
      assert.equal(await sieve().remember(b.id, 'vacation', 'k', 60, now), true, 'the memory is per account');
      assert.equal(await harness().store.accounts.delete(a.address), true);
      assert.deepEqual(await sieve().list(a.id), []);
      assert.equal(await sieve().active(a.id), null);
      assert.equal(await sieve().seen(a.id, 'vacation', 'k', now), false);
      assert.equal(await sieve().get(b.id, 'same'), 'discard;');
      await assert.rejects(sieve().put(a.id, 'again', 'keep;'), StoreNotFoundError);
      await assert.rejects(sieve().remember(a.id, 'vacation', 'k', 60, now), StoreNotFoundError);
    });

    it('remember answers once per period, per kind; seen only asks; an expired key is written again', async () => {
      const a = await account();
      const t0 = new Date(1_800_000_000_000);
      const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
      assert.equal(await sieve().seen(a.id, 'vacation', 'sender-1', t0), false);
      assert.equal(await sieve().seen(a.id, 'vacation', 'sender-1', t0), false, 'seen records nothing');
      assert.equal(await sieve().remember(a.id, 'vacation', 'sender-1', 3600, t0), true);
      assert.equal(await sieve().seen(a.id, 'vacation', 'sender-1', at(1)), true);
      assert.equal(await sieve().seen(a.id, 'duplicate', 'sender-1', at(1)), false, 'kinds are separate');
      assert.equal(await sieve().remember(a.id, 'vacation', 'sender-1', 3600, at(3599)), false);
      assert.equal(await sieve().remember(a.id, 'duplicate', 'sender-1', 10, at(1)), true);
      assert.equal(await sieve().seen(a.id, 'vacation', 'sender-1', at(3600)), false, 'expired at the period end');
      assert.equal(await sieve().remember(a.id, 'vacation', 'sender-1', 60, at(3600)), true);
      assert.equal(await sieve().remember(a.id, 'vacation', 'sender-1', 60, at(3659)), false, 'the new period counts');
      assert.equal(await sieve().remember(a.id, 'vacation', 'sender-1', 60, at(3660)), true);
      assert.equal(
        await sieve().remember(a.id, 'duplicate', 'zero', 0, t0),
        true,
        'a zero period records nothing lasting',
      );
      assert.equal(await sieve().remember(a.id, 'duplicate', 'zero', 0, t0), true);
    });

    it('writers racing remember on one key: exactly one gets true', async () => {
      const a = await account();
      const now = new Date(1_800_000_000_000);
      const results = await Promise.all(
        Array.from({ length: 8 }, () => sieve().remember(a.id, 'vacation', 'racer', 600, now)),
      );
      assert.deepEqual(
        results.filter((r) => r),
        [true],
      );
      // Expired: the next race again has exactly one winner.
      const later = new Date(now.getTime() + 600_000);
      const again = await Promise.all(
        Array.from({ length: 8 }, () => sieve().remember(a.id, 'vacation', 'racer', 600, later)),
      );
      assert.equal(again.filter((r) => r).length, 1);
    });

    it('put with maxScripts refuses a new name at the limit, decided in the write, and always replaces', async () => {
      const a = await account();
      assert.equal(await sieve().put(a.id, 'one', 'keep;', { maxScripts: 2 }), 'stored');
      assert.equal(await sieve().put(a.id, 'two', 'keep;', { maxScripts: 2 }), 'stored');
      assert.equal(await sieve().put(a.id, 'three', 'keep;', { maxScripts: 2 }), 'too-many');
      assert.equal(await sieve().get(a.id, 'three'), null);
      assert.equal(await sieve().put(a.id, 'two', 'discard;', { maxScripts: 2 }), 'stored');
      assert.equal(await sieve().get(a.id, 'two'), 'discard;');
      assert.equal(await sieve().put(a.id, 'three', 'keep;'), 'stored', 'without a limit');
      // Writers racing with new names: the limit holds.
      const b = await account();
      const results = await Promise.all(
        ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => sieve().put(b.id, n, 'keep;', { maxScripts: 3 })),
      );
      assert.equal(results.filter((r) => r === 'stored').length, 3);
      assert.equal((await sieve().list(b.id)).length, 3);
      await assert.rejects(sieve().put(b.id + 1000, 'x', 'keep;', { maxScripts: 3 }), StoreNotFoundError);
    });

    it('concurrent activations leave exactly one script active', async () => {
      const a = await account();
      const names = ['a', 'b', 'c', 'd', 'e'];
      for (const n of names) await sieve().put(a.id, n, `# ${n}\r\nkeep;`);
      const results = await Promise.all(names.map((n) => sieve().setActive(a.id, n)));
      assert.deepEqual(results, [true, true, true, true, true]);
      const active = (await sieve().list(a.id)).filter((s) => s.active);
      assert.equal(active.length, 1);
      assert.equal((await sieve().active(a.id))?.name, active[0].name);
    });
  });
}
