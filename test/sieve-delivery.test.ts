/**
 * Sieve at delivery, black-box: a real server process, scripts stored with `store.sieve` (put +
 * setActive) from this process, mail sent over SMTP sockets, results read from the store. Remote mail
 * (redirects, vacation replies, rejection notices) leaves through the outbound queue to a loopback
 * SMTP sink that plays remote.test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashPassword } from '../src/auth/password.js';
import { DkimKeyStore } from '../src/delivery/dkim.js';
import type { Store } from '../src/store/types.js';
import { LineClient } from './harness/line-client.js';
import { eventually, plain } from './harness/mail-flow.js';
import { ManageSieveClient } from './harness/managesieve-client.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';
import { type SinkMessage, SmtpSink } from './harness/smtp-sink.js';
import { openTestStore } from './harness/store.js';

const D = 'example.test';

interface Mail {
  from: string;
  to: string[];
  subject: string;
  /** Extra header lines (CRLF-terminated). */
  headers?: string;
  /** The To: header; default the envelope recipients. */
  toHeader?: string;
  messageId?: string;
  /** AUTH PLAIN on the submission port as this user (password "secret"). */
  login?: string;
}

describe('Sieve at delivery', () => {
  let pb: PostbodeProcess;
  let sink: SmtpSink;
  let store: Store;
  let counter = 0;

  before(async () => {
    sink = await SmtpSink.start();
    pb = await startPostbode({
      hostname: `mx.${D}`,
      domains: [D],
      listeners: ['smtp', 'submission', 'managesieve'],
      outbound: true,
      extraArgs: [
        '--set',
        `delivery.transport={"remote.test":"127.0.0.1:${sink.port}"}`,
        '--set',
        'delivery.retry_interval_scan=1',
        '--set',
        'sieve.max_redirects=2',
      ],
    });
    // Accounts, an alias and a DKIM key made here rather than by one CLI process each (the server reads
    // them from the store and the data dir as it would after `postbode user add`, `alias add`, `dkim keygen`).
    store = await openTestStore({ dataDir: pb.dataDir });
    const passwordHash = await hashPassword('secret', 10);
    const users = ['filer', 'plain', 'rejecter', 'fwd', 'fwdcopy', 'loop1', 'loop2', 'away', 'broken', 'failing'];
    for (const u of [...users, 'sub', 'dup', 'many', 'msieve'])
      await store.accounts.create({ address: `${u}@${D}`, passwordHash });
    await store.aliases.set(`team@${D}`, [`away@${D}`]);
    new DkimKeyStore(pb.dataDir).generate(D, 'postbode', 'ed25519');
  });
  after(async () => {
    await store?.close();
    await pb?.stop();
    await sink?.close();
    removeDir(pb.dataDir);
  });

  async function accountId(user: string): Promise<number> {
    const account = await store.accounts.get(`${user}@${D}`);
    assert.ok(account, user);
    return account.id;
  }

  /** Stores `source` as the user's script "main" and makes it active. */
  async function script(user: string, source: string): Promise<void> {
    const id = await accountId(user);
    await store.sieve.put(id, 'main', source);
    assert.equal(await store.sieve.setActive(id, 'main'), true);
  }

  /** The messages of a mailbox with their subject and flags (none when the mailbox does not exist). */
  async function mailbox(user: string, name: string): Promise<{ subject: string; flags: string[]; raw: string }[]> {
    const box = await store.mailboxes.get(await accountId(user), name);
    if (!box) return [];
    const list = await store.messages.list(box.id);
    const bytes = await store.messages.readMany(
      box.id,
      list.map((m) => ({ uid: m.uid })),
    );
    return list.map((m) => {
      const raw = bytes.get(m.uid)?.toString('utf8') ?? '';
      const subject = /\r\nSubject: ([^\r\n]*)/.exec(`\r\n${raw}`)?.[1] ?? '';
      return { subject, flags: m.flags, raw };
    });
  }

  async function subjects(user: string, name = 'INBOX'): Promise<string[]> {
    return (await mailbox(user, name)).map((m) => m.subject);
  }

  /** A unique subject for one test message. */
  const subject = (what: string) => `${what} ${++counter}`;

  /** MAIL, RCPT and DATA of one message on port 25 (or submission with `login`); returns the reply to the end of data. */
  async function send(m: Mail): Promise<string> {
    const c = await LineClient.connect(m.login ? pb.ports.submission : pb.ports.smtp);
    try {
      assert.match(await c.reply(), /^220 /);
      assert.match(await c.cmd('EHLO client.remote.test'), /^250/);
      if (m.login) assert.match(await c.cmd(`AUTH PLAIN ${plain(m.login, 'secret')}`), /^235 /);
      assert.match(await c.cmd(`MAIL FROM:<${m.from}>`), /^250 /);
      for (const r of m.to) assert.match(await c.cmd(`RCPT TO:<${r}>`), /^250 /, r);
      assert.match(await c.cmd('DATA'), /^354 /);
      const id = m.messageId ?? `<${counter}.${Date.now()}@remote.test>`;
      const from = m.from === '' ? `MAILER-DAEMON@remote.test` : m.from;
      return await c.cmd(
        `From: ${from}\r\nTo: ${m.toHeader ?? m.to.join(', ')}\r\nSubject: ${m.subject}\r\nMessage-ID: ${id}\r\n` +
          `${m.headers ?? ''}\r\nHello.\r\n.`,
      );
    } finally {
      c.close();
    }
  }

  /** Waits until the queue is empty: every queued message reached the sink (or failed). */
  async function queueDrained(): Promise<void> {
    await eventually('an empty queue', async () => ((await store.queue.count()) === 0 ? true : undefined), 20_000);
  }

  /** Messages the sink got for `rcpt`, their header unfolded (RFC 5322 §2.2.3). */
  const sunk = (rcpt: string): SinkMessage[] =>
    sink.received
      .filter((m) => m.rcpts.includes(rcpt))
      .map((m) => ({ ...m, header: m.header.replace(/\r\n[ \t]+/g, ' ') }));

  /** A log line of the server with this message text (and the fields given), once it is written. */
  async function logLine(msg: RegExp, fields: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return eventually(`a log line ${msg}`, async () =>
      pb.logs.find((l) => msg.test(String(l.msg)) && Object.entries(fields).every(([k, v]) => l[k] === v)),
    );
  }

  it('runs a script uploaded over ManageSieve (PUTSCRIPT, SETACTIVE) on the next message', async () => {
    const c = await ManageSieveClient.connect(pb.ports.managesieve);
    try {
      assert.equal((await c.response()).status, 'OK'); // the greeting: capabilities, then OK
      assert.equal((await c.login(`msieve@${D}`, 'secret')).status, 'OK');
      const put = await c.putScript(
        'rules',
        'require ["fileinto", "imap4flags"];\r\nif header :contains "subject" "report" {\r\n  fileinto :flags "\\\\Flagged" "Archive";\r\n}\r\n',
      );
      assert.equal(put.status, 'OK', put.line);
      assert.equal((await c.cmd('SETACTIVE "rules"')).status, 'OK');
      await c.cmd('LOGOUT');
    } finally {
      c.close();
    }
    const report = subject('monthly report');
    assert.match(await send({ from: 'alice@remote.test', to: [`msieve@${D}`], subject: report }), /^250 /);
    assert.deepEqual(await mailbox('msieve', 'Archive').then((l) => l.map((m) => [m.subject, m.flags])), [
      [report, ['\\Flagged']],
    ]);
    assert.deepEqual(await subjects('msieve'), []);
  });

  it('files into a mailbox with flags (fileinto :flags) and keeps the rest in INBOX', async () => {
    await store.mailboxes.create(await accountId('filer'), 'Lists');
    await script(
      'filer',
      `require ["fileinto", "imap4flags"];
       if header :contains "subject" "[list]" { fileinto :flags ["\\\\Seen", "$List"] "Lists"; stop; }
       if header :contains "subject" "flag me" { addflag "\\\\Flagged"; }`,
    );
    const list = subject('[list] news');
    const flagged = subject('flag me');
    const other = subject('other');
    for (const s of [list, flagged, other]) {
      assert.match(await send({ from: 'alice@remote.test', to: [`filer@${D}`], subject: s }), /^250 /);
    }
    const lists = await mailbox('filer', 'Lists');
    assert.deepEqual(
      lists.map((m) => m.subject),
      [list],
    );
    assert.deepEqual([...lists[0].flags].sort(), ['$List', '\\Seen']);
    const inbox = await mailbox('filer', 'INBOX');
    assert.deepEqual(
      inbox.map((m) => m.subject),
      [flagged, other],
    );
    assert.deepEqual(inbox[0].flags, ['\\Flagged']);
    assert.deepEqual(inbox[1].flags, []);
  });

  it('creates a missing mailbox with fileinto :create, and without :create keeps the message in INBOX with a log line', async () => {
    await script(
      'filer',
      `require ["fileinto", "mailbox"];
       if header :contains "subject" "archive" { fileinto :create "Archive/2026"; }
       elsif header :contains "subject" "nowhere" { fileinto "Nowhere"; }`,
    );
    const archived = subject('archive');
    const nowhere = subject('nowhere');
    assert.match(await send({ from: 'alice@remote.test', to: [`filer@${D}`], subject: archived }), /^250 /);
    assert.match(await send({ from: 'alice@remote.test', to: [`filer@${D}`], subject: nowhere }), /^250 /);
    assert.deepEqual(await subjects('filer', 'Archive/2026'), [archived]);
    assert.ok(await store.mailboxes.get(await accountId('filer'), 'Archive'), 'the superior name exists too');
    assert.equal(await store.mailboxes.get(await accountId('filer'), 'Nowhere'), null);
    assert.ok((await subjects('filer')).includes(nowhere));
    await logLine(/mailbox "Nowhere" does not exist/, { account: `filer@${D}`, script: 'main' });
  });

  it('stores nothing for discard', async () => {
    await script('filer', 'if header :contains "subject" "spam" { discard; }');
    const spam = subject('spam');
    const ham = subject('ham');
    assert.match(await send({ from: 'alice@remote.test', to: [`filer@${D}`], subject: spam }), /^250 /);
    assert.match(await send({ from: 'alice@remote.test', to: [`filer@${D}`], subject: ham }), /^250 /);
    const all = [...(await subjects('filer')), ...(await subjects('filer', 'Lists'))];
    assert.ok(all.includes(ham));
    assert.ok(!all.includes(spam));
  });

  it('rejects at the end of DATA (550 5.7.1 with the reason) when the only recipient rejects, also after BDAT LAST', async () => {
    await script('rejecter', 'require "reject";\nreject text:\nNo mail from you,\nthank you.\n.\n;');
    const s = subject('rejected');
    assert.equal(
      await send({ from: 'alice@remote.test', to: [`rejecter@${D}`], subject: s }),
      '550 5.7.1 No mail from you, thank you.',
    );
    // BDAT LAST (RFC 3030) ends the same way.
    const c = await LineClient.connect(pb.ports.smtp);
    assert.match(await c.reply(), /^220 /);
    await c.cmd('EHLO client.remote.test');
    assert.match(await c.cmd('MAIL FROM:<alice@remote.test>'), /^250 /);
    assert.match(await c.cmd(`RCPT TO:<rejecter@${D}>`), /^250 /);
    const body = `Subject: ${subject('bdat')}\r\n\r\nHello.\r\n`;
    c.write(`BDAT ${Buffer.byteLength(body)} LAST\r\n${body}`);
    assert.equal(await c.reply(), '550 5.7.1 No mail from you, thank you.');
    assert.match(await c.cmd('NOOP'), /^250 /);
    c.close();
    assert.deepEqual(await subjects('rejecter'), []);
  });

  it('with another recipient, accepts (250), delivers to the other and sends the sender a rejection notice', async () => {
    const s = subject('half rejected');
    assert.match(await send({ from: 'carol@remote.test', to: [`rejecter@${D}`, `plain@${D}`], subject: s }), /^250 /);
    assert.ok((await subjects('plain')).includes(s));
    assert.deepEqual(await subjects('rejecter'), []);
    const notice = await eventually('the rejection notice at the sink', async () => sunk('carol@remote.test')[0]);
    assert.equal(notice.from, '');
    assert.match(notice.header, /^Subject: Rejected: half rejected/m);
    assert.match(notice.header, /^Auto-Submitted: auto-replied \(rejected\)/m);
    assert.match(notice.header, /report-type=disposition-notification/);
  });

  it('redirects to a local address (Delivered-To added) and to a remote one through the queue', async () => {
    await script('fwd', `redirect "plain@${D}";`);
    await script('fwdcopy', 'require "copy";\nredirect :copy "dest@remote.test";');
    const local = subject('redirect local');
    const remote = subject('redirect remote');
    assert.match(await send({ from: 'dave@remote.test', to: [`fwd@${D}`], subject: local }), /^250 /);
    assert.match(await send({ from: 'dave@remote.test', to: [`fwdcopy@${D}`], subject: remote }), /^250 /);
    assert.deepEqual(await subjects('fwd'), []);
    const got = (await mailbox('plain', 'INBOX')).find((m) => m.subject === local);
    assert.ok(got);
    assert.match(got.raw, /^Return-Path: <dave@remote\.test>\r\n/);
    assert.match(got.raw, /\r\nDelivered-To: fwd@example\.test\r\n/);
    // :copy keeps the message too.
    assert.deepEqual(await subjects('fwdcopy'), [remote]);
    const out = await eventually('the redirect at the sink', async () => sunk('dest@remote.test')[0]);
    assert.equal(out.from, 'dave@remote.test'); // the original envelope sender (no SRS)
    assert.match(out.header, /^Delivered-To: fwdcopy@example\.test$/m);
    assert.match(out.header, new RegExp(`^Subject: ${remote}$`, 'm'));
  });

  it('breaks a redirect loop between two accounts with Delivered-To: the message is kept', async () => {
    await script('loop1', `redirect "loop2@${D}";`);
    await script('loop2', `redirect "loop1@${D}";`);
    const s = subject('loop');
    assert.match(await send({ from: 'erin@remote.test', to: [`loop1@${D}`], subject: s }), /^250 /);
    const kept = await mailbox('loop1', 'INBOX');
    assert.deepEqual(
      kept.map((m) => m.subject),
      [s],
    );
    assert.match(kept[0].raw, /Delivered-To: loop2@example\.test\r\n/);
    assert.match(kept[0].raw, /Delivered-To: loop1@example\.test\r\n/);
    assert.deepEqual(await subjects('loop2'), []);
    await logLine(/forwarding loop/, { account: `loop1@${D}` });
  });

  it('refuses more redirects than sieve.max_redirects: the run fails and the message stays in INBOX', async () => {
    await script('many', 'redirect "a@remote.test";\nredirect "b@remote.test";\nredirect "c@remote.test";');
    const s = subject('many redirects');
    assert.match(await send({ from: 'erin@remote.test', to: [`many@${D}`], subject: s }), /^250 /);
    assert.deepEqual(await subjects('many'), [s]);
  });

  it('answers with a vacation reply once per sender and period, signed, from <>', async () => {
    await script('away', 'require "vacation";\nvacation :days 7 :subject "Out of office" "I am away until Monday.";');
    const first = subject('question');
    assert.match(
      await send({ from: 'frank@remote.test', to: [`away@${D}`], subject: first, messageId: '<q1@remote.test>' }),
      /^250 /,
    );
    const reply = await eventually('the vacation reply at the sink', async () => sunk('frank@remote.test')[0]);
    assert.equal(reply.from, '');
    assert.match(reply.header, /^Subject: Out of office$/m);
    assert.match(reply.header, /^Auto-Submitted: auto-replied$/m);
    assert.match(reply.header, /^In-Reply-To: <q1@remote\.test>$/m);
    assert.match(reply.header, /^From: <away@example\.test>$/m);
    assert.match(reply.header, /^DKIM-Signature: .*d=example\.test/m);
    // The message itself is kept.
    assert.ok((await subjects('away')).includes(first));

    // The same sender again: no second reply (the store remembers for 7 days).
    assert.match(await send({ from: 'frank@remote.test', to: [`away@${D}`], subject: subject('again') }), /^250 /);
    await logLine(/already answered/, { account: `away@${D}`, to: 'frank@remote.test' });
    await queueDrained();
    assert.equal(sunk('frank@remote.test').length, 1);
  });

  it('sends no vacation reply to a list, an automatic message, the null sender, or mail not addressed to the user', async () => {
    const cases: Mail[] = [
      {
        from: 'list@remote.test',
        to: [`away@${D}`],
        subject: subject('list'),
        headers: 'List-Id: <l.remote.test>\r\n',
      },
      { from: 'bulk@remote.test', to: [`away@${D}`], subject: subject('bulk'), headers: 'Precedence: bulk\r\n' },
      {
        from: 'robot@remote.test',
        to: [`away@${D}`],
        subject: subject('auto'),
        headers: 'Auto-Submitted: auto-generated\r\n',
      },
      { from: '', to: [`away@${D}`], subject: subject('bounce') },
      { from: 'bcc@remote.test', to: [`away@${D}`], subject: subject('bcc'), toHeader: 'someone@remote.test' },
    ];
    for (const m of cases) assert.match(await send(m), /^250 /);
    // The probe, through the same path, is answered, and so is mail to an alias of the user.
    assert.match(await send({ from: 'probe@remote.test', to: [`away@${D}`], subject: subject('probe') }), /^250 /);
    assert.match(await send({ from: 'team@remote.test', to: [`team@${D}`], subject: subject('alias') }), /^250 /);
    await eventually('the probe reply', async () => sunk('probe@remote.test')[0]);
    await eventually('the reply for mail to the alias', async () => sunk('team@remote.test')[0]);
    await queueDrained();
    for (const who of ['list', 'bulk', 'robot', 'bcc', 'MAILER-DAEMON']) {
      assert.equal(sunk(`${who.toLowerCase()}@remote.test`).length, 0, who);
    }
  });

  it('delivers the vacation reply to a local sender at once', async () => {
    const s = subject('local question');
    assert.match(await send({ from: `plain@${D}`, login: `plain@${D}`, to: [`away@${D}`], subject: s }), /^250 /);
    const reply = (await mailbox('plain', 'INBOX')).find((m) => m.subject === 'Out of office');
    assert.ok(reply);
    assert.match(reply.raw, /^Return-Path: <>\r\n/);
    assert.match(reply.raw, /\r\nAuto-Submitted: auto-replied\r\n/);
  });

  it('keeps the message in INBOX when the script does not compile or fails at run time, with a log line', async () => {
    await script('broken', 'if true {\n  fileinto "x";\n');
    await script('failing', 'require "include";\ninclude :personal "missing";');
    const a = subject('to broken');
    const b = subject('to failing');
    assert.match(await send({ from: 'alice@remote.test', to: [`broken@${D}`], subject: a }), /^250 /);
    assert.match(await send({ from: 'alice@remote.test', to: [`failing@${D}`], subject: b }), /^250 /);
    assert.deepEqual(await subjects('broken'), [a]);
    assert.deepEqual(await subjects('failing'), [b]);
    const compile = await logLine(/does not compile/, { account: `broken@${D}`, script: 'main' });
    assert.match(String(compile.error), /^line \d+ column \d+: /);
    await logLine(/failed at run time/, { account: `failing@${D}`, script: 'main' });
  });

  it('delivers user+detail to user, and the script sees the detail (RFC 5233)', async () => {
    await store.mailboxes.create(await accountId('sub'), 'News');
    await script(
      'sub',
      'require ["envelope", "subaddress", "fileinto"];\nif envelope :detail "to" "news" { fileinto "News"; }',
    );
    const news = subject('news');
    const other = subject('other detail');
    assert.match(await send({ from: 'alice@remote.test', to: [`sub+news@${D}`], subject: news }), /^250 /);
    assert.match(await send({ from: 'alice@remote.test', to: [`sub+misc@${D}`], subject: other }), /^250 /);
    assert.deepEqual(await subjects('sub', 'News'), [news]);
    assert.deepEqual(await subjects('sub'), [other]);
    // A detail on an address that is nobody is still nobody.
    const c = await LineClient.connect(pb.ports.smtp);
    assert.match(await c.reply(), /^220 /);
    await c.cmd('EHLO client.remote.test');
    await c.cmd('MAIL FROM:<alice@remote.test>');
    assert.match(await c.cmd(`RCPT TO:<nobody+news@${D}>`), /^550 5\.1\.1 /);
    c.close();
  });

  it('recognises a duplicate (RFC 7352) by its Message-ID once the first copy is stored', async () => {
    await script(
      'dup',
      'require ["duplicate", "fileinto", "mailbox"];\nif duplicate { fileinto :create "Duplicates"; }',
    );
    const s = subject('twice');
    for (let i = 0; i < 2; i++) {
      assert.match(
        await send({ from: 'alice@remote.test', to: [`dup@${D}`], subject: s, messageId: '<same@remote.test>' }),
        /^250 /,
      );
    }
    assert.deepEqual(await subjects('dup'), [s]);
    assert.deepEqual(await subjects('dup', 'Duplicates'), [s]);
  });
});
