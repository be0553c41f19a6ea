/**
 * `postbode backup` while a server takes deliveries over SMTP, and `postbode restore` into a fresh data
 * dir: a second server on the restored dir has every message acked before the backup started, with its
 * UID, flags and the mailbox's UIDVALIDITY; the counts match the manifest; the DKIM key is the same file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BackupManifest } from '../src/cli/backup.js';
import { readTar } from '../src/cli/tar.js';
import { ImapClient } from './harness/imap-client.js';
import { submitMessages } from './harness/mail-flow.js';
import { BIN, type PostbodeProcess, removeDir, runCli, startPostbode } from './harness/server.js';
import { sqliteOnly } from './harness/store.js';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const PASS = 'backup-secret-1';

interface Seen {
  uid: number;
  flags: string[];
}

interface MailboxView {
  uidValidity: string;
  /** By Message-ID. */
  messages: Map<string, Seen>;
}

async function imapSession<T>(port: number, user: string, fn: (c: ImapClient) => Promise<T>): Promise<T> {
  const c = await ImapClient.connect(port);
  try {
    await c.login(user, PASS);
    return await fn(c);
  } finally {
    c.close();
  }
}

async function view(c: ImapClient, mailbox: string): Promise<MailboxView> {
  const sel = await c.ok(`EXAMINE ${mailbox}`);
  const uidValidity = /UIDVALIDITY (\d+)/.exec(sel.untagged.join('\n'))?.[1];
  assert.ok(uidValidity, `no UIDVALIDITY for ${mailbox}`);
  const messages = new Map<string, Seen>();
  const r = await c.ok('UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])', 15000);
  for (const line of r.untagged) {
    if (!/^\* \d+ FETCH/.test(line)) continue;
    const uid = Number(/UID (\d+)/.exec(line)?.[1]);
    // \Recent belongs to a session (RFC 3501 §2.3.2), not to the stored message.
    const flags = (/FLAGS \(([^)]*)\)/.exec(line)?.[1] ?? '')
      .split(' ')
      .filter((f) => f !== '' && f !== '\\Recent')
      .sort();
    const id = /Message-ID: <([^>]+)>/i.exec(line)?.[1];
    assert.ok(id && uid > 0, `unexpected FETCH response ${line}`);
    messages.set(id, { uid, flags });
  }
  return { uidValidity, messages };
}

/** Messages in every mailbox of the account (LIST + STATUS). */
async function totalMessages(c: ImapClient): Promise<number> {
  const list = await c.ok('LIST "" "*"');
  let total = 0;
  for (const line of list.untagged) {
    const name = /^\* LIST \([^)]*\) (?:"[^"]*"|NIL) (.+)$/.exec(line)?.[1];
    if (!name) continue;
    const status = await c.ok(`STATUS ${name} (MESSAGES)`);
    total += Number(/MESSAGES (\d+)/.exec(status.untagged.join('\n'))?.[1] ?? 'NaN');
  }
  return total;
}

function runCliAsync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function readManifest(file: string): Promise<BackupManifest> {
  let manifest: BackupManifest | null = null;
  await readTar(file, async (entry) => {
    if (entry.name === 'manifest.json')
      manifest = JSON.parse((await entry.buffer(1 << 20)).toString()) as BackupManifest;
  });
  assert.ok(manifest, 'no manifest.json in the archive');
  return manifest;
}

