/**
 * `migrateSqliteToPg`: a SQLite store with accounts, mail (flags, keywords, an expunge), an alias, a
 * queue entry and an admin is copied into an empty PostgreSQL schema; the PostgreSQL store then shows
 * the same mailboxes (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ), messages (UIDs, flags, MODSEQs, bytes), the
 * QRESYNC expunged set and the queue; a second copy into the now non-empty target is refused.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { pgSkip, pgTestSchema } from '../../test/harness/postgres.js';
import { MigrateError, migrateSqliteToPg } from './migrate.js';
import { openPgStore } from './postgres/index.js';
import { openDatabase } from './sqlite/db.js';
import { openSqliteStore } from './sqlite/index.js';

const skip = await pgSkip();

function message(n: number): Buffer {
  return Buffer.from(`From: a@example.net\r\nTo: u@example.org\r\nSubject: m${n}\r\n\r\nbody ${n}\r\n`);
}

describe('postbode migrate: SQLite → PostgreSQL', { skip }, () => {
  it('copies everything with its UIDs, flags and MODSEQs, and refuses a non-empty target', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'postbode-migrate-'));
    const schema = pgTestSchema('migrate');
    try {
      const file = path.join(dir, 'postbode.db');
      const sqlite = await openSqliteStore({ path: file });
      await sqlite.domains.add('example.org');
      await sqlite.aliases.set('info@example.org', ['u@example.org']);
      const u = await sqlite.accounts.create({ address: 'u@example.org', passwordHash: 'x', quotaBytes: 1_000_000 });
      await sqlite.accounts.create({ address: 'v@example.org', passwordHash: 'y' });
      await sqlite.admins.create({ name: 'teacher', passwordHash: 'z' });
      await sqlite.sieve.put(u.id, 'rules', 'keep;');
      await sqlite.sieve.put(u.id, 'vacation', 'require "vacation"; vacation "away";');
      await sqlite.sieve.setActive(u.id, 'vacation');
      await sqlite.sieve.remember(u.id, 'vacation', 'k1', 3600, new Date(1_800_000_000_000));
      for (let n = 1; n <= 5; n++) {
        await sqlite.deliver({ raw: message(n), meta: { n }, local: [{ accountId: u.id, mailbox: 'INBOX' }] });
      }
      const inbox = (await sqlite.mailboxes.get(u.id, 'INBOX'))!;
      await sqlite.messages.setFlags({ mailboxId: inbox.id, uids: [2, 3], op: 'add', flags: ['\\Seen', '$Work'] });
      await sqlite.messages.setFlags({ mailboxId: inbox.id, uids: [4], op: 'add', flags: ['\\Deleted'] });
      await sqlite.messages.expunge(inbox.id, [4]);
      await sqlite.deliver({
        raw: message(9),
        meta: null,
        local: [],
        remote: {
          envelopeFrom: 'u@example.org',
          recipients: [{ address: 'x@remote.test', notify: null, orcpt: null }],
          dsnRet: null,
          dsnEnvid: null,
        },
      });
      const before = {
        mailboxes: await sqlite.mailboxes.list(u.id),
        messages: await sqlite.messages.list(inbox.id),
        expunged: await sqlite.messages.expungedSince(inbox.id, 0),
        queue: await sqlite.queue.list(),
        stats: await sqlite.stats(),
        sieve: await sqlite.sieve.list(u.id),
      };
      await sqlite.close();
      // An orphan not swept yet (a process stopped before its sweep, sqlite/orphans.ts): not copied.
      const raw = openDatabase(file);
      const orphan = raw
        .prepare("INSERT INTO blobs (hash, size, data, meta) VALUES ('orphan', 1, x'00', '') RETURNING id")
        .pluck()
        .get();
      raw.prepare('INSERT INTO blob_orphans (blob_id) VALUES (?)').run(orphan);
      raw.close();

      const lines: string[] = [];
      const { source, target } = await migrateSqliteToPg({
        from: file,
        to: schema.url,
        progress: (l) => lines.push(l),
      });
      assert.deepEqual(target, source);
      assert.equal(target.messages, 4);
      assert.ok(lines.some((l) => l.startsWith('messages: 4')));

      const pgStore = await openPgStore({ url: schema.url, node: 'check' });
      try {
        const account = await pgStore.accounts.get('u@example.org');
        assert.equal(account?.id, u.id);
        assert.equal(account?.quotaBytes, 1_000_000);
        assert.deepEqual(await pgStore.mailboxes.list(u.id), before.mailboxes);
        assert.deepEqual(await pgStore.messages.list(inbox.id), before.messages);
        assert.deepEqual(await pgStore.messages.expungedSince(inbox.id, 0), before.expunged);
        assert.deepEqual(await pgStore.stats(), before.stats);
        const queue = await pgStore.queue.list();
        assert.deepEqual(
          queue.map((q) => ({ ...q, lastError: q.lastError })),
          before.queue.map((q) => ({ ...q, lastError: q.lastError })),
        );
        assert.equal((await pgStore.blobs.read(before.messages[0].blobId)).toString(), message(1).toString());
        assert.deepEqual(await pgStore.aliases.get('info@example.org'), ['u@example.org']);
        assert.equal((await pgStore.admins.get('teacher'))?.passwordHash, 'z');
        assert.deepEqual(await pgStore.sieve.list(u.id), before.sieve);
        assert.equal((await pgStore.sieve.active(u.id))?.name, 'vacation');
        assert.equal(await pgStore.sieve.seen(u.id, 'vacation', 'k1', new Date(1_800_000_000_000)), true);
        // New mail continues the UIDs, and a new account gets a new id.
        const r = await pgStore.deliver({
          raw: message(10),
          meta: null,
          local: [{ accountId: u.id, mailbox: 'INBOX' }],
        });
        assert.equal(r.local[0].uid, 6);
        const w = await pgStore.accounts.create({ address: 'w@example.org', passwordHash: 'w' });
        assert.ok(w.id > u.id);
      } finally {
        await pgStore.close();
      }
      await assert.rejects(migrateSqliteToPg({ from: file, to: schema.url }), MigrateError);
    } finally {
      await schema.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
