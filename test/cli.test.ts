/** The `postbode` command: admin commands on a live server, status, trace, and start-up errors. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LineClient } from './harness/line-client.js';
import { BIN, type PostbodeProcess, removeDir, runCli, startPostbode } from './harness/server.js';
import { onPostgres, sqliteOnly } from './harness/store.js';

const reEscape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('postbode CLI', () => {
  let pb: PostbodeProcess;
  before(async () => {
    pb = await startPostbode({ listeners: ['smtp', 'pop3'] });
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  it('adds a user in a new domain and says so; the running server accepts mail for it at once', async () => {
    const r = pb.cli(['user', 'add', 'Student1@Lab.Example', '--password', 'pw1']);
    assert.equal(r.code, 0, r.stderr);
    // It names the data dir (on PostgreSQL the database first); a server runs there, so no warning.
    assert.match(
      r.stderr,
      onPostgres
        ? new RegExp(`database postgresql://\\S+ \\(data dir ${reEscape(pb.dataDir)}\\)`)
        : new RegExp(`data dir ${reEscape(pb.dataDir)} \\(database `),
    );
    assert.doesNotMatch(r.stderr, /no server is running|no postbode node is running|created a new database/);
    assert.match(r.stdout, /added local domain lab\.example/);
    assert.match(r.stdout, /added user student1@lab\.example/);
    assert.match(pb.cli(['user', 'list']).stdout, /student1@lab\.example/);
    assert.match(pb.cli(['domain', 'list']).stdout, /lab\.example/);
    const c = await LineClient.connect(pb.ports.smtp);
    await c.reply();
    await c.cmd('HELO x');
    await c.cmd('MAIL FROM:<a@b.example>');
    assert.match(await c.cmd('RCPT TO:<student1@lab.example>'), /^250 /);
    c.close();
  });

  it('refuses a duplicate user and a bad address with a clear message', () => {
    pb.cli(['user', 'add', 'dup@example.test', '--password', 'x']);
    const dup = pb.cli(['user', 'add', 'dup@example.test', '--password', 'x']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already exists/);
    const bad = pb.cli(['user', 'add', 'not-an-address', '--password', 'x']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not a valid address/);
  });

  it('reads the password from stdin when not given', async () => {
    assert.equal(pb.cli(['user', 'add', 'stdin@example.test'], 'from-stdin\n').code, 0);
    const p = await LineClient.connect(pb.ports.pop3);
    await p.line();
    await p.cmd('USER stdin@example.test');
    assert.match(await p.cmd('PASS from-stdin'), /^\+OK/);
    p.close();
  });

  it('changes passwords with effect on the next login', async () => {
    pb.cli(['user', 'add', 'pw@example.test', '--password', 'old']);
    assert.equal(pb.cli(['user', 'passwd', 'pw@example.test', '--password', 'new']).code, 0);
    const p = await LineClient.connect(pb.ports.pop3);
    await p.line();
    await p.cmd('USER pw@example.test');
    assert.match(await p.cmd('PASS old'), /^-ERR/);
    await p.cmd('USER pw@example.test');
    assert.match(await p.cmd('PASS new'), /^\+OK/);
    p.close();
  });

  it('manages aliases, including a catch-all', async () => {
    pb.cli(['user', 'add', 'boss@example.test', '--password', 'x']);
    assert.equal(pb.cli(['alias', 'add', 'info@example.test', 'boss@example.test', 'dup@example.test']).code, 0);
    assert.equal(pb.cli(['domain', 'add', 'catch.example']).code, 0);
    assert.equal(pb.cli(['alias', 'add', '@catch.example', 'boss@example.test']).code, 0);
    const list = pb.cli(['alias', 'list']).stdout;
    assert.match(list, /info@example\.test -> boss@example\.test, dup@example\.test/);
    assert.match(list, /@catch\.example -> boss@example\.test/);
    const c = await LineClient.connect(pb.ports.smtp);
    await c.reply();
    await c.cmd('HELO x');
    await c.cmd('MAIL FROM:<a@b.example>');
    assert.match(await c.cmd('RCPT TO:<anything@catch.example>'), /^250 /);
    assert.match(await c.cmd('RCPT TO:<info@example.test>'), /^250 /);
    c.close();
    assert.equal(pb.cli(['alias', 'del', 'info@example.test', '--yes']).code, 0);
    assert.doesNotMatch(pb.cli(['alias', 'list']).stdout, /info@/);
  });

  it('deletes users and domains', () => {
    pb.cli(['user', 'add', 'gone@example.test', '--password', 'x']);
    assert.equal(pb.cli(['user', 'del', 'gone@example.test', '--yes']).code, 0);
    assert.doesNotMatch(pb.cli(['user', 'list']).stdout, /gone@/);
    assert.equal(pb.cli(['user', 'del', 'gone@example.test', '--yes']).code, 1);
    assert.equal(pb.cli(['domain', 'add', 'temp.example']).code, 0);
    assert.equal(pb.cli(['domain', 'del', 'temp.example', '--yes']).code, 0);
    // A domain with accounts left is kept unless --force says so.
    assert.equal(pb.cli(['user', 'add', 'kid@class.example', '--password', 'x']).code, 0);
    const refused = pb.cli(['domain', 'del', 'class.example', '--yes']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /class\.example still has 1 account; delete it first .* --force/);
    assert.match(pb.cli(['domain', 'list']).stdout, /class\.example/);
    assert.equal(pb.cli(['domain', 'del', 'class.example', '--force', '--yes']).code, 0);
    assert.doesNotMatch(pb.cli(['domain', 'list']).stdout, /class\.example/);
  });

  it('status shows listeners and counts of the running server', () => {
    const r = pb.cli(['status']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /postbode is running/);
    assert.match(r.stdout, new RegExp(`smtp\\s+127\\.0\\.0\\.1:${pb.ports.smtp}`));
    assert.match(r.stdout, /accounts \d+/);
  });

  it('trace prints live sessions with client and server lines, secrets redacted', async () => {
    const child = spawn(process.execPath, [BIN, 'trace', '--data-dir', pb.dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    /** Resolves once the trace output from `from` on matches `re`; fails after 10 s. */
    const traced = (re: RegExp, from: number) =>
      new Promise<void>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          child.stdout.off('data', check);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`trace printed no ${re} in 10 s: ${out}`));
        }, 10_000);
        function check(): void {
          if (!re.test(out.slice(from))) return;
          done();
          resolve();
        }
        child.stdout.on('data', check);
        check();
      });
    let real = '';
    try {
      // Lines from before the CLI subscribed are not replayed, and nothing says when it has: a probe
      // session sends CAPA until the trace shows one, then quits.
      const probe = await LineClient.connect(pb.ports.pop3);
      await probe.line();
      const deadline = Date.now() + 10_000;
      for (;;) {
        probe.send('CAPA');
        assert.match(await probe.line(), /^\+OK/);
        await probe.multiline();
        if (out.includes('C: CAPA')) break;
        assert.ok(Date.now() < deadline, `trace showed no session in 10 s: ${out}`);
        await new Promise((r) => setTimeout(r, 50)); // poll interval of a bounded wait for the subscription
      }
      let from = out.length;
      await probe.cmd('QUIT');
      await traced(/C: QUIT/, from);
      probe.close();

      from = out.length;
      const p = await LineClient.connect(pb.ports.pop3);
      await p.line();
      await p.cmd('USER boss@example.test');
      await p.cmd('PASS supersecret');
      await p.cmd('QUIT');
      p.close();
      await traced(/C: PASS <redacted>[\s\S]*C: QUIT/, from);
      real = out.slice(from);
    } finally {
      child.kill();
    }
    assert.match(real, /POP3 session on pop3/);
    assert.match(real, /C: USER boss@example\.test/);
    assert.match(real, /S: \+OK/);
    assert.match(real, /C: PASS <redacted>/);
    assert.doesNotMatch(out, /supersecret/);
  });

  it('trace --json prints only JSON lines on stdout (the banner goes to stderr)', async () => {
    const child = spawn(process.execPath, [BIN, 'trace', '--json', '--data-dir', pb.dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    try {
      // Sessions until one shows in the trace (the subscription starts when the CLI has connected).
      const deadline = Date.now() + 10_000;
      while (!out.includes('"type":"close"')) {
        const p = await LineClient.connect(pb.ports.pop3);
        await p.line();
        await p.cmd('QUIT');
        await p.closedByServer();
        assert.ok(Date.now() < deadline, `trace --json showed no session in 10 s: ${out}`);
      }
    } finally {
      child.kill();
    }
    const lines = out.split('\n').filter((l) => l !== '');
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `not JSON: ${line}`);
    assert.match(err, /tracing sessions of the server/);
  });
});

