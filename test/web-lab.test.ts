/**
 * The protocol lab, mail browser and queue API against a real server process with the http listener:
 * real SMTP sessions over sockets appear in /api/sessions with annotations, live over SSE, exported as
 * text and as a pcap that tshark decodes; the TLS key log of a real implicit-TLS session equals the
 * client's own and decrypts a real capture; the mail browser shows a delivered message and downloads
 * its attachment decoded; users see only their own sessions and mail; history survives a restart.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { LineClient } from './harness/line-client.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';
import { SseReader } from './harness/sse-reader.js';
import { Api } from './harness/web-api-client.js';

const ADMIN_PASSWORD = 'teach-me-42';
const ALICE = 'alice@example.test';
const ALICE_PASSWORD = 'alice-pw-7';
const BOB = 'bob@example.test';
const BOB_PASSWORD = 'bob-pw-9';
const ATTACHMENT = 'Grüße aus dem Labor\nline two\n';
const LISTENERS = ['smtp', 'submission', 'submissions', 'imap', 'pop3', 'http'];

const tmp = mkdtempSync(path.join(tmpdir(), 'postbode-web-lab-'));

function hasTshark(): boolean {
  return spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;
}

interface Summary {
  id: string;
  proto: string;
  remotePort: number;
  user: string | null;
  tls: boolean;
  active: boolean;
  state: string;
  closeReason: string | null;
  keyLogged: boolean;
}
interface Annotated {
  seq: number;
  type: string;
  text: string;
  encrypted: boolean;
  annotation: { code: string | null; summary: string; answers: { command: string } | null } | null;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A message with a base64 attachment, CRLF, dot-safe. */
function messageWithAttachment(subject: string): string {
  return [
    `From: ${BOB}`,
    `To: ${ALICE}`,
    `Subject: ${subject}`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'See the attachment.',
    '--b1',
    'Content-Type: text/plain; charset=utf-8; name="gruesse.txt"',
    'Content-Transfer-Encoding: base64',
    "Content-Disposition: attachment; filename*=utf-8''Gr%C3%BC%C3%9Fe.txt",
    '',
    b64(ATTACHMENT),
    '--b1--',
    '',
  ].join('\r\n');
}

/** A whole SMTP dialogue on port 25; returns the client's local port (the session's remote port). */
async function smtpDelivery(port: number, subject: string): Promise<number> {
  const c = await LineClient.connect(port);
  try {
    assert.match(await c.reply(), /^220 /);
    assert.match(await c.cmd('EHLO lab.example.test'), /^250/);
    assert.match(await c.cmd(`MAIL FROM:<${BOB}>`), /^250/);
    assert.match(await c.cmd(`RCPT TO:<${ALICE}>`), /^250/);
    assert.match(await c.cmd('DATA'), /^354/);
    c.write(`${messageWithAttachment(subject)}.\r\n`);
    assert.match(await c.reply(), /^250/);
    assert.match(await c.cmd('QUIT'), /^221/);
    return c.socket.localPort ?? 0;
  } finally {
    c.close();
  }
}