// `postbode backup` copies the embedded SQLite database (a PostgreSQL store is backed up with pg_dump).
describe('postbode backup and restore', {
  skip: sqliteOnly('postbode backup/restore copy the SQLite database'),
}, () => {
  let pb: PostbodeProcess;
  let restored: PostbodeProcess | null = null;
  const work = mkdtempSync(path.join(tmpdir(), 'postbode-backup-'));
  const archive = path.join(work, 'backup.tar');
  const newDir = path.join(work, 'restored');

  before(async () => {
    pb = await startPostbode({ listeners: ['submission', 'imap'] });
    for (const u of [ALICE, BOB]) assert.equal(pb.cli(['user', 'add', u, '--password', PASS]).code, 0);
    assert.equal(pb.cli(['dkim', 'keygen', 'example.test']).code, 0);
  });

  after(async () => {
    await restored?.stop();
    await pb.stop();
    removeDir(pb.dataDir);
    removeDir(work);
  });

  it('backs up under load; the restored server has every acked message with its UID and flags', async (t) => {
    const submission = pb.ports.submission;
    const pre = Array.from({ length: 20 }, (_, i) => `pre-${i + 1}`);
    await submitMessages({ port: submission, user: BOB, password: PASS, to: [ALICE], subjects: pre });
    // Flags, an expunged UID (a gap) and a second mailbox before the backup.
    const before = await imapSession(pb.ports.imap, ALICE, async (c) => {
      await c.ok('SELECT INBOX');
      await c.ok('STORE 1:5 +FLAGS (\\Seen)');
      await c.ok('STORE 3 +FLAGS (\\Flagged $Work)');
      await c.ok('UID STORE 7 +FLAGS (\\Deleted)');
      await c.ok('EXPUNGE');
      await c.ok('CREATE Kept');
      await c.ok('UID COPY 8:10 Kept');
      await c.ok('UID STORE 9 +FLAGS (\\Answered)');
      return { inbox: await view(c, 'INBOX'), archive: await view(c, 'Kept') };
    });
    assert.equal(before.inbox.messages.size, 19);
    assert.deepEqual(before.inbox.messages.get('pre-3@example.test')?.flags, ['$Work', '\\Flagged', '\\Seen']);
    assert.equal(before.archive.messages.size, 3);

    // Deliveries keep running while the backup runs.
    const acked: { subject: string; at: number }[] = [];
    let loadRunning = () => {};
    const tenAcked = new Promise<void>((resolve) => {
      loadRunning = resolve;
    });
    let stop = false;
    const load = (async () => {
      for (let batch = 0; !stop; batch++) {
        const subjects = Array.from({ length: 5 }, (_, i) => `load-${batch}-${i}`);
        await submitMessages({
          port: submission,
          user: BOB,
          password: PASS,
          to: [ALICE, BOB],
          subjects,
          onAccepted: (subject) => {
            acked.push({ subject, at: Date.now() });
            if (acked.length === 10) loadRunning();
          },
        });
      }
    })();
    // Let the load get going (wait for acks, not for time).
    await tenAcked;
    const backupStart = Date.now();
    const ackedBefore = new Set(acked.map((a) => a.subject));
    const backup = await runCliAsync(['backup', archive, '--data-dir', pb.dataDir]);
    const backupEnd = Date.now();
    stop = true;
    await load;
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(backup.stdout, /^wrote .*backup\.tar/m);
    assert.match(backup.stdout, /files: .*dkim\/example\.test\.postbode\.key/);
    assert.match(backup.stdout, /files: .*secret\.key/);

    // How much the deliveries stalled: the longest gap between two acks while the backup ran.
    const during = acked.filter((a) => a.at >= backupStart && a.at <= backupEnd);
    const times = [backupStart, ...during.map((a) => a.at), backupEnd];
    const longestGap = Math.max(...times.slice(1).map((t, i) => t - times[i]));
    t.diagnostic(
      `backup took ${backupEnd - backupStart} ms (process start included); ${during.length} deliveries acked meanwhile; longest gap between acks ${longestGap} ms`,
    );
    assert.ok(during.length > 0, 'no delivery was acked while the backup ran: the backup blocked the server');

    const manifest = await readManifest(archive);
    assert.equal(manifest.format, 'postbode-backup');
    assert.equal(manifest.counts.accounts, 2);

    const r = runCli(['restore', archive, '--data-dir', newDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /integrity ok/);

    // The DKIM key and the APOP secret key are the same files.
    for (const f of ['dkim/example.test.postbode.key', 'secret.key']) {
      assert.deepEqual(readFileSync(path.join(newDir, f)), readFileSync(path.join(pb.dataDir, f)), f);
    }

    restored = await startPostbode({ dataDir: newDir, listeners: ['submission', 'imap'] });
    const port = restored.ports.imap;
    const after = await imapSession(port, ALICE, async (c) => ({
      inbox: await view(c, 'INBOX'),
      archive: await view(c, 'Kept'),
      total: await totalMessages(c),
    }));
    assert.equal(after.inbox.uidValidity, before.inbox.uidValidity);
    assert.equal(after.archive.uidValidity, before.archive.uidValidity);
    for (const [id, seen] of before.inbox.messages) assert.deepEqual(after.inbox.messages.get(id), seen, id);
    assert.deepEqual([...after.archive.messages], [...before.archive.messages]);
    const bobAfter = await imapSession(port, BOB, async (c) => ({
      inbox: await view(c, 'INBOX'),
      total: await totalMessages(c),
    }));
    const allAcked = new Set(acked.map((a) => a.subject));
    for (const [who, box] of [
      ['alice', after.inbox],
      ['bob', bobAfter.inbox],
    ] as const) {
      const loadIds = [...box.messages.keys()].filter((id) => id.startsWith('load-')).map((id) => id.split('@')[0]);
      const present = new Set(loadIds);
      for (const subject of ackedBefore) assert.ok(present.has(subject), `${who}: ${subject} acked before the backup`);
      for (const subject of loadIds) assert.ok(allAcked.has(subject), `${who}: ${subject} was never acked`);
    }
    // Every message of the manifest is there, and nothing else.
    assert.equal(after.total + bobAfter.total, manifest.counts.messages);

    // The restored server goes on: a new message gets a UID above every restored one.
    await submitMessages({
      port: restored.ports.submission,
      user: BOB,
      password: PASS,
      to: [ALICE],
      subjects: ['post'],
    });
    const latest = await imapSession(port, ALICE, (c) => view(c, 'INBOX'));
    const maxBefore = Math.max(...[...after.inbox.messages.values()].map((m) => m.uid));
    assert.ok((latest.messages.get('post@example.test')?.uid ?? 0) > maxBefore);
    const keys = restored.cli(['dkim', 'list']);
    assert.match(keys.stdout, /example\.test/);
  });

  it('refuses a data dir in use, a damaged archive and a file that is no backup, restoring nothing', async () => {
    assert.ok(existsSync(archive), 'the first test writes the archive');
    const running = runCli(['restore', archive, '--data-dir', pb.dataDir]);
    assert.equal(running.code, 1);
    assert.match(running.stderr, /a postbode server is running on .*--data-dir NEW_DIR/);

    const again = runCli(['backup', archive, '--data-dir', pb.dataDir]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists already/);

    // One byte changed inside the database copy: its checksum no longer matches the manifest.
    const damaged = path.join(work, 'damaged.tar');
    const bytes = readFileSync(archive);
    const at = bytes.indexOf('SQLite format 3\0') + 4096;
    bytes[at] ^= 0xff;
    writeFileSync(damaged, bytes);
    const target = path.join(work, 'from-damaged');
    const r = runCli(['restore', damaged, '--data-dir', target]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /postbode\.db differs from its checksum in the manifest/);
    assert.equal(existsSync(target), false);

    // With PostgreSQL there is no embedded database to copy: a pointer to pg_dump instead.
    const pgConfig = path.join(work, 'pg.toml');
    writeFileSync(
      pgConfig,
      `data_dir = "${path.join(work, 'pg').replaceAll('\\', '/')}"\n[store]\nurl = "postgresql://pb@localhost/pb"\n`,
    );
    const pg = runCli(['backup', path.join(work, 'pg.tar'), '--config', pgConfig]);
    assert.equal(pg.code, 1);
    assert.match(pg.stderr, /PostgreSQL database: back it up with pg_dump/);
    assert.equal(existsSync(path.join(work, 'pg.tar')), false);

    const notBackup = path.join(work, 'not-a-backup.tar');
    writeFileSync(notBackup, Buffer.alloc(4096, 'x'));
    const n = runCli(['restore', notBackup, '--data-dir', target]);
    assert.equal(n.code, 1);
    assert.match(n.stderr, /not a tar archive, or a damaged one/);
    assert.equal(existsSync(target), false);
  });
});
