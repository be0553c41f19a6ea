import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { runStoreContract, type StoreHarness } from '../../../test/store-contract/contract.js';
import { openStore } from '../open.js';
import type { MailboxChange, Store } from '../types.js';
import { openDatabase } from './db.js';
import { openSqliteStore } from './index.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import { GroupCommitter } from './writer.js';

const INDEX_TS = fileURLToPath(new URL('./index.ts', import.meta.url));

async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'postbode-sqlite-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

runStoreContract('sqlite', async (): Promise<StoreHarness> => {
  const { dir, remove } = await tempDir();
  const file = path.join(dir, 'test.db');
  let store = await openSqliteStore({ path: file });
  const harness: StoreHarness = {
    store,
    cleanup: async () => {
      await store.close();
      await remove();
    },
    reopen: async () => {
      await store.close();
      store = await openSqliteStore({ path: file });
      harness.store = store;
      return store;
    },
  };
  return harness;
});

/** Runs `code` (an ES module body) in a child `node --import tsx` and yields its stdout lines. */
function child(
  code: string,
  env: Record<string, string>,
): { proc: ChildProcess; lines: AsyncIterableIterator<string> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  return { proc, lines };
}

async function expectLine(lines: AsyncIterableIterator<string>, prefix: string): Promise<string> {
  const next = await lines.next();
  assert.ok(!next.done && next.value.startsWith(prefix), `expected ${prefix}, got ${next.done ? 'EOF' : next.value}`);
  return next.value;
}

function exited(proc: ChildProcess): Promise<NodeJS.Signals | number | null> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve(proc.signalCode ?? proc.exitCode);
    else proc.once('exit', (code, signal) => resolve(signal ?? code));
  });
}

