import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openTestStore } from '../../test/harness/store.js';
import type { Store } from '../store/types.js';
import { AliasRuleError, planAlias } from './alias-rules.js';

describe('planAlias', () => {
  let dir: string;
  let store: Store;
  const plan = (key: string, targets: string[], replace = false) =>
    planAlias(store, { key, targets, replace, howToAddDomain: (d) => `ADD ${d}` });

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'postbode-alias-rules-'));
    store = await openTestStore({ dataDir: dir });
    await store.domains.add('local.test');
    await store.accounts.create({ address: 'ann@local.test', passwordHash: 'x' });
    await store.accounts.create({ address: 'bob@local.test', passwordHash: 'x' });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an alias outside the local domains, naming how to add the domain', async () => {
    await assert.rejects(plan('x@gmail.com', ['ann@local.test']), (err: Error) => {
      assert.ok(err instanceof AliasRuleError);
      assert.match(err.message, /gmail\.com is not a local domain.*\(ADD gmail\.com\)/);
      return true;
    });
    await assert.rejects(plan('@gmail.com', ['ann@local.test']), AliasRuleError);
    assert.equal(await store.domains.has('gmail.com'), false);
  });

  it('takes existing and remote targets, refuses unknown local ones and the alias itself', async () => {
    const p = await plan('info@local.test', ['ann@local.test', 'friend@remote.test']);
    assert.deepEqual(p, {
      key: 'info@local.test',
      targets: ['ann@local.test', 'friend@remote.test'],
      previous: null,
      remote: ['friend@remote.test'],
    });
    await assert.rejects(plan('info@local.test', ['ghost@local.test']), /ghost@local\.test is neither/);
    await assert.rejects(plan('info@local.test', ['info@local.test']), /alias of itself/);
  });

  it('adds to the targets of an existing alias unless replace', async () => {
    await store.aliases.set('team@local.test', ['ann@local.test']);
    assert.deepEqual((await plan('team@local.test', ['bob@local.test', 'ann@local.test'])).targets, [
      'ann@local.test',
      'bob@local.test',
    ]);
    const replaced = await plan('team@local.test', ['bob@local.test'], true);
    assert.deepEqual(replaced.targets, ['bob@local.test']);
    assert.deepEqual(replaced.previous, ['ann@local.test']);
  });

  it('finds loops through other aliases and through a catch-all', async () => {
    await store.aliases.set('a@local.test', ['b@local.test']);
    await store.aliases.set('b@local.test', ['ann@local.test']);
    await assert.rejects(
      plan('b@local.test', ['a@local.test']),
      /loop: b@local\.test -> a@local\.test -> b@local\.test/,
    );
    // A catch-all whose target only it would catch is refused (the target does not exist); an alias
    // back into a catch-all that reaches it is a loop.
    await assert.rejects(plan('@local.test', ['nobody@local.test']), /nobody@local\.test is neither/);
    await store.aliases.set('@local.test', ['c@local.test']);
    await store.aliases.set('c@local.test', ['ann@local.test']);
    await assert.rejects(
      plan('c@local.test', ['unknown@local.test']),
      /loop: c@local\.test -> unknown@local\.test -> @local\.test -> c@local\.test/,
    );
    assert.deepEqual((await plan('c@local.test', ['bob@local.test'])).targets, ['ann@local.test', 'bob@local.test']);
  });
});
