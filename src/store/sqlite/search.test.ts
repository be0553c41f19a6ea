/**
 * The SQLite body search index (search.ts) beyond the contract: a database from before the index
 * (migration V9 marks its blobs pending), a store without the index, the index row going with its
 * blob, a queue-only blob indexed when it reaches a mailbox (all with indexing at write), and the
 * default: new blobs pending until the background indexer takes them, in batches.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SearchIndexer } from '../indexer.js';
import type { Store } from '../types.js';
import { openSqliteStore } from './index.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import { INDEX_MAX_BYTES } from './search.js';

const raw = (label: string, body: string) =>
  Buffer.from(`Subject: ${label}\r\nMessage-ID: <${label}@test>\r\n\r\n${body}\r\n`);

describe('SQLite body search index', () => {
  let dir: string;
  let file: string;
  let store: Store | null = null;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'postbode-fts-'));
    file = path.join(dir, 'postbode.db');
  });
  afterEach(async () => {
    await store?.close();
    store = null;
    await rm(dir, { recursive: true, force: true });
  });

  async function open(searchIndex: 'background' | 'write' | 'off' = 'write'): Promise<Store> {
    await store?.close();
    store = await openSqliteStore({ path: file, searchIndex });
    return store;
  }

  async function inbox(s: Store): Promise<{ accountId: number; mailboxId: number }> {
    const a =
      (await s.accounts.get('fts@example.org')) ??
      (await s.accounts.create({ address: 'fts@example.org', passwordHash: 'h' }));
    const box = await s.mailboxes.get(a.id, 'INBOX');
    assert.ok(box);
    return { accountId: a.id, mailboxId: box.id };
  }

  async function put(s: Store, accountId: number, label: string, body: string): Promise<number> {
    const r = await s.deliver({ raw: raw(label, body), meta: null, local: [{ accountId, mailbox: 'INBOX' }] });
    return r.local[0].uid;
  }

  const sorted = (set: Set<number> | null) => (set === null ? null : [...set].sort((a, b) => a - b));

  it('a database from before the index: every blob pending, still found; reindex makes the answer exact', async () => {
    let s = await open();
    const { accountId, mailboxId } = await inbox(s);
    const zebra = await put(s, accountId, 'a', 'a zebra crossing');
    const other = await put(s, accountId, 'b', 'nothing to see');
    await s.close();
    store = null;
    // Back to before the index (no pending list, no index table), then its migration, as an upgrade
    // runs it (the later migrations are independent of it and stay applied).
    const db = new Database(file);
    db.exec('DROP TRIGGER blobs_search_gc; DROP TABLE search_text; DROP TABLE search_pending;');
    const searchMigration = MIGRATIONS.find((m) => m.includes('CREATE TABLE search_pending'));
    assert.ok(searchMigration, 'the migration that adds the pending list');
    db.exec(searchMigration);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    db.close();

    s = await open();
    assert.deepEqual(await s.searchIndex.status(), { available: true, indexed: 0, pending: 2 });
    assert.deepEqual(sorted(await s.messages.searchText(mailboxId, 'body', 'ZEBRA')), [zebra, other]);
    const fresh = await put(s, accountId, 'c', 'another zebra');
    assert.deepEqual(await s.searchIndex.status(), { available: true, indexed: 1, pending: 2 });
    assert.equal(await s.searchIndex.indexPending(500), 2);
    assert.equal(await s.searchIndex.indexPending(500), 0);
    assert.deepEqual(sorted(await s.messages.searchText(mailboxId, 'body', 'ZEBRA')), [zebra, fresh]);
    assert.deepEqual(sorted(await s.messages.searchText(mailboxId, 'text', 'subject: b')), [other]);
    assert.deepEqual(sorted(await s.messages.searchText(mailboxId, 'body', 'subject: b')), []);
  });

  it('without the index: searchText answers null and new blobs wait, for a later reindex', async () => {
    let s = await open('off');
    const { accountId, mailboxId } = await inbox(s);
    const uid = await put(s, accountId, 'a', 'a zebra crossing');
    assert.equal(await s.messages.searchText(mailboxId, 'body', 'zebra'), null);
    assert.deepEqual(await s.searchIndex.status(), { available: false, indexed: 0, pending: 1 });
    assert.equal(await s.searchIndex.indexPending(10), 0);
    s = await open('write');
    assert.deepEqual(sorted(await s.messages.searchText(mailboxId, 'body', 'zebra')), [uid]);
    assert.equal(await s.searchIndex.indexPending(10), 1);
    assert.deepEqual(sorted(await s.messages.searchText(mailboxId, 'body', 'zebra')), [uid]);
    assert.deepEqual(sorted(await s.messages.searchText(mailboxId, 'body', 'horse')), []);
    assert.equal(await s.messages.searchText(mailboxId, 'body', 'ze'), null, 'two characters: no trigram');
  });

  it('the index row goes with its blob, not before', async () => {
    const s = await open();
    const { accountId, mailboxId } = await inbox(s);
    const uid = await put(s, accountId, 'a', 'a zebra crossing');
    const trash = await s.mailboxes.get(accountId, 'Trash');
    assert.ok(trash);
    const [[, copy]] = await s.messages.copy(mailboxId, [uid], trash.id);
    await s.messages.expunge(mailboxId, [uid]);
    assert.deepEqual(sorted(await s.messages.searchText(trash.id, 'body', 'zebra')), [copy], 'the copy keeps the blob');
    await s.messages.expunge(trash.id, [copy]);
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.prepare('SELECT count(*) FROM search_text WHERE search_text MATCH \'"zebra"\'').pluck().get(), 0);
      assert.equal(db.prepare('SELECT count(*) FROM search_text_docsize').pluck().get(), 0);
    } finally {
      db.close();
    }
  });

  it('by default new blobs wait for the background indexer, which takes them in batches', async () => {
    const s = await open('background');
    const { accountId, mailboxId } = await inbox(s);
    const uids: number[] = [];
    for (let i = 0; i < 7; i++) uids.push(await put(s, accountId, `m${i}`, i === 3 ? 'one zebra' : 'no stripes'));
    assert.deepEqual(await s.searchIndex.status(), { available: true, indexed: 0, pending: 7 });
    assert.deepEqual(sorted(await s.messages.searchText(mailboxId, 'body', 'zebra')), uids, 'pending: all candidates');
    const indexer = new SearchIndexer(s, { batch: 3, idleMs: 5 });
    indexer.start();
    try {
      await new Promise<void>((resolve) => {
        const poll = () => (indexer.indexed >= 7 ? resolve() : setImmediate(poll));
        poll();
      });
    } finally {
      await indexer.stop();
    }
    assert.deepEqual(await s.searchIndex.status(), { available: true, indexed: 7, pending: 0 });
    assert.deepEqual(sorted(await s.messages.searchText(mailboxId, 'body', 'zebra')), [uids[3]]);
    // A message over the size limit is never indexed: it stays pending, always a candidate.
    const big = await put(s, accountId, 'big', `no stripes ${'x'.repeat(INDEX_MAX_BYTES)}`);
    assert.equal(await s.searchIndex.indexPending(10), 0);
    assert.deepEqual(await s.searchIndex.status(), { available: true, indexed: 7, pending: 1 });
    assert.deepEqual(sorted(await s.messages.searchText(mailboxId, 'body', 'zebra')), [uids[3], big]);
  });

  it('a blob stored for the queue only is indexed when the same message reaches a mailbox', async () => {
    const s = await open();
    const { accountId, mailboxId } = await inbox(s);
    const bytes = raw('q', 'queued zebra');
    await s.deliver({
      raw: bytes,
      meta: null,
      local: [],
      remote: {
        envelopeFrom: 'a@example.org',
        recipients: [{ address: 'b@remote.test', notify: null, orcpt: null }],
        dsnRet: null,
        dsnEnvid: null,
      },
    });
    assert.equal((await s.searchIndex.status()).pending, 1);
    const r = await s.deliver({ raw: bytes, meta: null, local: [{ accountId, mailbox: 'INBOX' }] });
    assert.deepEqual(await s.searchIndex.status(), { available: true, indexed: 1, pending: 0 });
    assert.deepEqual(sorted(await s.messages.searchText(mailboxId, 'body', 'ZEBRA')), [r.local[0].uid]);
  });
});