describe('SQLite store specifics', () => {
  it('a delivery acknowledged before kill -9 is there after reopening', async () => {
    const { dir, remove } = await tempDir();
    const file = path.join(dir, 'crash.db');
    try {
      const setup = await openSqliteStore({ path: file });
      const account = await setup.accounts.create({ address: 'crash@example.org', passwordHash: 'x' });
      await setup.close();

      const { proc, lines } = child(
        `import { openSqliteStore } from ${JSON.stringify(INDEX_TS)};
         const store = await openSqliteStore({ path: process.env.DB });
         const results = await Promise.all(Array.from({ length: 5 }, (_, i) => store.deliver({
           raw: Buffer.from('Subject: crash ' + i + '\\r\\n\\r\\nbody\\r\\n'),
           meta: null,
           local: [{ accountId: Number(process.env.ACCOUNT), mailbox: 'INBOX' }],
         })));
         process.stdout.write('DELIVERED ' + results.map((r) => r.local[0].uid).join(',') + '\\n');
         setInterval(() => {}, 1000);`,
        { DB: file, ACCOUNT: String(account.id) },
      );
      const line = await expectLine(lines, 'DELIVERED');
      proc.kill('SIGKILL');
      assert.equal(await exited(proc), 'SIGKILL');
      assert.equal(line, 'DELIVERED 1,2,3,4,5');

      const store = await openSqliteStore({ path: file });
      try {
        const inbox = await store.mailboxes.get(account.id, 'INBOX');
        assert.ok(inbox);
        const messages = await store.messages.list(inbox.id);
        assert.deepEqual(
          messages.map((m) => m.uid),
          [1, 2, 3, 4, 5],
        );
        assert.equal((await store.blobs.read(messages[0].blobId)).toString(), 'Subject: crash 0\r\n\r\nbody\r\n');
        assert.equal(inbox.uidNext, 6);
      } finally {
        await store.close();
      }
    } finally {
      await remove();
    }
  });

  it('two store instances on one file (server and CLI) see each other at once', async () => {
    const { dir, remove } = await tempDir();
    const file = path.join(dir, 'shared.db');
    const server = await openSqliteStore({ path: file });
    const cli = await openSqliteStore({ path: file });
    try {
      const created = await cli.accounts.create({ address: 'New@Example.org', passwordHash: 'h' });
      assert.deepEqual(await server.accounts.get('new@example.org'), created);
      assert.equal(await cli.domains.add('example.org'), true);
      assert.equal(await server.domains.has('example.org'), true);
      await cli.aliases.set('info@example.org', ['new@example.org']);
      assert.deepEqual(await server.aliases.get('info@example.org'), ['new@example.org']);
      assert.equal(await server.accounts.update('new@example.org', { disabled: true }), true);
      assert.equal((await cli.accounts.get('new@example.org'))?.disabled, true);

      // Concurrent writers on both instances.
      const inbox = await server.mailboxes.get(created.id, 'INBOX');
      assert.ok(inbox);
      await Promise.all([
        ...Array.from({ length: 10 }, () =>
          server.deliver({
            raw: Buffer.from(`Subject: ${Math.random()}\r\n\r\n`),
            meta: null,
            local: [{ accountId: created.id, mailbox: 'INBOX' }],
          }),
        ),
        cli.mailboxes.create(created.id, 'FromCli'),
        cli.accounts.create({ address: 'other@example.org', passwordHash: 'h' }),
      ]);
      assert.equal((await cli.messages.list(inbox.id)).length, 10);
      assert.ok(await server.mailboxes.get(created.id, 'FromCli'));
      assert.equal(await cli.accounts.delete('other@example.org'), true);
      assert.equal(await server.accounts.get('other@example.org'), null);
    } finally {
      await cli.close();
      await server.close();
      await remove();
    }
  });

  it('a write waits for another process holding the write lock (busy_timeout)', async () => {
    const { dir, remove } = await tempDir();
    const file = path.join(dir, 'busy.db');
    const store = await openSqliteStore({ path: file });
    try {
      const { proc, lines } = child(
        `import Database from 'better-sqlite3';
         const db = new Database(process.env.DB);
         db.exec('BEGIN IMMEDIATE');
         db.prepare('INSERT INTO domains (name) VALUES (?)').run('held.example');
         process.stdout.write('LOCKED\\n');
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400);
         db.exec('COMMIT');
         process.stdout.write('RELEASED\\n');`,
        { DB: file },
      );
      await expectLine(lines, 'LOCKED');
      const started = Date.now();
      assert.equal(await store.domains.add('waiting.example'), true);
      assert.ok(Date.now() - started >= 100, 'the write had to wait for the lock');
      await exited(proc);
      assert.deepEqual(await store.domains.list(), ['held.example', 'waiting.example']);
    } finally {
      await store.close();
      await remove();
    }
  });

  it('opens with WAL, synchronous=FULL, foreign keys and the current schema version', async () => {
    const { dir, remove } = await tempDir();
    const db = openDatabase(path.join(dir, 'p.db'));
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('synchronous', { simple: true }), 2);
      assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
      assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
      assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    } finally {
      db.close();
      await remove();
    }
  });

  it('migrates a version 1 database: blob meta moves to blob_meta', async () => {
    const { dir, remove } = await tempDir();
    const file = path.join(dir, 'v1.db');
    try {
      const raw = new Database(file);
      raw.exec(MIGRATIONS[0]);
      raw.pragma('user_version = 1');
      raw
        .prepare('INSERT INTO blobs (hash, size, data, meta) VALUES (?, ?, ?, ?)')
        .run('ab', 3, Buffer.from('abc'), JSON.stringify({ headerLength: 3 }));
      raw.close();
      const store = await openSqliteStore({ path: file });
      try {
        assert.deepEqual(await store.blobs.get(1), { id: 1, hash: 'ab', size: 3, meta: { headerLength: 3 } });
      } finally {
        await store.close();
      }
    } finally {
      await remove();
    }
  });

  it('refuses a database with a newer schema', async () => {
    const { dir, remove } = await tempDir();
    const file = path.join(dir, 'future.db');
    try {
      const raw = new Database(file);
      raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
      raw.close();
      await assert.rejects(openSqliteStore({ path: file }), /newer/);
    } finally {
      await remove();
    }
  });

  it('SCRAM keys: set with the password, cleared by a new password, added only for the current one', async () => {
    const { dir, remove } = await tempDir();
    const store = await openSqliteStore({ path: path.join(dir, 'test.db') });
    try {
      const a = await store.accounts.create({ address: 's@example.org', passwordHash: 'h1', scramSha256: 'k1' });
      assert.equal(a.scramSha256, 'k1');
      assert.equal(await store.accounts.update('s@example.org', { disabled: true }), true);
      assert.equal((await store.accounts.get('s@example.org'))?.scramSha256, 'k1');
      // A new password without keys: the old keys would still open the account, so they go.
      assert.equal(await store.accounts.update('s@example.org', { passwordHash: 'h2' }), true);
      assert.equal((await store.accounts.get('s@example.org'))?.scramSha256, null);
      // Keys derived from an old password (a login that raced a password change) are not stored.
      assert.equal(await store.accounts.setScram('s@example.org', 'h1', 'k-old'), false);
      assert.equal(await store.accounts.setScram('S@example.org', 'h2', 'k2'), true);
      assert.equal((await store.accounts.get('s@example.org'))?.scramSha256, 'k2');
      assert.equal(await store.accounts.update('s@example.org', { passwordHash: 'h3', scramSha256: 'k3' }), true);
      assert.equal((await store.accounts.get('s@example.org'))?.scramSha256, 'k3');
    } finally {
      await store.close();
      await remove();
    }
  });

  it('openStore creates the data directory and postbode.db', async () => {
    const { dir, remove } = await tempDir();
    try {
      const store: Store = await openStore({ dataDir: path.join(dir, 'nested', 'data') });
      assert.equal(store.kind, 'sqlite');
      await store.domains.add('example.org');
      await store.close();
      const again = await openSqliteStore({ path: path.join(dir, 'nested', 'data', 'postbode.db') });
      assert.deepEqual(await again.domains.list(), ['example.org']);
      await again.close();
    } finally {
      await remove();
    }
  });

  it('blobs left without a reference are deleted: a few in the same write, many in batches after it', async () => {
    const { dir, remove } = await tempDir();
    const file = path.join(dir, 'orphans.db');
    const store = await openSqliteStore({ path: file });
    const raw = openDatabase(file);
    const blobCount = () => raw.prepare('SELECT count(*) FROM blobs').pluck().get() as number;
    try {
      const a = await store.accounts.create({ address: 'a@example.org', passwordHash: 'h' });
      const inbox = (await store.mailboxes.get(a.id, 'INBOX'))!;
      const infos = await store.messages.appendMany(
        Array.from({ length: 2000 }, (_, i) => ({
          mailboxId: inbox.id,
          raw: Buffer.from(`Subject: ${i}\r\n\r\n`),
          meta: null,
        })),
      );
      assert.equal(blobCount(), 2000);
      // A few: gone when the expunge resolves.
      await store.messages.expunge(inbox.id, [1, 2, 3]);
      assert.equal(blobCount(), 1997);
      // Many: the expunge deletes a bounded number itself, the rest goes in later writes.
      const rest = infos.slice(3).map((m) => m.uid);
      await store.messages.expunge(inbox.id, rest);
      const left = blobCount();
      assert.ok(left > 0 && left < 1997, `${left} blobs left right after the expunge`);
      await until(() => blobCount() === 0);
      assert.equal(raw.prepare('SELECT count(*) FROM blob_orphans').pluck().get(), 0);
      assert.equal(raw.prepare('SELECT count(*) FROM search_text').pluck().get(), 0);
    } finally {
      raw.close();
      await store.close();
      await remove();
    }
  });

  it('an orphaned blob that a new message took back (same bytes) is not deleted; orphans left at close are swept at open', async () => {
    const { dir, remove } = await tempDir();
    const file = path.join(dir, 'orphans2.db');
    let store = await openSqliteStore({ path: file });
    const raw = openDatabase(file);
    try {
      const a = await store.accounts.create({ address: 'a@example.org', passwordHash: 'h' });
      const inbox = (await store.mailboxes.get(a.id, 'INBOX'))!;
      const kept = await store.messages.append({
        mailboxId: inbox.id,
        raw: Buffer.from('Subject: x\r\n\r\n'),
        meta: null,
      });
      const gone = await store.messages.append({
        mailboxId: inbox.id,
        raw: Buffer.from('Subject: y\r\n\r\n'),
        meta: null,
      });
      // As if a delivery had taken the blob back after its last message went: still referenced.
      raw.prepare('INSERT INTO blob_orphans (blob_id) VALUES (?)').run(kept.blobId);
      // As if a process had stopped before sweeping: unreferenced.
      raw.prepare('DELETE FROM messages WHERE mailbox_id = ? AND uid = ?').run(inbox.id, gone.uid);
      assert.equal(raw.prepare('SELECT count(*) FROM blob_orphans').pluck().get(), 2);
      await store.close();
      store = await openSqliteStore({ path: file });
      await until(() => raw.prepare('SELECT count(*) FROM blob_orphans').pluck().get() === 0);
      assert.deepEqual(await store.blobs.read(kept.blobId), Buffer.from('Subject: x\r\n\r\n'));
      assert.equal(await store.blobs.get(gone.blobId), null);
    } finally {
      raw.close();
      await store.close();
      await remove();
    }
  });

  it('writes after close reject', async () => {
    const { dir, remove } = await tempDir();
    try {
      const store = await openSqliteStore({ path: path.join(dir, 'c.db') });
      await store.close();
      await assert.rejects(store.domains.add('x.example'), /closed/);
    } finally {
      await remove();
    }
  });
});

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), 'condition not reached');
}

