/**
 * A data dir whose files another user made (the admin CLI run as root, before the service that runs as
 * its own user starts): `postbode serve` names the files, their owner and both ways out, instead of
 * failing with SQLite's "unable to open database file"; after the `chown` it names, it starts. A backup
 * into a directory the user may not write (/var/backups as the service's user) says that.
 *
 * Runs as root only (it switches to the user `nobody` with setpriv), as CI does.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { BIN, removeDir, runCli } from './harness/server.js';

const NOBODY = 65534;
const root = process.getuid?.() === 0;
const haveSetpriv = spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).error === undefined;
const skip = !root ? 'needs root (switches to the user nobody)' : !haveSetpriv ? 'needs setpriv (util-linux)' : false;

/** `postbode serve` as nobody on `dataDir`: resolves with its exit code and stderr, or 'started'. */
function serveAsNobody(dataDir: string): Promise<{ started: boolean; code: number | null; stderr: string }> {
  const listen = ['smtp', 'submission', 'submissions', 'pop3', 'pop3s', 'imap', 'imaps', 'managesieve', 'http'].flatMap(
    (name) => ['--listen', name === 'smtp' ? 'smtp=127.0.0.1:0' : `${name}=off`],
  );
  const child = spawn(
    'setpriv',
    [
      ...['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups'],
      process.execPath,
      ...[BIN, 'serve', '--data-dir', dataDir, '--hostname', 'mx.example.test', ...listen],
      ...['--set', 'delivery.enabled=false'],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: dataDir } },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  let started = false;
  return new Promise((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (started || !line.includes('"msg":"postbode started"')) return;
      started = true;
      child.kill('SIGTERM');
    });
    child.once('exit', (code) => resolve({ started, code, stderr }));
  });
}

describe('a data dir with files of another user', { skip }, () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'postbode-owner-'));
  after(() => removeDir(dataDir));

  it('is refused with the files, their owner and the chown; after it the server starts', async () => {
    // As the step-by-step's first commands would, run as root: the database and secret.key are root's.
    const added = runCli(['user', 'add', 'you@example.test', '--password', 'long-enough-password', '-d', dataDir]);
    assert.equal(added.code, 0, added.stderr);
    chownSync(dataDir, NOBODY, NOBODY); // the data dir itself is the service's (install -d -o …)
    const refused = await serveAsNobody(dataDir);
    assert.equal(refused.started, false);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^postbode: the user nobody may not read and write these files of the data dir \S+: postbode\.db, secret\.key \(owned by root\)\. Run postbode's commands as the user the server runs as \(e\.g\. sudo -u nobody postbode …\), and give it the files: chown -R nobody: \S+\n$/,
    );
    const chown = spawnSync('chown', ['-R', `${NOBODY}:${NOBODY}`, dataDir]);
    assert.equal(chown.status, 0);
    const started = await serveAsNobody(dataDir);
    assert.ok(started.started, started.stderr);
    assert.equal(started.code, 0);
  });

  it('a backup into a directory the user may not write says so (not "unable to open database file")', () => {
    const backups = mkdtempSync(path.join(tmpdir(), 'postbode-backups-'));
    try {
      chmodSync(backups, 0o755); // root's, as /var/backups
      const r = spawnSync(
        'setpriv',
        [
          ...['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups'],
          ...[process.execPath, BIN, 'backup', path.join(backups, 'b.tar'), '-d', dataDir],
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 1, r.stderr);
      assert.match(
        r.stderr,
        /^postbode: nobody may not write in \S+postbode-backups-\S+: choose a directory this user may write/,
      );
      assert.deepEqual(readdirSync(backups), []);
    } finally {
      removeDir(backups);
    }
  });
});