describe('postbode serve start-up errors', () => {
  it('names the listener, port and setting when a port is taken, and exits non-zero', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    const dataDir = mkdtempSync(path.join(tmpdir(), 'postbode-cli-'));
    try {
      const r = runCli([
        'serve',
        '--data-dir',
        dataDir,
        '--listen',
        `smtp=127.0.0.1:${port}`,
        '--listen',
        'submission=off',
        '--listen',
        'submissions=off',
        '--listen',
        'pop3=off',
        '--listen',
        'pop3s=off',
        '--listen',
        'imap=off',
        '--listen',
        'imaps=off',
        '--listen',
        'managesieve=off',
      ]);
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        new RegExp(
          `cannot listen for smtp on 127\\.0\\.0\\.1:${port}: the port is already in use.*listen\\.smtp.*--listen smtp=`,
        ),
      );
      assert.equal(r.stderr.trim().split('\n').length, 1);
    } finally {
      blocker.close();
      removeDir(dataDir);
    }
  });

  it('explains a bad config value', () => {
    const r = runCli(['serve', '--set', 'strictness=sloppy', '--data-dir', '/tmp/none']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /strictness/);
  });

  it('names the supported store backends when store.url has another scheme, and an unreachable database, and exits non-zero', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'postbode-url-'));
    try {
      const config = path.join(dataDir, 'postbode.toml');
      writeFileSync(config, '[store]\nurl = "mysql://db.example/mail"\n');
      for (const cmd of [['serve'], ['user', 'list']]) {
        const r = runCli([...cmd, '--config', config, '--data-dir', dataDir]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(
          r.stderr,
          /^postbode: store\.url scheme "mysql:" is not supported; supported: sqlite:PATH.*postgresql:\/\//m,
        );
      }
      // --store wins over the config; a database server that does not answer is named, without its password.
      const r = runCli(['user', 'list', '--config', config, '--store', 'postgresql://pb:secret@127.0.0.1:1/mail']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /^postbode: cannot open the PostgreSQL store postgresql:\/\/pb:\*\*\*@127\.0\.0\.1:1\/mail: /m,
      );
      assert.doesNotMatch(r.stderr, /secret/);
    } finally {
      removeDir(dataDir);
    }
  });
});