describe('GroupCommitter', () => {
  function setup() {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (v INTEGER UNIQUE)');
    const published: MailboxChange[][] = [];
    const committer = new GroupCommitter(db, (changes) => published.push(changes));
    return { db, committer, published };
  }

  it('runs concurrent jobs in one transaction, in order', async () => {
    const { db, committer } = setup();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        committer.run(() => {
          assert.equal(db.inTransaction, true);
          db.prepare('INSERT INTO t (v) VALUES (?)').run(i);
          return i;
        }),
      ),
    );
    assert.deepEqual(
      results,
      Array.from({ length: 20 }, (_, i) => i),
    );
    assert.deepEqual(committer.stats, { batches: 1, jobs: 20, syncs: 0 });
    await committer.run(() => db.prepare('INSERT INTO t (v) VALUES (100)').run());
    assert.deepEqual(committer.stats, { batches: 2, jobs: 21, syncs: 0 });
    db.close();
  });

  it('a job that publishes 300,000 changes (STORE 1:* on a big mailbox) commits and publishes them all', async () => {
    // push(...changes) of that many overflowed the call stack and took the whole server down.
    const { db, committer, published } = setup();
    await committer.run((tx) => {
      for (let uid = 1; uid <= 300_000; uid++) tx.publish({ kind: 'exists', mailboxId: 1, uid, modseq: uid });
    });
    assert.equal(
      published.reduce((n, batch) => n + batch.length, 0),
      300_000,
    );
    db.close();
  });

  it('a failing job rolls back alone and publishes nothing', async () => {
    const { db, committer, published } = setup();
    const change = (uid: number): MailboxChange => ({ kind: 'exists', mailboxId: 1, uid, modseq: uid });
    const settled = await Promise.allSettled([
      committer.run((tx) => {
        db.prepare('INSERT INTO t (v) VALUES (1)').run();
        tx.publish(change(1));
      }),
      committer.run((tx) => {
        db.prepare('INSERT INTO t (v) VALUES (2)').run();
        tx.publish(change(2));
        db.prepare('INSERT INTO t (v) VALUES (1)').run(); // UNIQUE violation
      }),
      committer.run((tx) => {
        db.prepare('INSERT INTO t (v) VALUES (3)').run();
        tx.publish(change(3));
      }),
    ]);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.deepEqual(db.prepare('SELECT v FROM t ORDER BY v').pluck().all(), [1, 3]);
    assert.deepEqual(published, [[change(1), change(3)]]);
    assert.equal(committer.stats.batches, 1);
    db.close();
  });

  it('publishes after commit and before the promises settle', async () => {
    const { db, committer } = setup();
    const order: string[] = [];
    const bus = new GroupCommitter(db, () => order.push(`publish inTransaction=${db.inTransaction}`));
    const pending = bus.run((tx) => {
      order.push('job');
      tx.publish({ kind: 'exists', mailboxId: 1, uid: 1, modseq: 1 });
    });
    order.push('queued');
    await pending;
    order.push('resolved');
    assert.deepEqual(order, ['queued', 'job', 'publish inTransaction=false', 'resolved']);
    committer.close();
    db.close();
  });

  it('with a sync: jobs settle and changes publish only after a sync that began after their commit', async () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (v INTEGER)');
    const order: string[] = [];
    const syncs: { release: () => void; fail: (e: Error) => void }[] = [];
    const committer = new GroupCommitter(
      db,
      (changes) => order.push(`publish ${changes.map((c) => (c.kind === 'exists' ? c.uid : 0)).join(',')}`),
      undefined,
      () =>
        new Promise<void>((release, fail) => {
          order.push(`sync ${db.prepare('SELECT count(*) FROM t').pluck().get()}`);
          syncs.push({ release, fail });
        }),
    );
    const write = (v: number) =>
      committer
        .run((tx) => {
          db.prepare('INSERT INTO t (v) VALUES (?)').run(v);
          tx.publish({ kind: 'exists', mailboxId: 1, uid: v, modseq: v });
          return v;
        })
        .then((r) => order.push(`resolved ${r}`));
    const first = write(1);
    await until(() => syncs.length === 1);
    // Committed (visible) but not durable yet: nothing settled, nothing published.
    assert.deepEqual(order, ['sync 1']);
    // Two more jobs arrive in separate ticks while the first sync is in flight: they wait, uncommitted,
    // and go in one transaction when it ends, covered by the next sync.
    const second = write(2);
    await new Promise((r) => setImmediate(r));
    const third = write(3);
    await new Promise((r) => setImmediate(r));
    assert.equal(db.prepare('SELECT count(*) FROM t').pluck().get(), 1);
    assert.equal(syncs.length, 1, 'one sync in flight at a time');
    syncs[0].release();
    await first;
    await until(() => syncs.length === 2);
    assert.deepEqual(order, ['sync 1', 'publish 1', 'resolved 1', 'sync 3']);
    assert.equal(committer.stats.batches, 2, 'the jobs that waited for the sync committed together');
    syncs[1].release();
    await Promise.all([second, third]);
    assert.deepEqual(order.slice(4), ['publish 2,3', 'resolved 2', 'resolved 3']);
    // A failed sync rejects the jobs it covered (committed, but not known durable).
    const fourth = committer.run(() => db.prepare('INSERT INTO t (v) VALUES (4)').run());
    await until(() => syncs.length === 3);
    syncs[2].fail(new Error('EIO'));
    await assert.rejects(fourth, /EIO/);
    assert.equal(committer.stats.syncs, 3);
    committer.close();
    await committer.settled();
    db.close();
  });

  it('a failed transaction rejects every job of the batch and publishes nothing', async () => {
    const { dir, remove } = await tempDir();
    const file = path.join(dir, 'locked.db');
    const db = new Database(file, { timeout: 0 });
    const other = new Database(file, { timeout: 0 });
    try {
      db.pragma('journal_mode = WAL');
      db.exec('CREATE TABLE t (v INTEGER)');
      const published: MailboxChange[][] = [];
      const committer = new GroupCommitter(db, (changes) => published.push(changes));
      other.exec('BEGIN IMMEDIATE'); // the batch's BEGIN IMMEDIATE now fails with SQLITE_BUSY
      const settled = await Promise.allSettled([
        committer.run((tx) => tx.publish({ kind: 'exists', mailboxId: 1, uid: 1, modseq: 1 })),
        committer.run(() => db.prepare('INSERT INTO t (v) VALUES (1)').run()),
      ]);
      assert.deepEqual(
        settled.map((s) => (s.status === 'rejected' ? (s.reason as { code?: string }).code : s.status)),
        ['SQLITE_BUSY', 'SQLITE_BUSY'],
      );
      assert.deepEqual(published, []);
      other.exec('ROLLBACK');
      await committer.run(() => db.prepare('INSERT INTO t (v) VALUES (2)').run());
      assert.deepEqual(db.prepare('SELECT v FROM t').pluck().all(), [2]);

      db.exec('BEGIN');
      await assert.rejects(
        committer.run(() => 3),
        /open transaction/,
      );
      db.exec('ROLLBACK');
    } finally {
      other.close();
      db.close();
      await remove();
    }
  });

  it('refuses async jobs', async () => {
    const { db, committer } = setup();
    await assert.rejects(
      committer.run(async () => 1),
      /promise/,
    );
    db.close();
  });
});
