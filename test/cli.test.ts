/** The `postbode` command: admin commands on a live server, status, trace, and start-up errors. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LineClient } from './harness/line-client.js';
import { BIN, type PostbodeProcess, removeDir, runCli, startPostbode } from './harness/server.js';

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
    assert.equal(pb.cli(['alias', 'del', 'info@example.test']).code, 0);
    assert.doesNotMatch(pb.cli(['alias', 'list']).stdout, /info@/);
  });

  it('deletes users and domains', () => {
    pb.cli(['user', 'add', 'gone@example.test', '--password', 'x']);
    assert.equal(pb.cli(['user', 'del', 'gone@example.test']).code, 0);
    assert.doesNotMatch(pb.cli(['user', 'list']).stdout, /gone@/);
    assert.equal(pb.cli(['user', 'del', 'gone@example.test']).code, 1);
    assert.equal(pb.cli(['domain', 'add', 'temp.example']).code, 0);
    assert.equal(pb.cli(['domain', 'del', 'temp.example']).code, 0);
    // A domain with accounts left is kept unless --force says so.
    assert.equal(pb.cli(['user', 'add', 'kid@class.example', '--password', 'x']).code, 0);
    const refused = pb.cli(['domain', 'del', 'class.example']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /class\.example still has 1 account; delete it first .* --force/);
    assert.match(pb.cli(['domain', 'list']).stdout, /class\.example/);
    assert.equal(pb.cli(['domain', 'del', 'class.example', '--force']).code, 0);
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

  it('names the supported store backends when store.url has another scheme, and exits non-zero', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'postbode-url-'));
    try {
      const config = path.join(dataDir, 'postbode.toml');
      writeFileSync(config, '[store]\nurl = "postgres://db.example/mail"\n');
      for (const cmd of [['serve'], ['user', 'list']]) {
        const r = runCli([...cmd, '--config', config, '--data-dir', dataDir]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(
          r.stderr,
          /^postbode: store\.url "postgres:\.\.\." needs the PostgreSQL backend.*supported: sqlite:PATH/m,
        );
      }
    } finally {
      removeDir(dataDir);
    }
  });
});
