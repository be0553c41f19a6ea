/**
 * ManageSieve in a real server process (the `managesieve` listener of `postbode serve`): Debian's
 * `sieve-connect` (STARTTLS, AUTHENTICATE PLAIN with a literal, PUTSCRIPT, SETACTIVE, LISTSCRIPTS,
 * GETSCRIPT) against it, skipped with a reason when it is not installed; and `postbode sieve` on the
 * same store, each seeing what the other did.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManageSieveClient } from './harness/managesieve-client.js';
import { type PostbodeProcess, removeDir, runCli, startPostbode } from './harness/server.js';

const USER = 'alice@example.test';
const PASS = 'alice-sieve-pw';
const hasSieveConnect = spawnSync('sieve-connect', ['--help']).error === undefined;

const SCRIPT = 'require ["fileinto"];\nif header :contains "subject" "[list]" {\n  fileinto "Lists";\n}\n';
const BROKEN = 'require "fileinto";\nif header :contains "subject" "x" {\n  fileinto "A"\n}\n';

describe('managesieve in a server process', () => {
  let pb: PostbodeProcess;
  let work: string;
  before(async () => {
    pb = await startPostbode({ listeners: ['smtp', 'managesieve'] });
    work = mkdtempSync(path.join(tmpdir(), 'postbode-sieve-'));
    const r = pb.cli(['user', 'add', USER, '--password', PASS]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await pb?.stop();
    if (pb) removeDir(pb.dataDir);
    if (work) removeDir(work);
  });

  /** sieve-connect with the password on fd 0, over STARTTLS (the server's certificate is self-signed). */
  const sieveConnect = (...args: string[]) =>
    spawnSync(
      'sieve-connect',
      [
        ...['--server', '127.0.0.1', '--port', String(pb.ports.managesieve), '--user', USER],
        ...['--passwordfd', '0', '--notlsverify', '--nosrv', '--authmech', 'PLAIN'],
        ...args,
      ],
      { input: `${PASS}\n`, encoding: 'utf8', timeout: 30_000 },
    );

  it('sieve-connect uploads, activates, lists and downloads a script over STARTTLS', {
    skip: !hasSieveConnect && 'sieve-connect is not installed (apt-get install sieve-connect)',
  }, () => {
    const file = path.join(work, 'rules.sieve');
    writeFileSync(file, SCRIPT);
    let r = sieveConnect('--upload', '--localsieve', file, '--remotesieve', 'rules');
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    r = sieveConnect('--activate', '--remotesieve', 'rules');
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    r = sieveConnect('--list');
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    // sieve-connect prints LISTSCRIPTS' lines as they come.
    assert.match(r.stdout, /^"rules" ACTIVE$/m);
    const back = path.join(work, 'back.sieve');
    r = sieveConnect('--download', '--remotesieve', 'rules', '--localsieve', back);
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    // The CLI sees what sieve-connect stored.
    const cli = pb.cli(['sieve', 'list', USER]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^\* rules {2}\(\d+ bytes\) {2}active$/m);
    // A broken script is refused, with its position.
    const broken = path.join(work, 'broken.sieve');
    writeFileSync(broken, BROKEN);
    r = sieveConnect('--upload', '--localsieve', broken, '--remotesieve', 'broken');
    assert.match(`${r.stdout}${r.stderr}`, /PUTSCRIPT\(broken\) failed: NO "line [34], column \d+: /);
  });

  it('postbode sieve: put (errors as FILE:LINE:COLUMN), list, get, activate, rename, delete, check', async () => {
    const file = path.join(work, 'cli.sieve');
    writeFileSync(file, SCRIPT);
    const broken = path.join(work, 'cli-broken.sieve');
    writeFileSync(broken, BROKEN);

    let r = pb.cli(['sieve', 'put', USER, 'bad', broken]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:[34]:\\d+: `, 'm'));
    assert.match(r.stderr, /has 1 error; nothing was stored/);

    r = pb.cli(['sieve', 'put', USER, 'cli', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /stored script "cli" for alice@example\.test/);
    r = pb.cli(['sieve', 'get', USER, 'cli']);
    assert.equal(r.stdout, SCRIPT);
    r = pb.cli(['sieve', 'activate', USER, 'cli']);
    assert.equal(r.code, 0, r.stderr);
    r = pb.cli(['sieve', 'list', USER]);
    assert.match(r.stdout, /^\* cli {2}\(\d+ bytes\) {2}active$/m);
    r = pb.cli(['sieve', 'delete', USER, 'cli', '--yes']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is active; deactivate it first/);
    r = pb.cli(['sieve', 'rename', USER, 'cli', 'filters']);
    assert.equal(r.code, 0, r.stderr);

    // A ManageSieve session sees the CLI's script, active under its new name.
    const c = await ManageSieveClient.connect(pb.ports.managesieve);
    try {
      await c.response();
      assert.equal((await c.login(USER, PASS)).status, 'OK');
      assert.ok((await c.cmd('LISTSCRIPTS')).data.includes('"filters" ACTIVE'));
      assert.equal((await c.cmd('LOGOUT')).status, 'OK');
    } finally {
      c.close();
    }

    r = pb.cli(['sieve', 'deactivate', USER]);
    assert.equal(r.code, 0, r.stderr);
    r = pb.cli(['sieve', 'delete', USER, 'filters']);
    assert.equal(r.code, 1, 'no terminal and no --yes: refused');
    assert.match(r.stderr, /add --yes/);
    r = pb.cli(['sieve', 'delete', USER, 'filters', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    r = pb.cli(['sieve', 'get', USER, 'filters']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /has no script "filters"/);

    // check needs no store: it runs on a file alone, from stdin too.
    r = runCli(['sieve', 'check', file]);
    assert.equal(r.code, 0, r.stderr);
    r = runCli(['sieve', 'check', '-'], BROKEN);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^<stdin>:[34]:\d+: /m);
  });
});
