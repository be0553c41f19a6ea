/**
 * Real IMAP clients against a real server: imapflow (Node), Python's imaplib, and Debian's command-line
 * clients mbsync (isync: two-way Maildir sync) and fetchmail (download and delete). Each works the way
 * users' software does; the Debian ones are skipped with a reason when they are not installed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import { ImapClient, smtpSend } from './harness/imap-client.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';

function python(code: string): { code: number; out: string } {
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8', timeout: 30000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const has = (bin: string, arg = '--version') => spawnSync(bin, [arg]).error === undefined;
const hasMbsync = has('mbsync');
const hasFetchmail = has('fetchmail');

const message = (subject: string, body = 'body text') =>
  `From: Sender <s@remote.example>\r\nTo: someone@example.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '-')}@remote.example>\r\n\r\n${body}\r\n`;

describe('real IMAP clients', () => {
  let pb: PostbodeProcess;
  let work: string;
  before(async () => {
    pb = await startPostbode({
      listeners: ['smtp', 'imap', 'imaps'],
      extraArgs: ['--set', 'auth.failure_delay_ms=0'],
    });
    for (const u of ['alice', 'bob', 'carol', 'dave'])
      assert.equal(pb.cli(['user', 'add', `${u}@example.test`, '--password', `pw-${u}`]).code, 0);
    work = mkdtempSync(path.join(tmpdir(), 'postbode-imap-clients-'));
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
    removeDir(work);
  });

  it('imapflow: list, open, fetch source/envelope/bodyStructure, flags, move, append, search, idle', async () => {
    await smtpSend(pb.ports.smtp, 's@remote.example', ['alice@example.test'], message('flow one', 'Hällo ünïcode'));
    await smtpSend(
      pb.ports.smtp,
      's@remote.example',
      ['alice@example.test'],
      'From: s@remote.example\r\nSubject: flow two\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\npart one\r\n--b1\r\nContent-Type: application/octet-stream; name="x.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--b1--\r\n',
    );
    // imapflow logs "Initiated IDLE" (debug) when the server's "+ idling" came: the event the IDLE check
    // below waits for before it delivers.
    let idleInitiated = () => {};
    const idleStarted = new Promise<void>((resolve) => {
      idleInitiated = resolve;
    });
    const quiet = () => {};
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: pb.ports.imap,
      secure: false,
      auth: { user: 'alice@example.test', pass: 'pw-alice' },
      logger: {
        debug: (entry: { msg?: unknown }) => {
          if (typeof entry?.msg === 'string' && entry.msg.startsWith('Initiated IDLE')) idleInitiated();
        },
        info: quiet,
        warn: quiet,
        error: quiet,
      },
      tls: { rejectUnauthorized: false },
    });
    await client.connect();
    try {
      const boxes = await client.list();
      const paths = boxes.map((b) => b.path).sort();
      assert.deepEqual(paths, ['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
      assert.equal(boxes.find((b) => b.path === 'Sent')?.specialUse, '\\Sent');

      const box = await client.mailboxOpen('INBOX');
      assert.equal(box.exists, 2);
      assert.ok(Number(box.uidValidity) > 0);

      const got: { uid: number; subject?: string; source?: Buffer; type?: string }[] = [];
      for await (const m of client.fetch('1:*', { uid: true, envelope: true, source: true, bodyStructure: true })) {
        got.push({ uid: m.uid, subject: m.envelope?.subject, source: m.source, type: m.bodyStructure?.type });
      }
      assert.deepEqual(
        got.map((g) => [g.subject, g.type]),
        [
          ['flow one', 'text/plain'],
          ['flow two', 'multipart/mixed'],
        ],
      );
      assert.match(got[0].source?.toString('utf8') ?? '', /Hällo ünïcode/);
      assert.match(got[0].source?.toString() ?? '', /^Return-Path: <s@remote\.example>\r\n/);
      const part = await client.download(String(got[1].uid), '2', { uid: true });
      const chunks: Buffer[] = [];
      assert.ok(part.content);
      for await (const c of part.content) chunks.push(c as Buffer);
      assert.deepEqual([...Buffer.concat(chunks)], [0, 1, 2, 3]);

      assert.ok(await client.messageFlagsAdd({ uid: String(got[0].uid) }, ['\\Flagged', '$Important'], { uid: true }));
      const flagged = await client.search({ flagged: true }, { uid: true });
      assert.deepEqual(flagged, [got[0].uid]);
      const one = await client.fetchOne(String(got[0].uid), { flags: true }, { uid: true });
      assert.ok(one);
      assert.ok(one.flags?.has('$Important'));

      const moved = await client.messageMove({ uid: String(got[1].uid) }, 'Archive', { uid: true });
      assert.ok(moved && moved.uidMap?.size === 1, String(moved && [...(moved.uidMap ?? [])]));
      const appended = await client.append('Drafts', message('flow draft'), ['\\Draft', '\\Seen']);
      assert.ok(appended && Number(appended.uid) > 0);
      const st = await client.status('Archive', { messages: true });
      assert.ok(st);
      assert.equal(st.messages, 1);
      const drafts = await client.status('Drafts', { messages: true, unseen: true });
      assert.ok(drafts);
      assert.deepEqual([drafts.messages, drafts.unseen], [1, 0]);
      assert.deepEqual(await client.search({ subject: 'flow' }, { uid: true }), [got[0].uid]);

      // IDLE: a delivery shows up as an "exists" event while imapflow idles.
      const exists = new Promise<number>((resolve) =>
        client.on('exists', (e: { count: number }) => {
          resolve(e.count);
        }),
      );
      const idling = client.idle();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        idleStarted,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('imapflow did not start IDLE in 5 s')), 5000);
        }),
      ]).finally(() => clearTimeout(timer));
      await smtpSend(pb.ports.smtp, 's@remote.example', ['alice@example.test'], message('flow during idle'));
      const count = await Promise.race([exists, new Promise<number>((r) => setTimeout(() => r(-1), 2000))]);
      assert.equal(count, 2);
      await client.noop();
      await idling;
    } finally {
      await client.logout();
    }
  });

  it("Python's imaplib: login, select, search, fetch RFC822, store, copy, expunge (plain and IMAPS)", async () => {
    for (let i = 1; i <= 3; i++)
      await smtpSend(pb.ports.smtp, 's@remote.example', ['bob@example.test'], message(`py ${i}`, `.leading dot ${i}`));
    const r = python(`
import imaplib, ssl
m = imaplib.IMAP4('127.0.0.1', ${pb.ports.imap})
assert 'IMAP4REV1' in m.capabilities, m.capabilities
typ, _ = m.login('bob@example.test', 'pw-bob'); assert typ == 'OK'
typ, data = m.select('INBOX'); assert typ == 'OK' and data[0] == b'3', data
typ, data = m.search(None, 'SUBJECT', '"py 2"'); assert data[0] == b'2', data
typ, data = m.search(None, 'UNSEEN'); assert data[0].split() == [b'1', b'2', b'3'], data
typ, data = m.fetch('2', '(RFC822)')
raw = data[0][1]
assert b'Subject: py 2\\r\\n' in raw and raw.endswith(b'\\r\\n.leading dot 2\\r\\n'), raw
assert (b'{%d}' % len(raw)) in data[0][0], data[0][0]
typ, data = m.search(None, 'SEEN'); assert data[0] == b'2', data
typ, data = m.store('1', '+FLAGS', '(\\\\Deleted \\\\Answered)'); assert typ == 'OK', data
assert b'\\\\Deleted' in data[0] and b'\\\\Answered' in data[0], data
typ, data = m.copy('2:3', 'Archive'); assert typ == 'OK', data
typ, data = m.expunge(); assert data == [b'1'], data
typ, data = m.select('Archive', readonly=True); assert data[0] == b'2', data
typ, data = m.fetch('1:*', '(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
subjects = sorted(d[1].strip() for d in data if isinstance(d, tuple))
assert subjects == [b'Subject: py 2', b'Subject: py 3'], data
typ, data = m.store('1', '+FLAGS', '(\\\\Flagged)'); assert typ == 'NO', (typ, data)
m.logout()
s = imaplib.IMAP4_SSL('127.0.0.1', ${pb.ports.imaps}, ssl_context=ssl._create_unverified_context())
s.login('bob@example.test', 'pw-bob'); typ, data = s.select('INBOX'); assert data[0] == b'2', data
typ, data = s.uid('SEARCH', None, 'ALL'); assert len(data[0].split()) == 2, data
s.logout()
t = imaplib.IMAP4('127.0.0.1', ${pb.ports.imap}); t.starttls(ssl_context=ssl._create_unverified_context())
t.login('bob@example.test', 'pw-bob'); assert t.status('INBOX', '(MESSAGES)')[1][0].endswith(b'(MESSAGES 2)'); t.logout()
try:
    imaplib.IMAP4('127.0.0.1', ${pb.ports.imap}).login('bob@example.test', 'wrong')
    raise SystemExit('login with a wrong password succeeded')
except imaplib.IMAP4.error as e:
    assert 'AUTHENTICATIONFAILED' in str(e), e
print('OK')
`);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^OK$/m);
  });

  it('mbsync (isync) syncs a mailbox both ways over IMAP and IMAPS', {
    skip: !hasMbsync && 'mbsync is not installed (apt-get install isync)',
  }, async () => {
    await smtpSend(pb.ports.smtp, 's@remote.example', ['carol@example.test'], message('mb one'));
    await smtpSend(pb.ports.smtp, 's@remote.example', ['carol@example.test'], message('mb two'));
    const imap = await ImapClient.connect(pb.ports.imap);
    await imap.login('carol@example.test', 'pw-carol');
    await imap.ok('CREATE Projects/2026');
    assert.equal((await imap.append('Projects/2026', message('mb project'), '\\Flagged')).status, 'OK');
    imap.close();

    const maildir = path.join(work, 'mbsync-mail');
    mkdirSync(maildir);
    const config = (port: number, tls: boolean) => {
      const file = path.join(work, `mbsyncrc-${tls ? 'tls' : 'plain'}`);
      writeFileSync(
        file,
        [
          'IMAPAccount test',
          'Host 127.0.0.1',
          `Port ${port}`,
          'User carol@example.test',
          'Pass pw-carol',
          ...(tls
            ? ['SSLType IMAPS', `CertificateFile ${path.join(pb.dataDir, 'tls', 'cert.pem')}`]
            : ['SSLType None', 'AuthMechs LOGIN']),
          '',
          'IMAPStore remote',
          'Account test',
          '',
          'MaildirStore local',
          `Path ${maildir}/`,
          `Inbox ${maildir}/INBOX`,
          'SubFolders Verbatim',
          '',
          'Channel sync',
          'Far :remote:',
          'Near :local:',
          'Patterns *',
          'Create Both',
          'Expunge Both',
          'SyncState *',
          '',
        ].join('\n'),
      );
      return file;
    };
    const mbsync = (file: string) => {
      const r = spawnSync('mbsync', ['-c', file, '-a'], { encoding: 'utf8', timeout: 30000 });
      assert.equal(r.status, 0, `mbsync: ${r.stdout}${r.stderr}`);
      return r;
    };
    const files = (dir: string) =>
      ['cur', 'new'].flatMap((sub) => {
        try {
          return readdirSync(path.join(maildir, dir, sub)).map((f) => path.join(maildir, dir, sub, f));
        } catch {
          return [];
        }
      });

    // Server -> local.
    mbsync(config(pb.ports.imap, false));
    const inbox = files('INBOX');
    assert.equal(inbox.length, 2);
    assert.ok(inbox.some((f) => readFileSync(f, 'latin1').match(/Subject: mb two\r?\n/)));
    const project = files('Projects/2026');
    assert.equal(project.length, 1);
    assert.match(path.basename(project[0]), /:2,.*F/, 'the \\Flagged flag became the maildir F flag');

    // Local -> server: a new message, a new folder, \Seen on one message, one message deleted.
    const one = inbox.find((f) => readFileSync(f, 'latin1').match(/Subject: mb one\r?\n/))!;
    const two = inbox.find((f) => f !== one)!;
    renameSync(one, path.join(maildir, 'INBOX', 'cur', `${path.basename(one).split(':')[0]}:2,S`));
    renameSync(two, path.join(maildir, 'INBOX', 'cur', `${path.basename(two).split(':')[0]}:2,T`));
    for (const [dir, subject] of [
      ['INBOX', 'mb local'],
      ['FromLocal', 'mb new folder'],
    ]) {
      for (const sub of ['cur', 'new', 'tmp']) mkdirSync(path.join(maildir, dir, sub), { recursive: true });
      writeFileSync(
        path.join(maildir, dir, 'new', `${Date.now()}.${subject.replace(/ /g, '')}.localhost`),
        message(subject),
      );
    }
    mbsync(config(pb.ports.imaps, true));

    const c = await ImapClient.connect(pb.ports.imap);
    try {
      await c.login('carol@example.test', 'pw-carol');
      const list = (await c.ok('LIST "" "*"')).untagged.join('\n');
      assert.match(list, /"FromLocal"/);
      assert.match((await c.ok('STATUS FromLocal (MESSAGES)')).untagged[0], /MESSAGES 1\)/);
      await c.ok('SELECT INBOX');
      const fetched = (await c.ok('FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])')).untagged;
      const bySubject = new Map(fetched.map((l) => [/Subject: ([^\r]+)/.exec(l)?.[1], l]));
      assert.deepEqual([...bySubject.keys()].sort(), ['mb local', 'mb one'], JSON.stringify(fetched));
      assert.match(bySubject.get('mb one') ?? '', /\\Seen/);
    } finally {
      c.close();
    }
    // A second run in either mode has nothing left to do and changes nothing.
    mbsync(config(pb.ports.imap, false));
    assert.equal(files('INBOX').length, 2);
  });

  it('fetchmail downloads every message over IMAPS into an MDA and deletes them on the server', {
    skip: !hasFetchmail && 'fetchmail is not installed (apt-get install fetchmail)',
  }, async () => {
    for (let i = 1; i <= 3; i++)
      await smtpSend(pb.ports.smtp, 's@remote.example', ['dave@example.test'], message(`fm ${i}`, `.dot ${i}\r\nline`));
    const home = path.join(work, 'fetchmail');
    mkdirSync(home);
    const out = path.join(home, 'delivered.mbox');
    const rc = path.join(home, 'fetchmailrc');
    writeFileSync(
      rc,
      `set no bouncemail\npoll 127.0.0.1 protocol IMAP service ${pb.ports.imaps} auth password\n` +
        `  user "dave@example.test" there with password "pw-dave" is "root" here\n` +
        `  options ssl no sslcertck fetchall nokeep mda "sh -c 'cat >> ${out}; echo >> ${out}'"\n`,
    );
    chmodSync(rc, 0o600);
    const r = spawnSync(
      'fetchmail',
      ['-f', rc, '--nodetach', '--idfile', path.join(home, 'ids'), '--pidfile', path.join(home, 'pid')],
      { encoding: 'utf8', timeout: 30000, env: { ...process.env, FETCHMAILHOME: home, HOME: home } },
    );
    assert.equal(r.status, 0, `fetchmail: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr + r.stdout, /3 messages for dave@example\.test/);
    const mbox = readFileSync(out, 'latin1');
    for (let i = 1; i <= 3; i++) assert.ok(mbox.includes(`Subject: fm ${i}`), mbox);
    assert.ok(mbox.includes('.dot 2\n') || mbox.includes('.dot 2\r\n'), 'dot lines intact');
    const c = await ImapClient.connect(pb.ports.imap);
    try {
      await c.login('dave@example.test', 'pw-dave');
      assert.match((await c.ok('STATUS INBOX (MESSAGES)')).untagged[0], /MESSAGES 0\)/);
    } finally {
      c.close();
    }
  });
});
