/**
 * smtp.sender_login_match (issue 10, docs/security.md): an authenticated session sends only as its
 * own address or an alias delivering to it, in MAIL FROM (553 5.7.1) and in the From: header at the end of
 * DATA/BDAT (550 5.7.1, nothing stored). Real clients over real sockets: nodemailer on 587 (STARTTLS) and
 * Python's smtplib on 465 and 25, plus raw lines for the exact replies. Unauthenticated port-25 mail is
 * untouched, and `smtp.sender_login_match=false` turns the rule off.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import nodemailer from 'nodemailer';
import { LineClient } from './harness/line-client.js';
import { plain } from './harness/mail-flow.js';
import { popRetrieveAll } from './harness/pop3.js';
import { BIN, cliEnv, type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const CAROL = 'carol@example.test';

/** Runs a CLI command on the server's data directory and asserts that it succeeded. */
async function cli(server: PostbodeProcess, args: string[]): Promise<void> {
  const child = spawn(process.execPath, [BIN, ...args, '--data-dir', server.dataDir, ...server.store], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: cliEnv(),
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, `postbode ${args.join(' ')}: ${out}`);
}

function python(code: string): { code: number; out: string } {
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** An authenticated session on `port` (plaintext AUTH is allowed on loopback). */
async function login(port: number, user: string, opts: { tls?: boolean } = {}): Promise<LineClient> {
  const c = await LineClient.connect(port, opts);
  assert.match(await c.reply(), /^220 /);
  assert.match(await c.cmd('EHLO client.example.test'), /^250[ -]/);
  assert.match(await c.cmd(`AUTH PLAIN ${plain(user, `pw-${user.split('@')[0]}`)}`), /^235 /);
  return c;
}

const message = (from: string, subject: string) =>
  `From: ${from}\r\nTo: ${CAROL}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@example.test>\r\n\r\nHello.\r\n`;

/** One transaction on an open session; returns the reply to MAIL and, when it was accepted, to the data. */
async function transaction(c: LineClient, envelopeFrom: string, data: string): Promise<{ mail: string; end: string }> {
  const mail = await c.cmd(`MAIL FROM:<${envelopeFrom}>`);
  if (!mail.startsWith('250')) return { mail, end: '' };
  assert.match(await c.cmd(`RCPT TO:<${CAROL}>`), /^250 /);
  assert.match(await c.cmd('DATA'), /^354 /);
  c.write(`${data}.\r\n`);
  return { mail, end: await c.reply() };
}

const carolSubjects = async (port: number) =>
  (await popRetrieveAll(port, CAROL, 'pw-carol')).map(
    (m) => /\r\nSubject: ([^\r\n]*)/.exec(`\r\n${m.toString('latin1')}`)?.[1] ?? '',
  );

describe('smtp.sender_login_match', () => {
  let pb: PostbodeProcess;
  let off: PostbodeProcess;

  before(async () => {
    [pb, off] = await Promise.all([
      startPostbode(),
      startPostbode({ listeners: ['submission', 'pop3'], extraArgs: ['--set', 'smtp.sender_login_match=false'] }),
    ]);
    // Accounts and aliases by the CLI (a process of about a second each): one run at a time per data directory.
    const users = [ALICE, BOB, CAROL].map((u) => ['user', 'add', u, '--password', `pw-${u.split('@')[0]}`]);
    const aliases = [
      ['sales@example.test', ALICE],
      ['team@example.test', ALICE, BOB],
      ['helpdesk@example.test', 'sales@example.test'],
      ['@example.test', ALICE],
    ].map((a) => ['alias', 'add', ...a]);
    await Promise.all([
      (async () => {
        for (const args of [...users, ...aliases]) await cli(pb, args);
      })(),
      (async () => {
        for (const args of users) await cli(off, args);
      })(),
    ]);
  });

  after(async () => {
    await Promise.all([pb?.stop(), off?.stop()]);
    if (pb) removeDir(pb.dataDir);
    if (off) removeDir(off.dataDir);
  });

  it('nodemailer on 587 (STARTTLS + AUTH) sends as the own address and as aliases (direct, shared, nested)', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: pb.ports.submission,
      secure: false,
      requireTLS: true,
      auth: { user: ALICE, pass: 'pw-alice' },
      tls: { rejectUnauthorized: false },
    });
    try {
      for (const from of [
        ALICE,
        'Alice <Alice@Example.Test>',
        'sales@example.test',
        'team@example.test',
        'helpdesk@example.test',
      ]) {
        const info = await transport.sendMail({ from, to: CAROL, subject: `own ${from}`, text: 'hi\n' });
        assert.match(info.response, /^250 2\.6\.0 /, from);
      }
      // Another user's address: nodemailer reports the 553 of MAIL FROM.
      await assert.rejects(
        transport.sendMail({ from: BOB, to: CAROL, subject: 'as bob', text: 'x\n' }),
        (err: Error & { responseCode?: number; response?: string }) => {
          assert.equal(err.responseCode, 553);
          assert.match(
            err.response ?? '',
            /^553 5\.7\.1 Sender address <bob@example\.test> is not owned by user alice@example\.test; send as alice@example\.test or one of its aliases, or ask the admin to set smtp\.sender_login_match = false$/,
          );
          return true;
        },
      );
    } finally {
      transport.close();
    }
    const subjects = await carolSubjects(pb.ports.pop3);
    assert.equal(subjects.filter((s) => s.startsWith('own ')).length, 5);
    assert.ok(!subjects.includes('as bob'));
  });

  it('refuses MAIL FROM of another user, of a catch-all target, of a foreign domain, and on 25 with AUTH', async () => {
    for (const [port, tls] of [
      [pb.ports.submission, false],
      [pb.ports.submissions, true],
      [pb.ports.smtp, false],
    ] as const) {
      const c = await login(port, ALICE, { tls });
      try {
        for (const other of [BOB, 'nobody@example.test', 'alice@elsewhere.example', 'root@localhost']) {
          const r = await c.cmd(`MAIL FROM:<${other}>`);
          assert.match(r, new RegExp(`^553 5\\.7\\.1 Sender address <${other.replace(/\./g, '\\.')}> is not owned`));
        }
        // The session goes on: the own address still works.
        assert.match(await c.cmd(`MAIL FROM:<${ALICE}>`), /^250 /);
        assert.match(await c.cmd('RSET'), /^250 /);
        // bob shares team@ with alice, but not sales@.
      } finally {
        c.close();
      }
    }
    const bob = await login(pb.ports.submission, BOB);
    try {
      assert.match(await bob.cmd('MAIL FROM:<team@example.test>'), /^250 /);
      assert.match(await bob.cmd('RSET'), /^250 /);
      assert.match(await bob.cmd('MAIL FROM:<sales@example.test>'), /^553 5\.7\.1 /);
    } finally {
      bob.close();
    }
  });

  it('refuses a From: header of another user after DATA and BDAT with 550 5.7.1, storing nothing', async () => {
    const c = await login(pb.ports.submission, ALICE);
    try {
      let r = await transaction(c, ALICE, message(`Bob <${BOB}>`, 'forged-data'));
      assert.match(
        r.end,
        /^550 5\.7\.1 From: address <bob@example\.test> is not owned by user alice@example\.test; send as alice@example\.test or one of its aliases/,
      );
      // A second mailbox in From: counts too; an unreadable From: is refused.
      r = await transaction(c, ALICE, message(`${ALICE}, ${BOB}`, 'forged-two'));
      assert.match(r.end, /^550 5\.7\.1 From: address <bob@example\.test> /);
      r = await transaction(c, ALICE, message('undisclosed', 'forged-unreadable'));
      assert.match(r.end, /^550 5\.7\.1 From: header "undisclosed" holds no address user alice@example\.test owns/);
      // BDAT (RFC 3030) ends in the same check.
      assert.match(await c.cmd(`MAIL FROM:<${ALICE}>`), /^250 /);
      assert.match(await c.cmd(`RCPT TO:<${CAROL}>`), /^250 /);
      const body = message(BOB, 'forged-bdat');
      c.write(`BDAT ${Buffer.byteLength(body)} LAST\r\n${body}`);
      assert.match(await c.reply(), /^550 5\.7\.1 From: address <bob@example\.test> /);
      // The transaction ended; the session is still usable and the own From: passes.
      r = await transaction(c, ALICE, message(`"Alice" <sales@example.test>`, 'fine-alias-from'));
      assert.match(r.end, /^250 2\.6\.0 /);
    } finally {
      c.close();
    }
    const subjects = await carolSubjects(pb.ports.pop3);
    assert.ok(subjects.includes('fine-alias-from'));
    for (const s of ['forged-data', 'forged-two', 'forged-unreadable', 'forged-bdat'])
      assert.ok(!subjects.includes(s), s);
  });

  it('accepts the null sender (as Postfix does) but still checks its From:', async () => {
    const c = await login(pb.ports.submission, ALICE);
    try {
      let r = await transaction(c, '', message(ALICE, 'null-own'));
      assert.match(r.mail, /^250 /);
      assert.match(r.end, /^250 2\.6\.0 /);
      r = await transaction(c, '', message(BOB, 'null-forged'));
      assert.match(r.end, /^550 5\.7\.1 /);
    } finally {
      c.close();
    }
  });

  it("Python's smtplib: 465 refuses another user's sender; unauthenticated port 25 is not affected", () => {
    const r = python(`
import smtplib, ssl
from email.message import EmailMessage
def msg(frm, subject):
    m = EmailMessage(); m['From'] = frm; m['To'] = '${CAROL}'; m['Subject'] = subject; m.set_content('hi')
    return m
with smtplib.SMTP_SSL('127.0.0.1', ${pb.ports.submissions}, context=ssl._create_unverified_context()) as s:
    s.login('${ALICE}', 'pw-alice')
    s.send_message(msg('${ALICE}', 'py-own'))
    try:
        s.send_message(msg('${BOB}', 'py-forged'))
        raise SystemExit('sent as bob')
    except smtplib.SMTPSenderRefused as e:
        assert e.smtp_code == 553 and e.smtp_error.startswith(b'5.7.1 Sender address <${BOB}> is not owned'), e
# Inbound mail on port 25 without AUTH (another MTA, a student typing): any sender, any From.
with smtplib.SMTP('127.0.0.1', ${pb.ports.smtp}) as s:
    s.send_message(msg('${BOB}', 'py-port25'))
print('OK')
`);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^OK$/m);
  });

  it('unauthenticated port 25 takes any local sender and From: by hand', async () => {
    const c = await LineClient.connect(pb.ports.smtp);
    try {
      assert.match(await c.reply(), /^220 /);
      assert.match(await c.cmd('HELO student.example.test'), /^250 /);
      const r = await transaction(c, BOB, message(BOB, 'typed-on-25'));
      assert.match(r.end, /^250 2\.6\.0 /);
    } finally {
      c.close();
    }
    const subjects = await carolSubjects(pb.ports.pop3);
    for (const s of ['py-own', 'py-port25', 'typed-on-25', 'null-own']) assert.ok(subjects.includes(s), s);
    for (const s of ['py-forged', 'null-forged']) assert.ok(!subjects.includes(s), s);
  });

  it('with smtp.sender_login_match = false a logged-in user may send as anyone', async () => {
    const c = await login(off.ports.submission, ALICE);
    try {
      const r = await transaction(c, BOB, message(BOB, 'off-as-bob'));
      assert.match(r.mail, /^250 /);
      assert.match(r.end, /^250 2\.6\.0 /);
      assert.match((await transaction(c, 'x@elsewhere.example', message('x@elsewhere.example', 'off-x'))).end, /^250 /);
    } finally {
      c.close();
    }
    const subjects = await carolSubjects(off.ports.pop3);
    assert.ok(subjects.includes('off-as-bob') && subjects.includes('off-x'));
  });
});
