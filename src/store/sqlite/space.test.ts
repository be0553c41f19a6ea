/**
 * The group committer on a full disk (writer.ts): StoreFullError, the reserve released once, essential
 * jobs retried alone, ordinary jobs refused while the reserve is spent, and writing resumed afterwards.
 * The real full filesystem is exercised by test/disk-full.test.ts; here SQLite's own size limit
 * (`max_page_count`) and jobs that throw SQLITE_FULL stand in for it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isOutOfSpaceError, type SpaceGuard } from '../space.js';
import { StoreFullError } from '../types.js';
import { ESSENTIAL, GroupCommitter } from './writer.js';

function fullError(): Error {
  return Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
}

class FakeGuard implements SpaceGuard {
  holding = false;
  releases = 0;
  reserve = true;
  onRelease: () => void = () => {};
  release(): boolean {
    if (!this.reserve) return false;
    this.reserve = false;
    this.releases++;
    this.holding = true;
    this.onRelease();
    return true;
  }
  outOfSpace(): boolean {
    return false;
  }
}

function count(db: Database.Database, table: string): number {
  return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
}

function committer(guard: SpaceGuard): { db: Database.Database; writer: GroupCommitter } {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (x INTEGER)');
  return { db, writer: new GroupCommitter(db, () => {}, guard) };
}

describe('group commit on a full disk', () => {
  it('classifies full-disk errors', () => {
    assert.ok(isOutOfSpaceError(fullError()));
    assert.ok(isOutOfSpaceError(Object.assign(new Error('x'), { code: 'ENOSPC' })));
    assert.ok(!isOutOfSpaceError(Object.assign(new Error('x'), { code: 'SQLITE_IOERR_WRITE' })));
    assert.ok(
      isOutOfSpaceError(Object.assign(new Error('x'), { code: 'SQLITE_IOERR_WRITE' }), { outOfSpace: () => true }),
    );
    assert.ok(!isOutOfSpaceError(new Error('constraint')));
  });

  it('rejects with StoreFullError, releases the reserve, and retries only the essential job', async () => {
    const guard = new FakeGuard();
    const { db, writer } = committer(guard);
    let essentialRuns = 0;
    let ordinaryRuns = 0;
    const ordinary = writer.run(() => {
      ordinaryRuns++;
      throw fullError();
    });
    const essential = writer.run(() => {
      essentialRuns++;
      if (guard.reserve) throw fullError();
      db.prepare('INSERT INTO t VALUES (1)').run();
      return 'deleted';
    }, ESSENTIAL);
    await assert.rejects(
      ordinary,
      (err: unknown) => err instanceof StoreFullError && /disk .* is full/.test(String(err)),
    );
    assert.equal(await essential, 'deleted');
    assert.equal(guard.releases, 1);
    assert.equal(ordinaryRuns, 1);
    assert.equal(essentialRuns, 2);
    assert.equal(count(db, 't'), 1);
  });

  it('refuses ordinary writes while the reserve is spent, runs essential ones, then resumes', async () => {
    const guard = new FakeGuard();
    guard.holding = true;
    const { db, writer } = committer(guard);
    let ran = false;
    await assert.rejects(
      writer.run(() => {
        ran = true;
      }),
      StoreFullError,
    );
    assert.equal(ran, false, 'not even tried');
    await writer.run(() => db.prepare('INSERT INTO t VALUES (2)').run(), ESSENTIAL);
    guard.holding = false; // space is back
    await writer.run(() => db.prepare('INSERT INTO t VALUES (3)').run());
    assert.equal(count(db, 't'), 2);
  });

  it('a real SQLITE_FULL (max_page_count) rejects with StoreFullError, and writing resumes with room', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'postbode-space-'));
    const guard = new FakeGuard();
    guard.reserve = false;
    const db = new Database(path.join(dir, 'test.db'));
    try {
      db.pragma('journal_mode = WAL');
      db.exec('CREATE TABLE blobs (data BLOB)');
      const writer = new GroupCommitter(db, () => {}, guard);
      const pages = db.pragma('page_count', { simple: true }) as number;
      db.pragma(`max_page_count = ${pages + 4}`);
      const big = Buffer.alloc(256 * 1024, 'a');
      const insert = () => writer.run(() => db.prepare('INSERT INTO blobs VALUES (?)').run(big).changes);
      await assert.rejects(insert(), (err: unknown) => err instanceof StoreFullError && err.cause !== undefined);
      assert.equal(db.inTransaction, false);
      db.pragma('max_page_count = 1000000');
      assert.equal(await insert(), 1);
      assert.equal(count(db, 'blobs'), 1);
    } finally {
      db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
