/**
 * Large blobs in pieces (blob-chunks.ts): where the bytes go, that they go with the blob, and that a
 * blob stored whole before schema V16 still reads by range.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { hashPassword } from '../../auth/password.js';
import type { Store } from '../types.js';
import { CHUNK_BYTES, INLINE_MAX } from './blob-chunks.js';
import { openSqliteStore } from './index.js';

describe('SQLite blobs in pieces', () => {
  let dir: string;
  let file: string;
  let store: Store;
  let accountId: number;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'postbode-chunks-'));
    file = path.join(dir, 'test.db');
    store = await openSqliteStore({ path: file });
    accountId = (await store.accounts.create({ address: 'big@example.test', passwordHash: await hashPassword('x') }))
      .id;
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  function pattern(size: number, seed: number): Buffer {
    const raw = Buffer.alloc(size);
    for (let i = 0; i < size; i++) raw[i] = (i + seed) % 251;
    return raw;
  }

  function rows(sql: string, ...args: unknown[]): unknown[] {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare(sql).all(...args);
    } finally {
      db.close();
    }
  }

  it('a blob over INLINE_MAX is stored in CHUNK_BYTES pieces, and a small one whole', async () => {
    const big = pattern(INLINE_MAX + 5 * CHUNK_BYTES + 7, 1);
    const small = pattern(INLINE_MAX, 2);
    const r1 = await store.deliver({ raw: big, meta: {}, local: [{ accountId, mailbox: 'INBOX' }] });
    const r2 = await store.deliver({ raw: small, meta: {}, local: [{ accountId, mailbox: 'INBOX' }] });
    const bigInfo = await store.messages.get(r1.local[0].mailboxId, r1.local[0].uid);
    const smallInfo = await store.messages.get(r2.local[0].mailboxId, r2.local[0].uid);
    assert.ok(bigInfo && smallInfo);
    const pieces = rows(
      'SELECT seq, length(data) AS n FROM blob_chunks WHERE blob_id = ? ORDER BY seq',
      bigInfo.blobId,
    ) as { seq: number; n: number }[];
    assert.equal(pieces.length, Math.ceil(big.length / CHUNK_BYTES));
    assert.deepEqual(
      pieces.map((p) => p.seq),
      pieces.map((_, i) => i),
    );
    assert.equal(pieces.at(-1)?.n, big.length % CHUNK_BYTES);
    assert.deepEqual(rows('SELECT length(data) AS n FROM blobs WHERE id = ?', bigInfo.blobId), [{ n: 0 }]);
    assert.deepEqual(rows('SELECT count(*) AS n FROM blob_chunks WHERE blob_id = ?', smallInfo.blobId), [{ n: 0 }]);
    assert.ok((await store.blobs.read(bigInfo.blobId)).equals(big));
    assert.ok((await store.blobs.readRange(smallInfo.blobId, 10, 20)).equals(small.subarray(10, 20)));

    await store.messages.expunge(bigInfo.mailboxId, [bigInfo.uid]);
    assert.deepEqual(rows('SELECT count(*) AS n FROM blob_chunks WHERE blob_id = ?', bigInfo.blobId), [{ n: 0 }]);
  });

  it('a large blob stored whole before V16 still reads whole and by range', async () => {
    const old = pattern(INLINE_MAX * 2, 3);
    const r = await store.deliver({ raw: old, meta: {}, local: [{ accountId, mailbox: 'INBOX' }] });
    const info = await store.messages.get(r.local[0].mailboxId, r.local[0].uid);
    assert.ok(info);
    // Rewrite it the way a version-15 database holds it: bytes in blobs.data, no pieces.
    await store.close();
    const db = new Database(file);
    db.prepare('UPDATE blobs SET data = ? WHERE id = ?').run(old, info.blobId);
    db.prepare('DELETE FROM blob_chunks WHERE blob_id = ?').run(info.blobId);
    db.close();
    store = await openSqliteStore({ path: file });
    assert.ok((await store.blobs.read(info.blobId)).equals(old));
    assert.ok(
      (await store.blobs.readRange(info.blobId, CHUNK_BYTES - 9, 3 * CHUNK_BYTES)).equals(
        old.subarray(CHUNK_BYTES - 9, 3 * CHUNK_BYTES),
      ),
    );
    const many = await store.messages.readMany(info.mailboxId, [{ uid: info.uid, start: 100, end: 200 }]);
    assert.ok(many.get(info.uid)?.equals(old.subarray(100, 200)));
  });
});
