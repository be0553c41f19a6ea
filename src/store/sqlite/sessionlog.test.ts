/**
 * The SQLite session history beyond the contract: migration V7 moves V4's one-row-per-event history
 * into chunks, a batch costs one chunk row per session, and the captured bytes live in one file per
 * session beside the database.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { loggedSession } from '../../../test/harness/logged-session.js';
import { openSqliteStore } from './index.js';
import { MIGRATIONS } from './schema.js';

async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'postbode-sessionlog-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The version whose migration replaced log_events by log_chunks. */
const CHUNKS_VERSION = MIGRATIONS.findIndex((sql) => sql.includes('CREATE TABLE log_chunks'));

describe('sqlite session log', () => {
  it('migrates per-event rows into one chunk per session, data and order intact', async () => {
    assert.ok(CHUNKS_VERSION > 0, 'a migration creates log_chunks');
    const { dir, remove } = await tempDir();
    const file = path.join(dir, 'old.db');
    try {
      const raw = new Database(file);
      for (const sql of MIGRATIONS.slice(0, CHUNKS_VERSION)) raw.exec(sql);
      raw.pragma(`user_version = ${CHUNKS_VERSION}`);
      raw
        .prepare(
          `INSERT INTO log_sessions (id, proto, listener, local_addr, local_port, remote_addr, remote_port, start, state, events)
           VALUES (?, 'smtp', 'smtp', '127.0.0.1', 25, '192.0.2.1', 40000, 1000, 'closed', 3)`,
        )
        .run('s1');
      const insert = raw.prepare(
        'INSERT INTO log_events (session_id, seq, t, type, text, encrypted, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
      );
      insert.run('s1', 2, 1002, 'close', 'closed: QUIT', 1, JSON.stringify({ reason: 'QUIT' }));
      insert.run('s1', 0, 1000, 'open', 'smtp session', 0, JSON.stringify({ tls: false }));
      insert.run('s1', 1, 1001, 'in', 'EHLO "quoted" \\ x', 1, null);
      raw.close();

      const store = await openSqliteStore({ path: file });
      try {
        assert.deepEqual(await store.sessionLog.events('s1'), [
          {
            sessionId: 's1',
            seq: 0,
            t: 1000,
            type: 'open',
            text: 'smtp session',
            encrypted: false,
            data: { tls: false },
          },
          { sessionId: 's1', seq: 1, t: 1001, type: 'in', text: 'EHLO "quoted" \\ x', encrypted: true, data: null },
          {
            sessionId: 's1',
            seq: 2,
            t: 1002,
            type: 'close',
            text: 'closed: QUIT',
            encrypted: true,
            data: { reason: 'QUIT' },
          },
        ]);
      } finally {
        await store.close();
      }
      const after = new Database(file, { readonly: true });
      try {
        const tables = after.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
        assert.ok(!tables.includes('log_events'), 'log_events is gone');
        assert.equal(after.prepare('SELECT count(*) FROM log_chunks').pluck().get(), 1);
      } finally {
        after.close();
      }
    } finally {
      await remove();
    }
  });

  it('writes one chunk row per session per batch', async () => {
    const { dir, remove } = await tempDir();
    const file = path.join(dir, 'chunks.db');
    try {
      const store = await openSqliteStore({ path: file });
      try {
        const session = (id: string) =>
          loggedSession(id, {
            proto: 'imap',
            listener: 'imap',
            localPort: 143,
            remoteAddress: '192.0.2.2',
            remotePort: 40001,
            start: 1,
          });
        const events = (id: string, from: number, n: number) =>
          Array.from({ length: n }, (_, i) => ({
            sessionId: id,
            seq: from + i,
            t: from + i,
            type: 'out',
            text: `* line ${from + i}`,
            encrypted: false,
            data: null,
          }));
        await store.sessionLog.append({
          sessions: [session('a'), session('b')],
          events: [...events('a', 0, 100), ...events('b', 0, 50)],
        });
        await store.sessionLog.append({ sessions: [session('a')], events: events('a', 100, 100) });
        assert.equal((await store.sessionLog.events('a')).length, 200);
        assert.equal((await store.sessionLog.events('b')).length, 50);
      } finally {
        await store.close();
      }
      const db = new Database(file, { readonly: true });
      try {
        assert.deepEqual(
          db.prepare('SELECT session_id, count(*) AS n FROM log_chunks GROUP BY session_id ORDER BY 1').all(),
          [
            { session_id: 'a', n: 2 },
            { session_id: 'b', n: 1 },
          ],
        );
      } finally {
        db.close();
      }
    } finally {
      await remove();
    }
  });

  it('keeps the bytes of a session by batch, secrets with their chunk, and prunes them with it', async () => {
    const { dir, remove } = await tempDir();
    const file = path.join(dir, 'wire.db');
    try {
      const store = await openSqliteStore({ path: file });
      try {
        const session = (id: string, start: number) =>
          loggedSession(id, {
            proto: 'pop3',
            listener: 'pop3',
            localPort: 110,
            remoteAddress: '192.0.2.3',
            remotePort: 40002,
            start,
            end: start + 1, // finished: the prune below may take it
          });
        const chunk = (
          sessionId: string,
          t: number,
          dir: 'in' | 'out',
          text: string,
          secrets: [number, Buffer][] | null = null,
        ) => ({
          sessionId,
          t,
          dir,
          data: Buffer.from(text),
          secrets,
        });
        await store.sessionLog.append({
          sessions: [session('old', 1), session('new', 2)],
          events: [],
          wire: [
            chunk('old', 1, 'out', '+OK\r\n'),
            chunk('new', 2, 'out', '+OK hi\r\n'),
            chunk('new', 3, 'in', 'PASS ****\r\n', [[5, Buffer.from('pw12')]]),
          ],
        });
        await store.sessionLog.append({ sessions: [], events: [], wire: [chunk('new', 4, 'out', '+OK\r\n')] });
        const wire = await store.sessionLog.wire('new');
        assert.deepEqual(
          wire.map((w) => [w.t, w.dir, w.data.toString(), w.secrets?.map(([at, b]) => [at, b.toString()]) ?? null]),
          [
            [2, 'out', '+OK hi\r\n', null],
            [3, 'in', 'PASS ****\r\n', [[5, 'pw12']]],
            [4, 'out', '+OK\r\n', null],
          ],
        );
        await assert.rejects(
          store.sessionLog.append({ sessions: [], events: [], wire: [chunk('nobody', 1, 'in', 'x')] }),
          /no logged session nobody/,
        );
        assert.equal(await store.sessionLog.prune({ keep: 1 }), 1);
        assert.deepEqual(await store.sessionLog.wire('old'), []);
        assert.equal((await store.sessionLog.wire('new')).length, 3);
      } finally {
        await store.close();
      }
    } finally {
      await remove();
    }
  });
  it('appends the captured bytes to a file per session, not to the database, and removes it with the session', async () => {
    const { dir, remove } = await tempDir();
    const file = path.join(dir, 'files.db');
    const captureDir = path.join(dir, 'capture');
    try {
      const store = await openSqliteStore({ path: file });
      const session = (id: string, start: number) =>
        loggedSession(id, { proto: 'pop3', listener: 'pop3', localPort: 110, start, end: start + 1 });
      const out = (sessionId: string, t: number, text: string) => ({
        sessionId,
        t,
        dir: 'out' as const,
        data: Buffer.from(text),
        secrets: null,
      });
      const body = 'x'.repeat(100_000);
      try {
        await store.sessionLog.append({
          sessions: [session('a1', 1), session('b/../../evil', 2), session('small', 3)],
          events: [],
          wire: [
            out('a1', 1, '+OK 1\r\n'),
            out('a1', 2, `${body}\r\n.\r\n`),
            out('b/../../evil', 3, `+OK b\r\n${body}`),
            out('small', 3, '+OK small\r\n'),
          ],
        });
        await store.sessionLog.append({ sessions: [], events: [], wire: [out('a1', 4, `+OK bye\r\n${body}`)] });
        // The big rows' bytes are in the files (the odd id hashed to a plain name inside the folder),
        // a small row's in the database.
        const names = readdirSync(captureDir).sort();
        assert.equal(names.length, 2);
        assert.ok(names.includes('a1.wire'));
        assert.ok(
          names.every((n) => /^[A-Za-z0-9_-]+\.wire$/.test(n)),
          names.join(' '),
        );
        assert.equal(
          readFileSync(path.join(captureDir, 'a1.wire')).toString(),
          `+OK 1\r\n${body}\r\n.\r\n+OK bye\r\n${body}`,
        );
        const db = new Database(file, { readonly: true });
        try {
          const inRows = db.prepare('SELECT session_id, length(data) FROM log_wire WHERE length(data) > 0').raw().all();
          assert.deepEqual(inRows, [['small', 11]], 'only the small row keeps its bytes in the database');
        } finally {
          db.close();
        }
        const texts = async (id: string) => (await store.sessionLog.wire(id)).map((w) => w.data.toString());
        assert.deepEqual(await texts('a1'), ['+OK 1\r\n', `${body}\r\n.\r\n`, `+OK bye\r\n${body}`]);
        assert.deepEqual(await texts('b/../../evil'), [`+OK b\r\n${body}`]);
        assert.deepEqual(await texts('small'), ['+OK small\r\n']);

        // Appends to one file that overlap (on the thread pool) run one after the other, each at its offset.
        const parts = ['1', '2', '3'].map((n) => `+OK ${n}\r\n${n.repeat(50_000)}`);
        await Promise.all(
          parts.map((text, i) =>
            store.sessionLog.append({ sessions: [session('c1', 4)], events: [], wire: [out('c1', 5 + i, text)] }),
          ),
        );
        assert.deepEqual(await texts('c1'), parts);
        assert.equal(readFileSync(path.join(captureDir, 'c1.wire')).toString(), parts.join(''));
        assert.equal(await store.sessionLog.delete(['c1']), 1);

        // A file cut short (a crash before the page cache reached the disk): the capture ends earlier.
        truncateSync(path.join(captureDir, 'a1.wire'), 50_000);
        assert.deepEqual(await texts('a1'), ['+OK 1\r\n'], 'the rows whose bytes are not there whole are left out');

        // Deleting and pruning sessions removes their files.
        assert.equal(await store.sessionLog.delete(['b/../../evil']), 1);
        assert.deepEqual(readdirSync(captureDir), ['a1.wire']);
        assert.equal(await store.sessionLog.prune({ keep: 0 }), 2);
        assert.deepEqual(readdirSync(captureDir), []);
      } finally {
        await store.close();
      }

      // A file whose session is gone (a crash between the deletion and the unlink) goes at the next
      // open once it is an hour old; a younger one may belong to a write of another process.
      const orphan = path.join(captureDir, 'gone.wire');
      const young = path.join(captureDir, 'young.wire');
      writeFileSync(orphan, 'old bytes');
      writeFileSync(young, 'new bytes');
      const twoHoursAgo = (Date.now() - 2 * 3600_000) / 1000;
      utimesSync(orphan, twoHoursAgo, twoHoursAgo);
      const again = await openSqliteStore({ path: file });
      await again.close();
      assert.equal(existsSync(orphan), false);
      assert.equal(existsSync(young), true);
    } finally {
      await remove();
    }
  });

  it('keeps the captured bytes in the rows for a database in memory', async () => {
    const store = await openSqliteStore({ path: ':memory:' });
    try {
      await store.sessionLog.append({
        sessions: [loggedSession('m1', { proto: 'imap', listener: 'imap', localPort: 143, start: 1 })],
        events: [],
        wire: [{ sessionId: 'm1', t: 1, dir: 'out', data: Buffer.from('* OK\r\n'), secrets: null }],
      });
      assert.deepEqual(
        (await store.sessionLog.wire('m1')).map((w) => w.data.toString()),
        ['* OK\r\n'],
      );
    } finally {
      await store.close();
    }
  });
});
