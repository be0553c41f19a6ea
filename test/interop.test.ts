/**
 * Real clients against a real server: nodemailer (Node), Python's smtplib and poplib, and swaks
 * (Debian's SMTP test tool). Each sends or reads mail the way users' software does.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import nodemailer from 'nodemailer';
import { popRetrieveAll } from './harness/pop3.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

function python(code: string): { code: number; out: string } {
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8', timeout: 30000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const hasSwaks = spawnSync('swaks', ['--version']).status === 0;

describe('real clients', () => {
  let pb: PostbodeProcess;
  before(async () => {
    pb = await startPostbode();
    for (const u of ['alice', 'bob', 'carol'])
      assert.equal(pb.cli(['user', 'add', `${u}@example.test`, '--password', 'pw-' + u]).code, 0);
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  it('nodemailer submits on 587 with STARTTLS + AUTH and on 465 with implicit TLS', async () => {
    for (const [port, secure] of [
      [pb.ports.submission, false],
      [pb.ports.submissions, true],
    ] as const) {
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port,
        secure,
        requireTLS: !secure,
        auth: { user: 'alice@example.test', pass: 'pw-alice' },
        tls: { rejectUnauthorized: false },
      });
      const info = await transport.sendMail({
        from: 'alice@example.test',
        to: ['bob@example.test', 'someone@remote.example'],
        subject: `via nodemailer ${port}`,
        text: 'Hällo from nodemailer\n.leading dot\n',
      });
      assert.deepEqual(info.accepted.sort(), ['bob@example.test', 'someone@remote.example']);
      assert.match(info.response, /^250 2\.6\.0 /);
      transport.close();
    }
    const bob = await popRetrieveAll(pb.ports.pop3, 'bob@example.test', 'pw-bob');
    assert.equal(bob.filter((m) => m.includes('Subject: via nodemailer')).length, 2);
    assert.match(pb.cli(['queue', 'list']).stdout, /someone@remote\.example/);
  });

  it('nodemailer on port 25 with a failed recipient gets a per-recipient rejection', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: pb.ports.smtp,
      secure: false,
      ignoreTLS: true,
    });
    await assert.rejects(
      transport.sendMail({ from: 'x@remote.example', to: 'nobody@example.test', subject: 's', text: 't' }),
      /550 5\.1\.1/,
    );
    transport.close();
  });

  it("Python's smtplib sends and poplib reads, lists, tops and deletes", () => {
    const r = python(`
import smtplib, poplib, ssl
from email.message import EmailMessage
m = EmailMessage(); m['From']='py@remote.example'; m['To']='carol@example.test'; m['Subject']='from python'
m.set_content('line one\\n.line two\\n')
with smtplib.SMTP('127.0.0.1', ${pb.ports.smtp}) as s:
    s.ehlo('python.example'); assert s.has_extn('pipelining') and s.has_extn('enhancedstatuscodes')
    s.starttls(context=ssl._create_unverified_context()); s.ehlo('python.example')
    s.send_message(m)
ctx = ssl._create_unverified_context()
p = poplib.POP3_SSL('127.0.0.1', ${pb.ports.pop3s}, context=ctx)
p.user('carol@example.test'); p.pass_('pw-carol')
count, size = p.stat(); assert count == 1, count
resp, lines, octets = p.retr(1)
body = b'\\r\\n'.join(lines)
assert b'Subject: from python' in body and b'\\r\\n.line two' in body, body
assert octets == size, (octets, size)
resp, top, _ = p.top(1, 0); assert b'' in top and b'line one' not in b''.join(top)
uid = p.uidl(1).split()[2]
p.dele(1); p.quit()
p = poplib.POP3('127.0.0.1', ${pb.ports.pop3}); p.stls(context=ctx)
p.user('carol@example.test'); p.pass_('pw-carol'); assert p.stat()[0] == 0; p.quit()
print('OK', uid.decode())
`);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^OK \S+/);
  });

  it('swaks sends over STARTTLS with AUTH on the submission port', {
    skip: !hasSwaks && 'swaks is not installed (apt-get install swaks)',
  }, () => {
    const r = spawnSync(
      'swaks',
      [
        '--server',
        `127.0.0.1:${pb.ports.submission}`,
        '--tls',
        '--auth',
        'PLAIN',
        '--auth-user',
        'alice@example.test',
        '--auth-password',
        'pw-alice',
        '--from',
        'alice@example.test',
        '--to',
        'bob@example.test',
        '--header',
        'Subject: via swaks',
        '--body',
        'swaks body',
      ],
      { encoding: 'utf8', timeout: 30000 },
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /<~\s+250 2\.6\.0 /);
    const r2 = spawnSync(
      'swaks',
      ['--server', `127.0.0.1:${pb.ports.smtp}`, '--from', 'a@remote.example', '--to', 'x@elsewhere.example'],
      {
        encoding: 'utf8',
        timeout: 30000,
      },
    );
    assert.notEqual(r2.status, 0);
    assert.match(r2.stdout, /554 5\.7\.1/);
  });
});
