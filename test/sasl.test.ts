/**
 * The shared SASL exchange over real sockets, the same checks for SMTP AUTH, POP3 AUTH and IMAP
 * AUTHENTICATE: SCRAM-SHA-256 and -PLUS (tls-exporter) logins, wrong passwords, an authorization
 * identity other than the user, `*`, the one response length limit; and accounts from before SCRAM.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type tls from 'node:tls';
import { LineClient } from './harness/line-client.js';
import { b64, ScramClient, unb64 } from './harness/scram-client.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';
import { storeSql } from './harness/store.js';

const LIMIT = 12_288;
// Failed logins are part of these tests: no waits and no penalties, so each test stands alone.
const LENIENT = ['--set', 'auth.failure_delay_ms=0', '--set', 'auth.penalty_free_failures=1000'];

interface Protocol {
  listener: string;
  /** Connects over TLS and reads the greeting; returns the advertised SASL mechanisms. */
  open(c: LineClient): Promise<string[]>;
  auth(c: LineClient, mechanism: string, initial?: string): void;
  /** The next line: a challenge (its base64 data) or the final status line. */
  next(c: LineClient): Promise<{ challenge: string } | { status: string }>;
  ok: RegExp;
  failed: RegExp;
  cancelled: RegExp;
  tooLong: RegExp;
  malformed: RegExp;
}

const PROTOCOLS: Record<string, Protocol> = {
  smtp: {
    listener: 'submissions',
    async open(c) {
      await c.reply();
      const ehlo = await c.cmd('EHLO client.example.test');
      return /^250[- ]AUTH (.*)$/m.exec(ehlo)?.[1].split(' ') ?? [];
    },
    auth: (c, m, initial) => c.send(`AUTH ${m}${initial === undefined ? '' : ` ${initial}`}`),
    async next(c) {
      const r = await c.reply();
      // An empty challenge is a bare `334` (as before the shared exchange).
      return /^334( |$)/.test(r) ? { challenge: r.slice(4) } : { status: r };
    },
    ok: /^235 2\.7\.0 /,
    failed: /^535 5\.7\.8 /,
    cancelled: /^501 5\.0\.0 Authentication cancelled/,
    tooLong: /^500 5\.5\.6 Authentication exchange line is too long/,
    malformed: /^501 5\.5\.2 Cannot decode the response/,
  },
  pop3: {
    listener: 'pop3s',
    async open(c) {
      await c.line();
      c.send('CAPA');
      assert.match(await c.line(), /^\+OK/);
      const sasl = (await c.multiline()).find((l) => l.startsWith('SASL '));
      return sasl?.split(' ').slice(1) ?? [];
    },
    auth: (c, m, initial) => c.send(`AUTH ${m}${initial === undefined ? '' : ` ${initial}`}`),
    async next(c) {
      const l = await c.line();
      return l.startsWith('+ ') || l === '+' ? { challenge: l.slice(2) } : { status: l };
    },
    ok: /^\+OK /,
    failed: /^-ERR \[AUTH\] /,
    cancelled: /^-ERR Authentication cancelled/,
    tooLong: /^-ERR Authentication exchange line is too long/,
    malformed: /^-ERR Cannot decode the response/,
  },
  imap: {
    listener: 'imaps',
    async open(c) {
      await c.line();
      c.send('c1 CAPABILITY');
      const caps = await c.line();
      assert.match(await c.line(), /^c1 OK/);
      return caps
        .split(' ')
        .filter((w) => w.startsWith('AUTH='))
        .map((w) => w.slice(5));
    },
    auth: (c, m, initial) => c.send(`a1 AUTHENTICATE ${m}${initial === undefined ? '' : ` ${initial}`}`),
    async next(c) {
      for (;;) {
        const l = await c.line();
        if (l.startsWith('+ ') || l === '+') return { challenge: l.slice(2) };
        if (l.startsWith('a1 ')) return { status: l };
      }
    },
    ok: /^a1 OK /,
    failed: /^a1 NO \[AUTHENTICATIONFAILED\] /,
    cancelled: /^a1 BAD Authentication cancelled/,
    tooLong: /^a1 BAD Authentication line too long/,
    malformed: /^a1 BAD Cannot decode the response/,
  },
};

/** tls-exporter (RFC 9266) as the client sees it. */
function exporter(c: LineClient): Buffer {
  return (c.socket as tls.TLSSocket).exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0));
}

/** A SCRAM login with the initial response; the final status line, after checking the server's `v=`. */
async function scram(p: Protocol, c: LineClient, mechanism: string, client: ScramClient): Promise<string> {
  p.auth(c, mechanism, b64(client.first));
  const first = await p.next(c);
  if ('status' in first) return first.status;
  c.send(b64(client.final(unb64(first.challenge))));
  const final = await p.next(c);
  if ('status' in final) return final.status;
  assert.ok(client.verifyServer(unb64(final.challenge)), 'the server signature');
  c.send('');
  const done = await p.next(c);
  assert.ok('status' in done);
  return done.status;
}