/** The CLI alone, with the default settings (no harness config), in `cwd`, with extra environment. */
function cli(args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string } = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  if (!opts.env?.POSTBODE_CONFIG) delete env.POSTBODE_CONFIG;
  if (!opts.env?.POSTBODE_DATA_DIR) delete env.POSTBODE_DATA_DIR;
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    env,
    input: opts.input ?? '',
    encoding: 'utf8',
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('a CLI that cannot hurt (issue 11)', {
  skip: sqliteOnly('the CLI alone on data dirs and their embedded database (created, refused, named)'),
}, () => {
  let root: string;
  before(() => {
    root = mkdtempSync(path.join(tmpdir(), 'postbode-safe-'));
  });
  after(() => removeDir(root));

  it('read-only commands never create a data dir or a database, and name --data-dir, POSTBODE_DATA_DIR and --config', () => {
    const missing = path.join(root, 'nonexistent', 'dir');
    const empty = path.join(root, 'empty');
    mkdirSync(empty);
    const reads = [
      ['user', 'list'],
      ['domain', 'list'],
      ['alias', 'list'],
      ['admin', 'list'],
      ['queue', 'list'],
      ['queue', 'show', '1'],
      ['dkim', 'list'],
    ];
    for (const dir of [missing, empty]) {
      for (const args of reads) {
        const r = cli([...args, '--data-dir', dir]);
        assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`no database in ${reEscape(dir)}`));
        assert.match(r.stderr, /--data-dir DIR or POSTBODE_DATA_DIR=DIR, or its config file with --config FILE/);
      }
      const status = cli(['status', '--data-dir', dir]);
      assert.equal(status.code, 3, status.stderr);
      assert.match(status.stderr, /no database in/);
    }
    assert.equal(existsSync(path.join(root, 'nonexistent')), false);
    assert.deepEqual(readdirSync(empty), []);
  });

  it('changes other than user/domain/admin add need an existing database', () => {
    const dir = path.join(root, 'nowrite');
    for (const args of [
      ['user', 'del', 'a@example.test', '--yes'],
      ['user', 'passwd', 'a@example.test', '--password', 'long-enough-1'],
      ['user', 'quota', 'a@example.test', '1G'],
      ['alias', 'add', 'info@example.test', 'a@example.test'],
      ['domain', 'del', 'example.test', '--yes'],
      ['queue', 'flush'],
      ['dkim', 'keygen', 'example.test'],
    ]) {
      const r = cli([...args, '--data-dir', dir]);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /no database in .*--data-dir DIR/);
    }
    assert.equal(existsSync(dir), false);
  });

  it('user add creates a private database and says so, warning that no server runs there', () => {
    const dir = path.join(root, 'fresh', 'data');
    const r = cli(['user', 'add', 'ludo@linux800.be', '--password', 'sdf12345', '--data-dir', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /added user ludo@linux800\.be/);
    assert.match(r.stderr, new RegExp(`created a new database in ${reEscape(dir)}`));
    assert.match(
      r.stderr,
      new RegExp(
        `no server is running on ${reEscape(dir)}: the change is saved and the server will see it when started there`,
      ),
    );
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(path.join(dir, 'postbode.db')).mode & 0o777, 0o600);
    // A read names the data dir and notes that no server runs; nothing more is created.
    const list = cli(['user', 'list', '--data-dir', dir]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /ludo@linux800\.be/);
    assert.match(
      list.stderr,
      new RegExp(`data dir ${reEscape(dir)} .*\\n.*no server is running on ${reEscape(dir)}`, 's'),
    );
    assert.doesNotMatch(list.stderr, /created/);
    // domain add and admin add may create a database too.
    for (const [name, args] of [
      ['d1', ['domain', 'add', 'example.test']],
      ['d2', ['admin', 'add', 'teacher', '--password', 'teacher-pw']],
    ] as const) {
      const other = path.join(root, name);
      const made = cli([...args, '--data-dir', other]);
      assert.equal(made.code, 0, made.stderr);
      assert.match(made.stderr, /created a new database/);
    }
  });

  it('takes the data dir from POSTBODE_DATA_DIR and from data_dir of the config file (from another directory)', () => {
    const dir = path.join(root, 'env-data');
    const elsewhere = mkdtempSync(path.join(root, 'cwd-'));
    assert.equal(cli(['domain', 'add', 'env.example'], { cwd: elsewhere, env: { POSTBODE_DATA_DIR: dir } }).code, 0);
    assert.match(cli(['domain', 'list', '--data-dir', dir]).stdout, /env\.example/);
    const config = path.join(root, 'conf', 'postbode.toml');
    mkdirSync(path.dirname(config));
    writeFileSync(config, 'data_dir = "../conf-data"\n');
    assert.equal(cli(['domain', 'add', 'conf.example', '--config', config], { cwd: elsewhere }).code, 0);
    const list = cli(['domain', 'list'], { cwd: elsewhere, env: { POSTBODE_CONFIG: config } });
    assert.match(list.stdout, /conf\.example/);
    assert.match(list.stderr, new RegExp(`data dir ${reEscape(path.join(root, 'conf-data'))}`));
    assert.deepEqual(readdirSync(elsewhere), []);
  });

  it('refuses bad domain names (syntax, IDNA) and accepts internationalized ones', () => {
    const dir = path.join(root, 'domains');
    for (const bad of ['bad_domain!', 'a..b', 'x-.example', 'x'.repeat(64) + '.example', '@example.org']) {
      const r = cli(['domain', 'add', bad, '--data-dir', dir]);
      assert.equal(r.code, 1, bad);
      assert.match(r.stderr, /domain/, bad);
    }
    assert.equal(existsSync(dir), false);
    assert.equal(cli(['domain', 'add', 'bücher.example', '--data-dir', dir]).code, 0);
    const user = cli(['user', 'add', 'a@bad_domain.example', '--password', 'sdf12345', '--data-dir', dir]);
    assert.equal(user.code, 1);
    assert.match(user.stderr, /not a valid address/);
  });

  it('checks passwords against auth.min_password_length (default 8)', () => {
    const dir = path.join(root, 'passwords');
    const short = cli(['user', 'add', 'a@example.test', '--password', 'x', '--data-dir', dir]);
    assert.equal(short.code, 1);
    assert.match(short.stderr, /too short: at least 8 characters \(auth\.min_password_length\)/);
    assert.equal(existsSync(dir), false);
    assert.equal(cli(['user', 'add', 'a@example.test', '--password', 'sdf12345', '--data-dir', dir]).code, 0);
    const passwd = cli(['user', 'passwd', 'a@example.test', '--data-dir', dir], { input: 'short\n' });
    assert.equal(passwd.code, 1);
    assert.match(passwd.stderr, /too short/);
    assert.match(cli(['admin', 'add', 'teacher', '--password', 'abc', '--data-dir', dir]).stderr, /too short/);
    assert.equal(cli(['admin', 'add', 'teacher', '--generate', '--data-dir', dir]).code, 0);
    const config = path.join(root, 'strict.toml');
    writeFileSync(config, '[auth]\nmin_password_length = 12\n');
    const strict = cli(['user', 'passwd', 'a@example.test', '--password', 'sdf123456', '-c', config, '-d', dir]);
    assert.match(strict.stderr, /at least 12 characters/);
  });

  it('alias rules: only local aliases, existing or remote targets, no loops, append or --replace', () => {
    const dir = path.join(root, 'aliases');
    const run = (...args: string[]) => cli([...args, '--data-dir', dir]);
    assert.equal(run('user', 'add', 'ludo@linux800.be', '--password', 'sdf12345').code, 0);
    assert.equal(run('user', 'add', 'ann@linux800.be', '--password', 'sdf12345').code, 0);
    // An alias for a non-local address does not make its domain local.
    const gmail = run('alias', 'add', 'x@gmail.com', 'ludo@linux800.be');
    assert.equal(gmail.code, 1);
    assert.match(gmail.stderr, /gmail\.com is not a local domain.*postbode domain add gmail\.com/);
    assert.doesNotMatch(run('domain', 'list').stdout, /gmail/);
    assert.equal(run('alias', 'add', '@gmail.com', 'ludo@linux800.be').code, 1);
    // Targets: a local one must exist; a remote one is fine.
    const ghost = run('alias', 'add', 'info@linux800.be', 'ghost@linux800.be');
    assert.equal(ghost.code, 1);
    assert.match(ghost.stderr, /ghost@linux800\.be is neither an account nor an alias/);
    const self = run('alias', 'add', 'info@linux800.be', 'info@linux800.be');
    assert.match(self.stderr, /cannot be an alias of itself/);
    assert.equal(run('alias', 'add', 'info@linux800.be', 'ludo@linux800.be').code, 0);
    const remote = run('alias', 'add', 'info@linux800.be', 'friend@gmail.com');
    assert.equal(remote.code, 0, remote.stderr);
    assert.match(remote.stdout, /alias info@linux800\.be -> ludo@linux800\.be, friend@gmail\.com/);
    assert.match(remote.stdout, /friend@gmail\.com is not in a local domain/);
    const replaced = run('alias', 'add', 'info@linux800.be', 'ann@linux800.be', '--replace');
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.match(replaced.stdout, /alias info@linux800\.be -> ann@linux800\.be$/m);
    // Loops, direct and through a catch-all.
    assert.equal(run('alias', 'add', 'sales@linux800.be', 'info@linux800.be').code, 0);
    const loop = run('alias', 'add', 'info@linux800.be', 'sales@linux800.be');
    assert.equal(loop.code, 1);
    assert.match(loop.stderr, /would make a loop: info@linux800\.be -> sales@linux800\.be -> info@linux800\.be/);
    const viaCatchAll = run('alias', 'add', '@linux800.be', 'nobody@linux800.be');
    assert.equal(viaCatchAll.code, 1);
    assert.match(run('alias', 'list').stdout, /^info@linux800\.be -> ann@linux800\.be$/m);
  });

  it('deletions ask; without a terminal they need --yes', () => {
    const dir = path.join(root, 'deletions');
    const run = (...args: string[]) => cli([...args, '--data-dir', dir]);
    assert.equal(run('user', 'add', 'kid@class.example', '--password', 'sdf12345').code, 0);
    assert.equal(run('alias', 'add', 'info@class.example', 'kid@class.example').code, 0);
    assert.equal(run('admin', 'add', 'teacher', '--generate').code, 0);
    for (const [args, what] of [
      [['user', 'del', 'kid@class.example'], /user kid@class\.example \(0 messages\)/],
      [['alias', 'del', 'info@class.example'], /alias info@class\.example/],
      [['domain', 'del', 'class.example', '--force'], /domain class\.example/],
      [['admin', 'del', 'teacher'], /admin teacher/],
    ] as const) {
      const r = run(...args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, /not deleting .*without confirmation: standard input is not a terminal; add --yes/);
      assert.match(r.stderr, what);
    }
    assert.match(run('user', 'list').stdout, /kid@class\.example/);
    assert.match(run('alias', 'list').stdout, /info@class\.example/);
    assert.match(run('admin', 'list').stdout, /teacher/);
    assert.equal(run('user', 'del', 'kid@class.example', '--yes').code, 0);
    assert.equal(run('admin', 'del', 'teacher', '-y').code, 0);
    assert.doesNotMatch(run('user', 'list').stdout, /kid@/);
  });

  // util-linux `script` gives the command a terminal (a pty) whose input is what we pipe into it.
  const hasScript = spawnSync('script', ['--version']).status === 0;
  it('on a terminal, a deletion asks with the number of messages and deletes only on "y"', { skip: !hasScript }, () => {
    const dir = path.join(root, 'tty');
    assert.equal(cli(['user', 'add', 'kid@class.example', '--password', 'sdf12345', '--data-dir', dir]).code, 0);
    const onTty = (answer: string) => {
      const command = [process.execPath, BIN, 'user', 'del', 'kid@class.example', '--data-dir', dir]
        .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
        .join(' ');
      const r = spawnSync('script', ['-qec', command, '/dev/null'], { input: answer, encoding: 'utf8' });
      return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
    };
    const no = onTty('n\n');
    assert.match(no.out, /Delete user kid@class\.example and all its mail \(0 messages\)\? \[y\/N\]/);
    assert.equal(no.code, 1, no.out);
    assert.match(no.out, /nothing deleted/);
    assert.match(cli(['user', 'list', '--data-dir', dir]).stdout, /kid@class\.example/);
    const yes = onTty('y\n');
    assert.equal(yes.code, 0, yes.out);
    assert.match(yes.out, /deleted user kid@class\.example/);
    assert.doesNotMatch(cli(['user', 'list', '--data-dir', dir]).stdout, /kid@/);
  });

  it('gives the line of a TOML syntax error and the configured web address after admin add', () => {
    const bad = path.join(root, 'bad.toml');
    writeFileSync(bad, '[smtp]\nmax_recipients = = 5\n');
    const r = cli(['user', 'list', '--config', bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is not valid TOML at line 2, column \d+/);
    const config = path.join(root, 'web.toml');
    writeFileSync(config, '[listen]\nhttp = "0.0.0.0:8181"\n');
    const added = cli(['admin', 'add', 'teacher', '--generate', '-c', config, '-d', path.join(root, 'web')]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /log in at http:\/\/localhost:8181\//);
  });
});
