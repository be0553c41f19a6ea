/**
 * The SQLite session history beyond the contract: migration V7 moves V4's one-row-per-event history
 * into chunks, and a batch costs one chunk row per session.
 */
import assert from 'node:assert/strict';
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
});