describe('SASL over real sockets', () => {
  let pb: PostbodeProcess;
  before(async () => {
    pb = await startPostbode({ extraArgs: LENIENT });
    assert.equal(pb.cli(['user', 'add', 'sam@example.test', '--password', 'pencil sharp']).code, 0);
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  for (const [name, p] of Object.entries(PROTOCOLS)) {
    const connect = async () => {
      const c = await LineClient.connect(pb.ports[p.listener], { tls: true });
      const mechanisms = await p.open(c);
      return { c, mechanisms };
    };

    describe(name, () => {
      it('advertises SCRAM after PLAIN and LOGIN, with -PLUS over TLS', async () => {
        const { c, mechanisms } = await connect();
        assert.deepEqual(mechanisms, ['PLAIN', 'LOGIN', 'SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS']);
        c.close();
      });

      it('SCRAM-SHA-256 logs in; a wrong password fails', async () => {
        let { c } = await connect();
        assert.match(
          await scram(
            p,
            c,
            'SCRAM-SHA-256',
            new ScramClient({ username: 'sam@example.test', password: 'pencil sharp' }),
          ),
          p.ok,
        );
        c.close();
        ({ c } = await connect());
        assert.match(
          await scram(p, c, 'SCRAM-SHA-256', new ScramClient({ username: 'sam@example.test', password: 'pencil' })),
          p.failed,
        );
        c.close();
      });

      it('SCRAM-SHA-256-PLUS binds to the TLS connection (tls-exporter)', async () => {
        let { c } = await connect();
        const bound = new ScramClient({
          username: 'sam@example.test',
          password: 'pencil sharp',
          binding: { type: 'tls-exporter', data: exporter(c) },
        });
        assert.match(await scram(p, c, 'SCRAM-SHA-256-PLUS', bound), p.ok);
        c.close();
        // Binding data of another connection (a relay in the middle) does not match.
        ({ c } = await connect());
        const other = await LineClient.connect(pb.ports[p.listener], { tls: true });
        const relayed = new ScramClient({
          username: 'sam@example.test',
          password: 'pencil sharp',
          binding: { type: 'tls-exporter', data: exporter(other) },
        });
        other.close();
        assert.match(await scram(p, c, 'SCRAM-SHA-256-PLUS', relayed), p.failed);
        c.close();
      });

      it('an authorization identity other than the user fails (PLAIN and SCRAM)', async () => {
        let { c } = await connect();
        p.auth(c, 'PLAIN', b64('boss@example.test\0sam@example.test\0pencil sharp'));
        const plain = await p.next(c);
        assert.ok('status' in plain);
        assert.match(plain.status, p.failed);
        assert.match(plain.status, /authorization identity/);
        c.close();
        ({ c } = await connect());
        const s = new ScramClient({
          username: 'sam@example.test',
          password: 'pencil sharp',
          authzid: 'boss@example.test',
        });
        assert.match(await scram(p, c, 'SCRAM-SHA-256', s), p.failed);
        // The same identity is fine.
        c.close();
        ({ c } = await connect());
        p.auth(c, 'PLAIN', b64('SAM@example.test\0sam@example.test\0pencil sharp'));
        const same = await p.next(c);
        assert.ok('status' in same);
        assert.match(same.status, p.ok);
        c.close();
      });

      it('"*" cancels', async () => {
        const { c } = await connect();
        p.auth(c, 'LOGIN');
        const ch = await p.next(c);
        assert.deepEqual(ch, { challenge: b64('Username:') });
        c.send('*');
        const r = await p.next(c);
        assert.ok('status' in r);
        assert.match(r.status, p.cancelled);
        c.close();
      });

      it(`refuses a response line over ${LIMIT} octets, and reads one at the limit`, async () => {
        const { c } = await connect();
        p.auth(c, 'PLAIN');
        assert.deepEqual(await p.next(c), { challenge: '' });
        c.send('A'.repeat(LIMIT - 1)); // with CRLF: LIMIT + 1
        const r = await p.next(c);
        assert.ok('status' in r);
        assert.match(r.status, p.tooLong);
        p.auth(c, 'PLAIN');
        assert.deepEqual(await p.next(c), { challenge: '' });
        c.send('A'.repeat(LIMIT - 2)); // with CRLF: LIMIT, not base64
        const at = await p.next(c);
        assert.ok('status' in at);
        assert.match(at.status, p.malformed);
        c.close();
      });
    });
  }
});

describe('accounts from before SCRAM', () => {
  let pb: PostbodeProcess;
  let dataDir = '';
  before(async () => {
    pb = await startPostbode({ extraArgs: LENIENT });
    dataDir = pb.dataDir;
    for (const u of ['old', 'older'])
      assert.equal(pb.cli(['user', 'add', `${u}@example.test`, '--password', `pw-${u}`]).code, 0);
    await pb.stop();
    // As a database migrated to schema V9 has it: no SCRAM keys yet.
    await storeSql(dataDir, 'UPDATE accounts SET scram_sha256 = NULL');
    pb = await startPostbode({ dataDir, extraArgs: LENIENT });
  });
  after(async () => {
    await pb.stop();
    removeDir(dataDir);
  });

  it('SCRAM is not advertised until every account has keys; a password login adds them', async () => {
    const p = PROTOCOLS.smtp;
    const open = async () => {
      const c = await LineClient.connect(pb.ports.submissions, { tls: true });
      return { c, mechanisms: await p.open(c) };
    };
    let { c, mechanisms } = await open();
    assert.deepEqual(mechanisms, ['PLAIN', 'LOGIN']);
    // Asked for anyway, SCRAM fails like a wrong password for an account without keys.
    assert.match(
      await scram(p, c, 'SCRAM-SHA-256', new ScramClient({ username: 'old@example.test', password: 'pw-old' })),
      p.failed,
    );
    assert.match(await c.cmd(`AUTH PLAIN ${b64('\0old@example.test\0pw-old')}`), p.ok);
    c.close();
    ({ c, mechanisms } = await open());
    assert.deepEqual(mechanisms, ['PLAIN', 'LOGIN'], 'older@ has no keys yet');
    assert.match(
      await scram(p, c, 'SCRAM-SHA-256', new ScramClient({ username: 'old@example.test', password: 'pw-old' })),
      p.ok,
    );
    c.close();
    // older@ logs in over POP3 with USER/PASS: now every account has keys.
    const pop = await LineClient.connect(pb.ports.pop3s, { tls: true });
    await pop.line();
    pop.send('USER older@example.test');
    await pop.line();
    pop.send('PASS pw-older');
    assert.match(await pop.line(), /^\+OK /);
    pop.close();
    ({ c, mechanisms } = await open());
    assert.deepEqual(mechanisms, ['PLAIN', 'LOGIN', 'SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS']);
    assert.match(
      await scram(p, c, 'SCRAM-SHA-256', new ScramClient({ username: 'older@example.test', password: 'pw-older' })),
      p.ok,
    );
    c.close();
  });

  it('a Cyrus SASL client (mbsync) logs in before and after the keys exist', {
    skip: spawnSync('mbsync', ['--version']).status !== 0 && 'mbsync is not installed (apt-get install isync)',
  }, async () => {
    // A fresh account without keys, and a restart: the server looks at the accounts when it starts.
    assert.equal(pb.cli(['user', 'add', 'cyrus@example.test', '--password', 'pw-cyrus']).code, 0);
    await pb.stop();
    await storeSql(dataDir, 'UPDATE accounts SET scram_sha256 = NULL WHERE address = $1', ['cyrus@example.test']);
    pb = await startPostbode({ dataDir, extraArgs: LENIENT });
    const work = path.join(dataDir, 'mbsync');
    mkdirSync(path.join(work, 'mail'), { recursive: true });
    const rc = path.join(work, 'mbsyncrc');
    writeFileSync(
      rc,
      [
        'IMAPAccount test',
        'Host 127.0.0.1',
        `Port ${pb.ports.imaps}`,
        'User cyrus@example.test',
        'Pass pw-cyrus',
        'SSLType IMAPS',
        `CertificateFile ${path.join(dataDir, 'tls', 'cert.pem')}`,
        '',
        'IMAPStore remote',
        'Account test',
        '',
        'MaildirStore local',
        `Path ${work}/mail/`,
        `Inbox ${work}/mail/INBOX`,
        '',
        'Channel sync',
        'Far :remote:',
        'Near :local:',
        'Patterns INBOX',
        'Create Both',
        'SyncState *',
        '',
      ].join('\n'),
    );
    const mbsync = () => {
      const r = spawnSync('mbsync', ['-V', '-c', rc, '-a'], { encoding: 'utf8', timeout: 30000 });
      assert.equal(r.status, 0, `mbsync: ${r.stdout}${r.stderr}`);
      return `${r.stdout}${r.stderr}`;
    };
    const first = mbsync();
    assert.doesNotMatch(first, /SCRAM/);
    // The login gave cyrus@ its keys; with every account keyed (the test above), SCRAM is offered and
    // Cyrus SASL takes it.
    const [row] = await storeSql<{ scram_sha256: string | null }>(
      dataDir,
      'SELECT scram_sha256 FROM accounts WHERE address = $1',
      ['cyrus@example.test'],
    );
    assert.match(String(row?.scram_sha256), /^SCRAM-SHA-256\$10000:/);
    const second = mbsync();
    assert.match(second, /Authenticating with SASL mechanism SCRAM-SHA-256\b/);
  });
});
