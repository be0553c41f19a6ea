/**
 * A full disk, for real: the server's data_dir AND its log (stdout redirected to a file) live on a small
 * tmpfs that the test fills to the last byte. The server must keep greeting on every port, refuse mail
 * with 452 4.3.1, let users delete (IMAP EXPUNGE, POP3 DELE+QUIT) thanks to the storage reserve, report
 * the situation in `postbode status`, and accept mail again by itself once space is freed, without
 * ever exiting. Needs root (mount); skipped with a message otherwise.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImapClient } from './harness/imap-client.js';
import { LineClient } from './harness/line-client.js';
import { eventually } from './harness/mail-flow.js';
import { BIN } from './harness/server.js';
import { sqliteOnly } from './harness/store.js';

const base = fs.mkdtempSync(path.join(tmpdir(), 'postbode-diskfull-'));
const mnt = path.join(base, 'mnt');
fs.mkdirSync(mnt);
// The server process here is started by hand on the data dir's SQLite database, whose file and storage
// reserve are what fill the disk; a PostgreSQL server's disk is its own.
const onlySqlite = sqliteOnly('a full disk under the embedded database file and its storage reserve');
const mounted = onlySqlite
  ? null
  : spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mnt], { encoding: 'utf8' });
const skip =
  onlySqlite ||
  (mounted?.status === 0
    ? false
    : `cannot mount a small tmpfs to fill (${(mounted?.stderr || mounted?.error?.message || 'mount failed').trim()}); this test needs root`);
if (skip) fs.rmSync(base, { recursive: true, force: true });

const USER = 'alice@example.test';
const PASS = 'alice-pw';
const LISTENERS = ['smtp', 'submission', 'submissions', 'pop3', 'pop3s', 'imap', 'imaps'];

describe('a full disk (data_dir and log on a filled tmpfs)', { skip }, () => {
  const dataDir = path.join(mnt, 'data');
  const logFile = path.join(mnt, 'server.log');
  const filler = path.join(mnt, 'filler');
  let child: ChildProcess;
  let stderr = '';
  let exited: { code: number | null; signal: string | null } | null = null;
  const ports: Record<string, number> = {};

  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args, '--data-dir', dataDir], { encoding: 'utf8' });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const logLines = (): Record<string, unknown>[] =>
    fs
      .readFileSync(logFile, 'utf8')
      .split('\n')
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  const alive = () => assert.equal(exited, null, `the server exited: ${JSON.stringify(exited)}; stderr: ${stderr}`);

  /** Starts the server; resolves with its "postbode started" line, or its exit when it stops at start. */
  async function start(): Promise<
    { started: Record<string, unknown> } | { exit: { code: number | null }; stderr: string }
  > {
    stderr = '';
    exited = null;
    const args = [BIN, 'serve', '--data-dir', dataDir, '--hostname', 'mx.example.test', '--domain', 'example.test'];
    for (const name of [...LISTENERS, 'managesieve', 'http']) {
      args.push('--listen', LISTENERS.includes(name) ? `${name}=127.0.0.1:0` : `${name}=off`);
    }
    args.push('--set', 'auth.scrypt_log_n=10', '--set', 'delivery.enabled=false');
    // An 8 MiB reserve on a 48 MiB disk; free space is probed every second (the default is 30 s).
    args.push('--set', 'store.reserve=8388608', '--set', 'store.disk_check_interval=1');
    const log = fs.openSync(logFile, 'a');
    child = spawn(process.execPath, args, { stdio: ['ignore', log, 'pipe'] });
    fs.closeSync(log);
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('exit', (code, signal) => {
      exited = { code, signal };
    });
    const seen = logLines().length;
    const outcome = await eventually(
      'the "postbode started" log line, or an exit',
      async () => {
        if (exited) return { exit: exited, stderr };
        const started = logLines()
          .slice(seen)
          .find((l) => l.msg === 'postbode started');
        return started ? { started } : undefined;
      },
      15_000,
    );
    if ('started' in outcome && outcome.started) {
      for (const item of outcome.started.listeners as string[]) {
        const [name, addr] = item.split('=');
        ports[name] = Number(addr.slice(addr.lastIndexOf(':') + 1));
      }
    }
    return outcome;
  }

  before(async () => {
    const outcome = await start();
    assert.ok('started' in outcome, `the server exited at start: ${stderr}`);
    assert.equal(cli('user', 'add', USER, '--password', PASS).code, 0);
    assert.ok(fs.statSync(path.join(dataDir, 'reserve')).size === 8388608, 'the reserve exists');
  });

  after(async () => {
    if (exited === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    if (spawnSync('umount', [mnt]).status !== 0) spawnSync('umount', ['-l', mnt]);
    fs.rmSync(base, { recursive: true, force: true });
  });

  it('greets, refuses mail with 452 4.3.1, lets users delete, and recovers by itself', {
    timeout: 120_000,
  }, async () => {
    // Three messages of ~1 MiB for alice while there is room.
    for (let i = 1; i <= 3; i++) assert.match(await smtpDeliver(ports.smtp, `m${i}`, 1024 * 1024), /^250 /);
    const usedBefore = usedBytes(cli('user', 'list').stdout);
    assert.ok(usedBefore > 3 * 1024 * 1024, `usage ${usedBefore}`);

    fill(filler);
    assert.ok(fs.statfsSync(mnt).bavail * fs.statfsSync(mnt).bsize < 64 * 1024, 'the disk is full');

    // Every port still greets, although the log cannot be written any more. Three rounds: the first
    // session lines still fit in the log file's last, partly used page.
    for (let round = 0; round < 3; round++) {
      for (const name of LISTENERS) {
        const greeting = await greet(name, ports[name]);
        assert.match(greeting, name.startsWith('smtp') || name.startsWith('sub') ? /^220 / : /^(\+OK|\* OK)/, name);
      }
    }
    alive();
    const blocked = cli('status').stdout;
    assert.match(
      blocked,
      /^log: \d+ lines dropped because the log could not be written; writing fails now \(ENOSPC\)/m,
      blocked,
    );
    assert.match(blocked, /^disk: \d+ bytes free of 48 MiB \(0 %\); storage reserve 8\.0 MiB$/m, blocked);
    assert.match(blocked, /WARNING: \d+ bytes \(0 %\) free on the disk holding /, blocked);

    // The disk is full, the reserve still there: MAIL is refused before the client sends a message
    // (Postfix refuses MAIL on too little free space too), and nothing is spent for it.
    const full = await LineClient.connect(ports.smtp);
    assert.match(await full.reply(), /^220 /);
    assert.match(await full.cmd('EHLO client.test'), /^250/);
    assert.match(await full.cmd('MAIL FROM:<bob@remote.test>'), /^452 4\.3\.1 Insufficient system storage/);
    full.close();
    assert.ok(fs.existsSync(path.join(dataDir, 'reserve')), 'the reserve is kept for deleting');

    // POP3 first, the first write on the full disk: DELE, and QUIT deletes (the UPDATE state).
    const pop = await LineClient.connect(ports.pop3);
    assert.match(await pop.line(), /^\+OK/);
    assert.match(await pop.cmd(`USER ${USER}`), /^\+OK/);
    assert.match(await pop.cmd(`PASS ${PASS}`), /^\+OK/);
    assert.match(await pop.cmd('STAT'), /^\+OK 3 /);
    assert.match(await pop.cmd('DELE 1'), /^\+OK/);
    assert.match(await pop.cmd('QUIT'), /^\+OK/);
    pop.close();
    // That deletion needed room in SQLite's write-ahead log: it failed, freed the reserve and ran again.
    assert.match(cli('status').stdout, /storage reserve of 8\.0 MiB SPENT/);

    // IMAP: flag and expunge the (new) first message.
    const imap = await ImapClient.connect(ports.imap);
    await imap.ok(`LOGIN ${USER} ${PASS}`);
    const selected = await imap.ok('SELECT INBOX');
    assert.ok(selected.untagged.includes('* 2 EXISTS'), JSON.stringify(selected.untagged));
    await imap.ok('STORE 1 +FLAGS.SILENT (\\Deleted)');
    const expunged = await imap.ok('EXPUNGE');
    assert.ok(expunged.untagged.includes('* 1 EXPUNGE'), JSON.stringify(expunged));
    await imap.ok('LOGOUT');
    imap.close();
    // Two of the three messages are gone: the account has room again under its quota.
    const usedAfter = usedBytes(cli('user', 'list').stdout);
    assert.ok(usedAfter < usedBefore - 2 * 1024 * 1024, `usage ${usedBefore} → ${usedAfter}`);

    // Mail is refused with the RFC 3463 code for a full mail system (the first failure spends the reserve).
    let refused = '';
    for (let i = 0; i < 10 && !refused; i++) {
      const reply = await smtpDeliver(ports.smtp, `full${i}`, 512 * 1024);
      if (!reply.startsWith('250 ')) refused = reply;
    }
    assert.match(refused, /^452 4\.3\.1 Insufficient system storage, try again later/);
    assert.match(await smtpDeliver(ports.smtp, 'again', 1000), /^452 4\.3\.1 /, 'refused while the reserve is spent');
    // While the reserve is spent, MAIL is refused before the client sends a message.
    const early = await LineClient.connect(ports.smtp);
    assert.match(await early.reply(), /^220 /);
    assert.match(await early.cmd('EHLO client.test'), /^250/);
    assert.match(await early.cmd('MAIL FROM:<bob@remote.test>'), /^452 4\.3\.1 Insufficient system storage/);
    early.close();
    const spent = cli('status').stdout;
    assert.match(spent, /^disk: .* free of .*storage reserve of 8\.0 MiB SPENT: mail is refused/m, spent);
    assert.match(spent, /WARNING: .*the storage reserve is spent/, spent);

    // IMAP APPEND is refused with [LIMIT] (server-wide), not [SERVERBUG]; deleting still works.
    const imap2 = await ImapClient.connect(ports.imap);
    await imap2.ok(`LOGIN ${USER} ${PASS}`);
    await imap2.ok('SELECT INBOX');
    const append = await imap2.append('INBOX', 'Subject: x\r\n\r\nbody\r\n');
    assert.match(append.tagged, /^\S+ NO \[LIMIT\] The server is out of storage space/);
    await imap2.ok('STORE 1 +FLAGS.SILENT (\\Deleted)');
    assert.ok((await imap2.ok('EXPUNGE')).untagged.includes('* 1 EXPUNGE'));
    await imap2.ok('LOGOUT');
    imap2.close();

    alive();

    // Space returns: mail is accepted again without a restart, and the reserve comes back.
    fs.rmSync(filler);
    await eventually('a delivery accepted after freeing space', async () =>
      (await smtpDeliver(ports.smtp, 'back', 1000)).startsWith('250 ') ? true : undefined,
    );
    const back = await eventually('the reserve re-created', async () => {
      const out = cli('status').stdout;
      return /storage reserve 8\.0 MiB$/m.test(out) ? out : undefined;
    });
    assert.doesNotMatch(back, /SPENT|WARNING: .*reserve is spent/);
    // The log works again and says how many lines it lost.
    const report = await eventually('the dropped-lines report in the log', async () =>
      logLines().find((l) => typeof l.dropped === 'number' && /log lines were dropped/.test(String(l.msg))),
    );
    assert.ok((report.dropped as number) > 0);
    assert.equal(report.error, 'ENOSPC');
    alive();
    assert.doesNotMatch(stderr, /Error|ENOSPC/, stderr);

    // A clean stop writes its last line.
    child.kill('SIGTERM');
    await new Promise((resolve) => (exited ? resolve(null) : child.once('exit', resolve)));
    assert.deepEqual(exited, { code: 0, signal: null });
    assert.ok(logLines().some((l) => l.msg === 'postbode stopped'));
  });

  it('starts on a full disk: the reserve makes room to open the store, read and delete; without it, a clear error', {
    timeout: 60_000,
  }, async () => {
    // After the test above: stopped cleanly, the reserve re-created, two messages left.
    assert.ok(fs.existsSync(path.join(dataDir, 'reserve')));
    fill(filler);
    const outcome = await start();
    assert.ok('started' in outcome, `the server did not start on a full disk: ${stderr}`);
    assert.ok(logLines().some((l) => /full at start: the storage reserve was released/.test(String(l.msg))));
    const imap = await ImapClient.connect(ports.imap);
    await imap.ok(`LOGIN ${USER} ${PASS}`);
    const selected = await imap.ok('SELECT INBOX');
    assert.ok(
      selected.untagged.some((l) => /^\* \d+ EXISTS$/.test(l)),
      JSON.stringify(selected.untagged),
    );
    await imap.ok('FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
    await imap.ok('STORE 1 +FLAGS.SILENT (\\Deleted)');
    assert.ok((await imap.ok('EXPUNGE')).untagged.includes('* 1 EXPUNGE'));
    await imap.ok('LOGOUT');
    imap.close();
    const smtp = await LineClient.connect(ports.smtp);
    assert.match(await smtp.reply(), /^220 /);
    assert.match(await smtp.cmd('EHLO client.test'), /^250/);
    assert.match(await smtp.cmd('MAIL FROM:<bob@remote.test>'), /^452 4\.3\.1 /);
    smtp.close();
    alive();
    // Stopped on the full disk with the reserve spent (a clean stop removes SQLite's -wal and -shm
    // files), and the freed room filled too: nothing left to open the store with. The server says so
    // and what to do, instead of "disk I/O error".
    child.kill('SIGTERM');
    await new Promise((resolve) => (exited ? resolve(null) : child.once('exit', resolve)));
    assert.ok(!fs.existsSync(path.join(dataDir, 'reserve')));
    fill(`${filler}2`);
    const refused = await start();
    assert.ok('exit' in refused, 'the server cannot start without any room');
    assert.equal(refused.exit.code, 1);
    assert.match(
      refused.stderr,
      /the disk holding .* is full, so the mail store cannot even be opened .*free some space on it/,
    );
    fs.rmSync(filler);
    fs.rmSync(`${filler}2`);
    const back = await start();
    assert.ok('started' in back, `the server did not start after space was freed: ${stderr}`);
    alive();
  });
});