async function eventually<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('web lab API', () => {
  let pb: PostbodeProcess;
  let base: string;
  let admin: Api;
  let alice: Api;
  let bob: Api;
  let deliverySid = '';

  const findSession = (api: Api, localPort: number) =>
    eventually(`the session from port ${localPort}`, async () => {
      const { sessions } = await api.json<{ sessions: Summary[] }>('GET', '/api/sessions?limit=50');
      return sessions.find((s) => s.remotePort === localPort && !s.active);
    });

  before(async () => {
    pb = await startPostbode({ listeners: LISTENERS });
    base = `http://127.0.0.1:${pb.ports.http}`;
    for (const args of [
      ['admin', 'add', 'teacher', '--password', ADMIN_PASSWORD],
      ['user', 'add', ALICE, '--password', ALICE_PASSWORD],
      ['user', 'add', BOB, '--password', BOB_PASSWORD],
    ]) {
      const r = pb.cli(args);
      assert.equal(r.code, 0, r.stderr);
    }
    admin = await Api.login(base, 'teacher', ADMIN_PASSWORD);
    alice = await Api.login(base, ALICE, ALICE_PASSWORD);
    bob = await Api.login(base, BOB, BOB_PASSWORD);
  });

  after(async () => {
    await pb?.stop();
    if (pb) removeDir(pb.dataDir);
    removeDir(tmp);
  });

  it('lists a real SMTP session with an annotated transcript and text export', async () => {
    const port = await smtpDelivery(pb.ports.smtp, 'lab one');
    const summary = await findSession(admin, port);
    deliverySid = summary.id;
    assert.equal(summary.proto, 'smtp');
    assert.equal(summary.user, null);
    assert.equal(summary.closeReason, 'closed');

    const detail = await admin.json<{ session: Summary; events: Annotated[] }>('GET', `/api/sessions/${summary.id}`);
    assert.equal(detail.session.id, summary.id);
    assert.equal(detail.events[0].type, 'open');
    const rcptReply = detail.events.find((e) => e.type === 'out' && e.annotation?.answers?.command.startsWith('RCPT'));
    assert.ok(rcptReply, 'the reply to RCPT is annotated with the command it answers');
    assert.equal(rcptReply.annotation?.code, '250');
    assert.ok(detail.events.some((e) => e.type === 'in' && e.text === 'EHLO lab.example.test'));

    const res = await admin.req('GET', `/api/sessions/${summary.id}/transcript.txt`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /C: MAIL FROM:<bob@example\.test>/);
    assert.match(text, /S: 354 /);
    assert.match(text, /-- closed: closed/);

    const filtered = await admin.json<{ sessions: Summary[] }>('GET', '/api/sessions?proto=pop3');
    assert.ok(!filtered.sessions.some((s) => s.id === summary.id));
    await admin.json('GET', '/api/sessions?proto=gopher', undefined, 400);
    await admin.json('GET', '/api/sessions/no-such-session', undefined, 404);
  });

  it('shows a message sent with DATA as its header and first body lines, then one note on the rest', async () => {
    const body = Array.from({ length: 40 }, (_, i) => (i === 2 ? '.starts with a dot' : `body line ${i + 1}`));
    const message = [`From: ${BOB}`, `To: ${ALICE}`, 'Subject: long', '', ...body, ''].join('\r\n');
    const c = await LineClient.connect(pb.ports.smtp);
    const port = c.socket.localPort ?? 0;
    try {
      await c.reply();
      await c.cmd('EHLO lab.example.test');
      await c.cmd(`MAIL FROM:<${BOB}>`);
      await c.cmd(`RCPT TO:<${ALICE}>`);
      assert.match(await c.cmd('DATA'), /^354/);
      c.write(`${message.replace(/^\./gm, '..')}.\r\n`);
      assert.match(await c.reply(), /^250/);
      await c.cmd('QUIT');
    } finally {
      c.close();
    }
    const summary = await findSession(admin, port);
    const { events } = await admin.json<{ events: Annotated[] }>('GET', `/api/sessions/${summary.id}`);
    const from = events.findIndex((e) => e.type === 'out' && e.text.startsWith('354'));
    const to = events.findIndex((e, i) => i > from && e.type === 'in' && e.text === '.');
    assert.ok(from > 0 && to > from, 'the DATA exchange is in the transcript');
    const shown = events
      .slice(from + 1, to)
      .filter((e) => e.type === 'in' || e.type === 'note')
      .map((e) => `${e.type} ${e.text}`);
    assert.deepEqual(shown, [
      `in From: ${BOB}`,
      `in To: ${ALICE}`,
      'in Subject: long',
      'in ',
      'in body line 1',
      'in body line 2',
      'in ..starts with a dot',
      ...[4, 5, 6, 7, 8, 9, 10].map((n) => `in body line ${n}`),
      // 30 lines of "body line NN" and CRLF, 14 bytes each
      'note … 30 more lines, 420 bytes (not shown)',
    ]);
  });

  it('exports a pcap that tshark decodes as SMTP', {
    skip: hasTshark() ? false : 'tshark is not installed',
  }, async () => {
    const res = await admin.req('GET', `/api/sessions/${deliverySid}/capture.pcap`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition') ?? '', /attachment; filename=".*\.pcap"/);
    const file = path.join(tmp, 'session.pcap');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    // The export writes the smtp listener's standard port (25), so no Decode As is needed although
    // the test server listens on an ephemeral port.
    const r = spawnSync('tshark', ['-r', file, '-Y', 'smtp', '-T', 'fields', '-e', 'smtp.req.command'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const commands = r.stdout.split('\n').filter(Boolean);
    for (const verb of ['EHLO', 'MAIL', 'RCPT', 'DATA', 'QUIT'])
      assert.ok(commands.includes(verb), `${verb} in ${commands}`);
  });

  it('explains every capability, including the IMAP extensions listed only after login', async () => {
    type Cap = { keyword: string; rfc: string; summary: string };
    const caps = await alice.json<Record<'smtp' | 'pop3' | 'imap', Cap[]>>('GET', '/api/capabilities');
    for (const keyword of ['PIPELINING', 'STARTTLS', 'ENHANCEDSTATUSCODES'])
      assert.ok(
        caps.smtp.some((c) => c.keyword.startsWith(keyword)),
        `${keyword} in EHLO`,
      );
    assert.ok(caps.pop3.some((c) => c.keyword === 'UIDL'));
    const imap = new Map(caps.imap.map((c) => [c.keyword, c]));
    for (const keyword of ['IMAP4rev2', 'IDLE', 'MOVE', 'CONDSTORE', 'QRESYNC'])
      assert.ok(imap.has(keyword), `${keyword} in the IMAP list`);
    assert.equal(imap.get('MOVE')?.rfc, 'RFC 6851');
  });

  it('streams sessions and one session live over SSE, with annotations, until it ends', async () => {
    const list = await SseReader.open(admin, '/api/sessions/stream', 5000);
    const c = await LineClient.connect(pb.ports.smtp);
    try {
      await c.reply();
      const port = c.socket.localPort;
      const opened = await list.next<Summary>('session', (s) => s.remotePort === port && s.active);
      const live = await SseReader.open(admin, `/api/sessions/${opened.id}/stream`, 5000);
      const greeting = await live.next<Annotated>('event', (e) => e.type === 'out');
      assert.match(greeting.text, /^220 /);
      assert.equal(greeting.annotation?.code, '220');
      assert.match(await c.cmd('NOOP'), /^250/);
      await live.next<Annotated>('event', (e) => e.type === 'in' && e.text === 'NOOP');
      const ok = await live.next<Annotated>('event', (e) => e.type === 'out' && e.text.startsWith('250'));
      assert.equal(ok.annotation?.answers?.command, 'NOOP');
      await c.cmd('QUIT');
      await live.next('end');
      await list.next<Summary>('session', (s) => s.id === opened.id && !s.active);
      await eventually('the stream to end', async () => live.ended);
      live.close();
    } finally {
      c.close();
      list.close();
    }
  });

  it('shows an IMAP session in IDLE whole once its lines have left memory: transcript, live stream, capture', async () => {
    const c = await LineClient.connect(pb.ports.imap);
    try {
      const until = async (tag: string) => {
        for (;;) {
          const line = await c.line();
          if (line.startsWith(`${tag} `)) return line;
        }
      };
      assert.match(await c.line(), /^\* OK /);
      c.send(`a1 LOGIN ${ALICE} ${ALICE_PASSWORD}`);
      assert.match(await until('a1'), /^a1 OK/);
      c.send('a2 SELECT INBOX');
      assert.match(await until('a2'), /^a2 OK/);
      c.send('a3 IDLE');
      assert.equal(await c.line(), '+ idling');
      const port = c.socket.localPort;
      const { sessions } = await alice.json<{ sessions: Summary[] }>('GET', '/api/sessions?proto=imap&active=1');
      const id = sessions.find((s) => s.remotePort === port)?.id ?? '';
      const texts = async () => {
        const r = await alice.json<{ events: Annotated[] }>('GET', `/api/sessions/${id}`);
        return r.events.map((e) => `${e.seq} ${e.type} ${e.text}`);
      };
      const shown = await eventually('the IDLE continuation in the transcript', async () => {
        const t = await texts();
        return t.some((l) => l.endsWith('out + idling')) && t;
      });
      const capture = await alice.json<{ bytes: number }>('GET', `/api/sessions/${id}/capture`);
      // Nothing else is live in this server now: once the history has the session, memory holds none of it.
      // (`postbode status` is a process of its own: a few polls a second at most.)
      await eventually(
        'the session to leave memory',
        async () => /web lab: 1 live sessions holding 0 events and 0 bytes of capture/.test(pb.cli(['status']).stdout),
        15_000,
      );
      assert.deepEqual(await texts(), shown);
      assert.deepEqual(await alice.json<{ bytes: number }>('GET', `/api/sessions/${id}/capture`), capture);
      const live = await SseReader.open(alice, `/api/sessions/${id}/stream`, 5000);
      for (const line of shown) {
        const seq = Number(line.split(' ')[0]);
        await live.next<Annotated>('event', (e) => e.seq === seq);
      }
      c.send('DONE');
      assert.match(await until('a3'), /^a3 OK/);
      const done = await live.next<Annotated>('event', (e) => e.type === 'out' && e.text.startsWith('a3 OK'));
      assert.equal(done.annotation?.answers?.command, 'IDLE');
      assert.equal(live.seen<Annotated>('event').length, shown.length + 2);
      live.close();
      const transcript = await (await alice.req('GET', `/api/sessions/${id}/transcript.txt`)).text();
      assert.match(transcript, /C: a1 LOGIN alice@example\.test <redacted>/);
      assert.match(transcript, /C: DONE/);
    } finally {
      c.close();
    }
  });

  it('shows a user only their sessions: those they logged in to, and port-25 ones that name them', async () => {
    const c = await LineClient.connect(pb.ports.submission);
    let port = 0;
    try {
      await c.reply();
      await c.cmd('EHLO alice-laptop');
      assert.match(await c.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0${ALICE_PASSWORD}`)}`), /^235/);
      await c.cmd('QUIT');
      port = c.socket.localPort ?? 0;
    } finally {
      c.close();
    }
    const own = await findSession(alice, port);
    assert.equal(own.user, ALICE);
    const detail = await alice.json<{ events: Annotated[] }>('GET', `/api/sessions/${own.id}`);
    assert.ok(
      detail.events.some((e) => e.text === 'AUTH PLAIN <redacted>'),
      'the secret is redacted',
    );
    assert.ok(!JSON.stringify(detail).includes(ALICE_PASSWORD));

    const bobs = await bob.json<{ sessions: Summary[] }>('GET', '/api/sessions');
    assert.ok(!bobs.sessions.some((s) => s.id === own.id));
    // The port-25 delivery names Bob in its MAIL FROM: without a login, it is his to see (access.ts).
    assert.ok(bobs.sessions.some((s) => s.id === deliverySid && s.user === null));
    await bob.json('GET', `/api/sessions/${deliverySid}`);
    await bob.json('GET', `/api/sessions/${own.id}`, undefined, 403);
    await bob.json('GET', `/api/sessions/${own.id}/transcript.txt`, undefined, 403);
    await bob.json('GET', `/api/sessions/${own.id}/capture.pcap`, undefined, 403);
    await alice.json('GET', `/api/sessions/${deliverySid}`, undefined, 403);
    const alices = await alice.json<{ sessions: Summary[] }>('GET', '/api/sessions');
    assert.ok(alices.sessions.every((s) => s.user === ALICE));
    await new Api(base).json('GET', '/api/sessions', undefined, 401);
  });

  it('browses a delivered message and downloads its attachment decoded', async () => {
    const { mailboxes } = await alice.json<{ mailboxes: { id: number; name: string; messages: number }[] }>(
      'GET',
      '/api/mail/me/mailboxes',
    );
    const inbox = mailboxes.find((m) => m.name === 'INBOX');
    assert.ok(inbox && inbox.messages >= 1);
    const list = await alice.json<{ total: number; messages: { uid: number; subject: string; from: string }[] }>(
      'GET',
      `/api/mail/me/mailboxes/${inbox.id}/messages`,
    );
    const msg = list.messages.find((m) => m.subject === 'lab one');
    assert.ok(msg, JSON.stringify(list));
    assert.equal(msg.from, BOB);

    const detail = await alice.json<{
      headers: { name: string; value: string }[];
      mime: { type: string; children: { part: string; filename: string | null; type: string }[] };
    }>('GET', `/api/mail/${ALICE}/mailboxes/${inbox.id}/messages/${msg.uid}`);
    assert.ok(detail.headers.some((h) => h.name.toLowerCase() === 'subject' && h.value === 'lab one'));
    assert.equal(detail.mime.type, 'multipart/mixed');
    const att = detail.mime.children.find((p) => p.filename === 'Grüße.txt');
    assert.ok(att, JSON.stringify(detail.mime));
    assert.equal(att.part, '2');

    const res = await alice.req('GET', `/api/mail/me/mailboxes/${inbox.id}/messages/${msg.uid}/parts/2`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), ATTACHMENT);
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment; .*filename\*=UTF-8''Gr%C3%BC%C3%9Fe\.txt/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');

    const raw = await alice.req('GET', `/api/mail/me/mailboxes/${inbox.id}/messages/${msg.uid}/raw`);
    assert.match(await raw.text(), /Subject: lab one\r\n/);
    // An admin may read any account; another user may not, not even by mailbox id.
    await admin.json('GET', `/api/mail/${ALICE}/mailboxes/${inbox.id}/messages/${msg.uid}`);
    await bob.json('GET', `/api/mail/${ALICE}/mailboxes`, undefined, 403);
    await bob.json('GET', `/api/mail/me/mailboxes/${inbox.id}/messages`, undefined, 404);
    await alice.json('GET', `/api/mail/me/mailboxes/${inbox.id}/messages/${msg.uid}/parts/9`, undefined, 404);
  });

  it('key-logs a TLS session for admins only; its lines equal the client key log', async () => {
    await alice.json('PUT', '/api/keylog', { enabled: true }, 403);
    assert.deepEqual((await admin.json<{ enabled: boolean }>('GET', '/api/keylog')).enabled, false);
    await admin.json('PUT', '/api/keylog', { enabled: true });
    const capture = hasTshark() && process.getuid?.() === 0 ? await startCapture(pb.ports.submissions) : null;
    const clientLines: string[] = [];
    let port = 0;
    const socket = tls.connect({ port: pb.ports.submissions, host: '127.0.0.1', rejectUnauthorized: false });
    socket.on('keylog', (line: Buffer) => clientLines.push(line.toString('latin1').trimEnd()));
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    port = socket.localPort ?? 0;
    const dialogue = await smtpDialogue(socket, ['EHLO secret-laptop', `MAIL FROM:<${ALICE}>`, 'QUIT']);
    assert.match(dialogue.at(-1) ?? '', /^221 /);
    await admin.json('PUT', '/api/keylog', { enabled: false });

    const summary = await findSession(admin, port);
    assert.equal(summary.keyLogged, true);
    assert.equal(summary.tls, true);
    const res = await admin.req('GET', `/api/sessions/${summary.id}/keylog.txt`);
    assert.equal(res.status, 200);
    const text = await res.text();
    const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
    for (const line of lines) assert.match(line, /^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]{32,}$/);
    assert.deepEqual([...lines].sort(), [...clientLines].sort());
    assert.match(text, /secrecy|decrypt|read it/);
    const detail = await admin.json<{ events: Annotated[] }>('GET', `/api/sessions/${summary.id}`);
    assert.ok(detail.events.some((e) => e.type === 'note' && /key log/i.test(e.text)));
    assert.ok(detail.events.some((e) => e.type === 'in' && e.text === 'EHLO secret-laptop' && e.encrypted));
    await alice.json('GET', `/api/sessions/${summary.id}/keylog.txt`, undefined, 403);
    await admin.json('GET', `/api/sessions/${deliverySid}/keylog.txt`, undefined, 404);

    if (capture) {
      const keys = path.join(tmp, 'keys.txt');
      writeFileSync(keys, text);
      const file = await capture.stop();
      const r = spawnSync(
        'tshark',
        [
          '-r',
          file,
          // An ephemeral port: tell tshark it is TLS carrying SMTP (465 would be recognised by itself).
          '-d',
          `tcp.port==${pb.ports.submissions},tls`,
          '-d',
          `tls.port==${pb.ports.submissions},smtp`,
          '-o',
          `tls.keylog_file:${keys}`,
          '-Y',
          'smtp',
          '-T',
          'fields',
          '-e',
          'smtp.req.command',
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      const commands = r.stdout.split('\n').filter(Boolean);
      assert.deepEqual(commands, ['EHLO', 'MAIL', 'QUIT'], 'the key log decrypts the real capture');
    }
  });

  it('shows the outbound queue to admins: retry and delete', async () => {
    const c = await LineClient.connect(pb.ports.submission);
    try {
      await c.reply();
      await c.cmd('EHLO alice-laptop');
      await c.cmd(`AUTH PLAIN ${b64(`\0${ALICE}\0${ALICE_PASSWORD}`)}`);
      await c.cmd(`MAIL FROM:<${ALICE}>`);
      assert.match(await c.cmd('RCPT TO:<someone@remote.example>'), /^250/);
      await c.cmd('DATA');
      c.write(`From: ${ALICE}\r\nTo: someone@remote.example\r\nSubject: out\r\n\r\nhi\r\n.\r\n`);
      assert.match(await c.reply(), /^250/);
      await c.cmd('QUIT');
    } finally {
      c.close();
    }
    interface Entry {
      id: number;
      envelopeFrom: string;
      nextAttemptAt: number;
      recipients: { address: string; state: string }[];
    }
    const { entries } = await admin.json<{ entries: Entry[] }>('GET', '/api/queue');
    const entry = entries.find((e) => e.recipients.some((r) => r.address === 'someone@remote.example'));
    assert.ok(entry, JSON.stringify(entries));
    assert.equal(entry.envelopeFrom, ALICE);
    assert.equal(typeof entry.nextAttemptAt, 'number');
    await alice.json('GET', '/api/queue', undefined, 403);
    await alice.json('DELETE', `/api/queue/${entry.id}`, undefined, 403);
    assert.equal((await admin.req('POST', `/api/queue/${entry.id}/retry`)).status, 204);
    assert.equal((await admin.req('DELETE', `/api/queue/${entry.id}`)).status, 204);
    await admin.json('DELETE', `/api/queue/${entry.id}`, undefined, 404);
  });

  it('keeps the history across a restart', async () => {
    const before = await admin.json<{ events: Annotated[] }>('GET', `/api/sessions/${deliverySid}`);
    await pb.stop();
    pb = await startPostbode({ listeners: LISTENERS, dataDir: pb.dataDir });
    base = `http://127.0.0.1:${pb.ports.http}`;
    admin = await Api.login(base, 'teacher', ADMIN_PASSWORD);
    const after = await admin.json<{ session: Summary; events: Annotated[] }>('GET', `/api/sessions/${deliverySid}`);
    assert.equal(after.session.active, false);
    assert.deepEqual(
      after.events.map((e) => [e.seq, e.type, e.text]),
      before.events.map((e) => [e.seq, e.type, e.text]),
    );
    const { sessions } = await admin.json<{ sessions: Summary[] }>('GET', '/api/sessions?limit=1000');
    assert.ok(sessions.some((s) => s.id === deliverySid));
  });
});

/** Reads the greeting, then sends each command and reads its reply; returns the last line of each reply. */
async function smtpDialogue(socket: tls.TLSSocket, commands: string[]): Promise<string[]> {
  let buf = '';
  let wake: (() => void) | null = null;
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => {
    buf += d;
    wake?.();
  });
  const reply = async (): Promise<string> => {
    const until = Date.now() + 5000;
    for (;;) {
      const m = /(?:^|\n)(\d{3} [^\r\n]*)\r?\n/.exec(buf);
      if (m) {
        buf = buf.slice((m.index ?? 0) + m[0].length);
        return m[1];
      }
      if (Date.now() > until) throw new Error(`no SMTP reply; buffered ${JSON.stringify(buf)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };
  const out = [await reply()];
  for (const command of commands) {
    socket.write(`${command}\r\n`);
    out.push(await reply());
  }
  socket.end();
  return out;
}

/** A real capture on the loopback interface with tshark, for one TCP port. */
async function startCapture(port: number): Promise<{ stop: () => Promise<string> } | null> {
  const file = path.join(tmp, `real-${port}.pcapng`);
  const child: ChildProcess = spawn('tshark', ['-i', 'lo', '-f', `tcp port ${port}`, '-w', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 10_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (/Capturing on/.test(err)) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  // "Capturing on" comes a moment before packets are really taken: knock on the port until the file
  // shows the knock, so the session's handshake is not lost.
  const armed = ready && (await knockUntilCaptured(port, file));
  if (!armed) {
    child.kill('SIGKILL');
    return null;
  }
  return {
    async stop() {
      // The session's last packets are in the file once a knock after them is: tshark writes in order.
      await knockUntilCaptured(port, file);
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGINT');
      await exited;
      return file;
    },
  };
}

async function knockUntilCaptured(port: number, file: string): Promise<boolean> {
  const size = () => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  };
  const empty = size();
  for (let i = 0; i < 50; i++) {
    await new Promise<void>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => {
        s.destroy();
        resolve();
      });
      s.on('error', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 100)); // poll interval of a bounded wait for the file to grow
    if (size() > empty) return true;
  }
  return false;
}
