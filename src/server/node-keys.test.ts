/**
 * The key files of several nodes (node-keys.ts) on a PostgreSQL store: the first node records them, a
 * node with other or missing keys is refused (and gets no new secret.key), a DKIM change recorded by the
 * CLI is the new rule, and the CLI seals APOP secrets only with the nodes' key.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type PgTestSchema, pgSkip, pgTestSchema } from '../../test/harness/postgres.js';
import { openPgStore } from '../store/postgres/index.js';
import type { NodeKeyStore, Store } from '../store/types.js';
import { checkNodeKeys, keyDifferences, NodeKeysError, recordDkimKeys, sharedSecretBox } from './node-keys.js';

const skip = await pgSkip();

describe('node keys', () => {
  it('names each file that differs, is missing or is extra', () => {
    const recorded = new Map([
      ['secret.key', 'a'],
      ['dkim/x.mail.key', 'b'],
      ['dkim/x.active', 'c'],
    ]);
    const local = new Map([
      ['secret.key', 'a'],
      ['dkim/x.mail.key', 'B'],
      ['dkim/y.mail.key', 'd'],
    ]);
    assert.deepEqual(keyDifferences(recorded, recorded), []);
    assert.deepEqual(keyDifferences(recorded, local), [
      'dkim/x.active is missing here',
      "dkim/x.mail.key differs from the other nodes' copy",
      'dkim/y.mail.key is here but not on the other nodes',
    ]);
  });
});

describe('node keys on a shared PostgreSQL store', { skip }, () => {
  let schema: PgTestSchema;
  let store: Store;
  let keys: NodeKeyStore;
  const root = mkdtempSync(path.join(tmpdir(), 'postbode-nodekeys-'));
  const dir = (name: string) => path.join(root, name);
  before(async () => {
    if (skip) return;
    schema = pgTestSchema('nodekeys');
    store = await openPgStore({ url: schema.url, node: 'test', pollMs: 200 });
    keys = store.nodeKeys!;
  });
  after(async () => {
    rmSync(root, { recursive: true, force: true });
    if (skip) return;
    await store.close();
    await schema.drop();
  });

  it('the first node records its keys (creating secret.key); others need the same files', async () => {
    mkdirSync(path.join(dir('a'), 'dkim'), { recursive: true });
    writeFileSync(path.join(dir('a'), 'dkim', 'example.org.mail.key'), 'PRIVATE KEY A');
    assert.equal(await checkNodeKeys(keys, dir('a'), 'a'), 'recorded');
    assert.ok(existsSync(path.join(dir('a'), 'secret.key')));
    assert.deepEqual([...(await keys.list()).keys()].sort(), ['dkim/example.org.mail.key', 'secret.key']);
    assert.equal(await checkNodeKeys(keys, dir('a'), 'a'), 'same');

    // A fresh data dir: refused, and no secret.key of its own is made.
    mkdirSync(dir('b'));
    await assert.rejects(checkNodeKeys(keys, dir('b'), 'b'), (err: Error) => {
      assert.ok(err instanceof NodeKeysError);
      assert.match(err.message, /dkim\/example\.org\.mail\.key is missing here; secret\.key is missing here/);
      assert.match(err.message, /copy them from a running node's data dir/);
      return true;
    });
    assert.equal(existsSync(path.join(dir('b'), 'secret.key')), false);

    // A copy of the keys: accepted. Another DKIM key: refused.
    cpSync(dir('a'), dir('b'), { recursive: true });
    assert.equal(await checkNodeKeys(keys, dir('b'), 'b'), 'same');
    writeFileSync(path.join(dir('b'), 'dkim', 'example.org.mail.key'), 'PRIVATE KEY B');
    await assert.rejects(checkNodeKeys(keys, dir('b'), 'b'), /dkim\/example\.org\.mail\.key differs/);
  });

  it("a DKIM change recorded by the CLI is the new rule; secret.key stays the first node's", async () => {
    const before = (await keys.list()).get('secret.key');
    writeFileSync(path.join(dir('a'), 'dkim', 'example.org.new.key'), 'PRIVATE KEY NEW');
    writeFileSync(path.join(dir('a'), 'dkim', 'example.org.active'), 'new\n');
    writeFileSync(path.join(dir('a'), 'secret.key'), 'not recorded by a DKIM change');
    assert.equal(await recordDkimKeys(keys, dir('a'), 'cli'), true);
    assert.equal((await keys.list()).get('secret.key'), before);
    await assert.rejects(checkNodeKeys(keys, dir('a'), 'a'), /secret\.key differs/);
    cpSync(path.join(dir('a'), 'dkim'), path.join(dir('b'), 'dkim'), { recursive: true });
    assert.equal(await checkNodeKeys(keys, dir('b'), 'b'), 'same');
  });

  it("the CLI uses a data dir's secret.key only when it is the nodes' one, and never creates one", async () => {
    const sealed = (await sharedSecretBox(keys, dir('b')))?.seal('pw');
    assert.ok(sealed);
    await assert.rejects(sharedSecretBox(keys, dir('a')), NodeKeysError);
    mkdirSync(dir('cli'));
    assert.equal(await sharedSecretBox(keys, dir('cli')), null);
    assert.equal(existsSync(path.join(dir('cli'), 'secret.key')), false);
  });
});