/** Writes the file until the filesystem refuses another byte. */
function fill(file: string): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (const size of [1024 * 1024, 4096, 1]) {
      const chunk = Buffer.alloc(size, 0x5a);
      for (;;) {
        try {
          if (fs.writeSync(fd, chunk) < size) break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** The greeting of a listener (TLS for the implicit-TLS ones), within 5 s (a TLS handshake included). */
async function greet(name: string, port: number): Promise<string> {
  const tls = name === 'submissions' || name === 'pop3s' || name === 'imaps';
  let timer: NodeJS.Timeout | undefined;
  let client: LineClient | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} did not greet within 5 s`)), 5000);
  });
  try {
    return await Promise.race([
      LineClient.connect(port, { tls }).then((c) => {
        client = c;
        return c.line(5000);
      }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
    client?.close();
  }
}

/** One message of about `size` bytes to alice over port 25; the final reply. */
async function smtpDeliver(port: number, subject: string, size: number): Promise<string> {
  const c = await LineClient.connect(port);
  try {
    assert.match(await c.reply(), /^220 /);
    assert.match(await c.cmd('EHLO client.test'), /^250/);
    const mail = await c.cmd('MAIL FROM:<bob@remote.test>');
    if (!mail.startsWith('250 ')) return mail; // a full disk is refused at MAIL already
    assert.match(await c.cmd(`RCPT TO:<${USER}>`), /^250 /);
    assert.match(await c.cmd('DATA'), /^354 /);
    const line = `${'x'.repeat(76)}\r\n`;
    c.write(`Subject: ${subject}\r\n\r\n${line.repeat(Math.ceil(size / line.length))}.\r\n`);
    const reply = await c.reply(15_000);
    c.send('QUIT');
    return reply;
  } finally {
    c.close();
  }
}

/** Alice's used bytes from `postbode user list` (`[used / limit bytes]`). */
function usedBytes(list: string): number {
  const m = new RegExp(`^${USER.replace('.', '\\.')}\\s.*\\[(\\d+)`, 'm').exec(list);
  assert.ok(m, list);
  return Number(m[1]);
}
