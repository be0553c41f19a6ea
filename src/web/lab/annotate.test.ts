/**
 * The annotator on the committed transcripts (test/transcripts) and on sessions recorded from a real
 * server over real sockets: reply/command pairing (also pipelined), codes, states, encrypted flags.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LineClient } from '../../../test/harness/line-client.js';
import { type PostbodeProcess, ROOT, removeDir, startPostbode } from '../../../test/harness/server.js';
import { TraceRecorder } from '../../../test/harness/trace-recorder.js';
import type { Protocol, TraceEvent } from '../../trace/bus.js';
import type { AnnotatedEvent } from '../api-types.js';
import { annotateSession, createAnnotator } from './annotate.js';
import { explainEnhanced } from './codes.js';

/** A transcript file as trace events: C:/C> lines are client lines, S: lines server lines. */
function transcriptEvents(proto: Protocol, file: string): TraceEvent[] {
  const events: TraceEvent[] = [
    {
      type: 'open',
      sid: 't',
      t: 0,
      proto,
      listener: proto,
      remote: '127.0.0.1',
      remotePort: 40000,
      local: '127.0.0.1',
      localPort: 25,
      tls: false,
    },
  ];
  let seq = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const kind = line.slice(0, 2);
    const text = line.slice(3);
    if (kind === 'C:' || kind === 'C>') events.push({ type: 'in', sid: 't', t: ++seq, seq, text });
    else if (kind === 'S:') events.push({ type: 'out', sid: 't', t: ++seq, seq, text });
    else if (kind === 'S~') {
      // A pattern: a representative line is enough for the annotator (the code and the first word).
      const sample = text
        .replace(/^\^/, '')
        .replace(/\$$/, '')
        .replace(/\\(.)/g, '$1')
        .replace(/\{host\}/g, 'mx.example.test');
      events.push({ type: 'out', sid: 't', t: ++seq, seq, text: sample });
    }
  }
  return events;
}

/** What each state line of the lab shows: the state its event's annotation carries. */
function stateLines(events: AnnotatedEvent[]): (string | null | undefined)[] {
  return events.filter((e) => e.type === 'state').map((e) => e.annotation?.state);
}

function byText(events: AnnotatedEvent[], pattern: RegExp, type: 'in' | 'out' = 'out'): AnnotatedEvent {
  const found = events.find((e) => e.type === type && pattern.test(e.text));
  assert.ok(found, `no ${type} line matches ${pattern}`);
  return found;
}

/** A trace event without its session id and time (filled in with `i`). */
type Bare = { type: TraceEvent['type'] } & Record<string, unknown>;
const ev = (t: Bare, i: number): TraceEvent => ({ sid: 's', t: i, ...t }) as TraceEvent;
function session(proto: Protocol, lines: ['in' | 'out', string][], tls = false): TraceEvent[] {
  const open = ev(
    {
      type: 'open',
      proto,
      listener: proto,
      remote: '127.0.0.1',
      remotePort: 40001,
      local: '127.0.0.1',
      localPort: 25,
      tls,
    },
    0,
  );
  return [open, ...lines.map(([type, text], i) => ev({ type, text, seq: i + 1 }, i + 1))];
}

describe('enhanced status codes (RFC 3463, RFC 5248 registry)', () => {
  it('explains class, subject and detail', () => {
    assert.equal(
      explainEnhanced('5.1.1')?.text,
      'Permanent failure · Addressing status · Bad destination mailbox address',
    );
    assert.equal(
      explainEnhanced('2.6.0')?.text,
      'Success · Message content or media status · Other or undefined media error',
    );
    assert.equal(
      explainEnhanced('4.7.0')?.text.startsWith('Persistent transient failure · Security or policy status'),
      true,
    );
    assert.equal(explainEnhanced('5.7.30')?.source, 'RFC 8689');
    assert.equal(explainEnhanced('250'), null);
  });

  it('knows every registered detail code', () => {
    const ranges: [number, number, number][] = [
      [0, 0, 0],
      [1, 0, 10],
      [2, 0, 4],
      [3, 0, 6],
      [4, 0, 7],
      [5, 0, 6],
      [6, 0, 10],
      [7, 0, 30],
    ];
    for (const [subject, from, to] of ranges) {
      for (let d = from; d <= to; d++) {
        const e = explainEnhanced(`5.${subject}.${d}`);
        assert.ok(e && !e.text.includes('not in the registry'), `5.${subject}.${d}`);
      }
    }
    assert.match(explainEnhanced('5.7.31')!.text, /not in the registry/);
  });
});

describe('SMTP annotations', () => {
  it('pairs pipelined replies with their commands in order', () => {
    const out = annotateSession(
      session('smtp', [
        ['out', '220 mx.example.test ESMTP ready'],
        ['in', 'EHLO client.example'],
        ['out', '250-mx.example.test Hello client.example [127.0.0.1]'],
        ['out', '250-PIPELINING'],
        ['out', '250-SIZE 26214400'],
        ['out', '250 HELP'],
        ['in', 'MAIL FROM:<a@example.org> SIZE=100'],
        ['in', 'RCPT TO:<b@example.test>'],
        ['in', 'RCPT TO:<nobody@example.test>'],
        ['in', 'DATA'],
        ['out', '250 2.1.0 Sender <a@example.org> OK'],
        ['out', '250 2.1.5 Recipient <b@example.test> OK'],
        ['out', '550 5.1.1 No such user here'],
        ['out', '354 Start mail input; end with <CRLF>.<CRLF>'],
        ['in', 'Subject: hi'],
        ['in', ''],
        ['in', '..dot'],
        ['in', '.'],
        ['out', '250 2.6.0 <x@mx.example.test> Queued mail for delivery'],
        ['in', 'QUIT'],
        ['out', '221 2.0.0 Bye'],
      ]),
    );
    const answers = (re: RegExp) => byText(out, re).annotation?.answers;
    assert.deepEqual(answers(/^220 /), { seq: 0, command: 'CONNECT' });
    assert.deepEqual(answers(/^250-mx/), { seq: 2, command: 'EHLO' });
    assert.deepEqual(answers(/^250 HELP/), { seq: 2, command: 'EHLO' });
    assert.deepEqual(answers(/^250 2\.1\.0/), { seq: 7, command: 'MAIL' });
    assert.deepEqual(answers(/^250 2\.1\.5/), { seq: 8, command: 'RCPT' });
    assert.deepEqual(answers(/^550 /), { seq: 9, command: 'RCPT' });
    assert.deepEqual(answers(/^354 /), { seq: 10, command: 'DATA' });
    assert.deepEqual(answers(/^250 2\.6\.0/), { seq: 18, command: 'DATA' });
    assert.deepEqual(answers(/^221 /), { seq: 20, command: 'QUIT' });

    const refused = byText(out, /^550 /);
    assert.equal(refused.annotation?.code, '550');
    assert.equal(refused.annotation?.enhanced, '5.1.1');
    assert.match(
      refused.annotation?.detail ?? '',
      /Permanent failure · Addressing status · Bad destination mailbox address/,
    );
    assert.match(refused.annotation?.detail ?? '', /5yz = Permanent negative/);
    // The refused command points at the reply that explains it.
    assert.match(byText(out, /nobody/, 'in').annotation?.detail ?? '', /reply #13/);
    assert.match(byText(out, /^354 /).annotation?.summary ?? '', /end it with a line holding only "\."/);
    assert.match(byText(out, /^250-SIZE/).annotation?.summary ?? '', /^Extension SIZE 26214400: /);
    assert.match(byText(out, /^\.\.dot$/, 'in').annotation?.summary ?? '', /dot-stuffing/);
    assert.equal(byText(out, /^Subject/, 'in').annotation?.summary, 'Header field Subject');
    assert.equal(byText(out, /^221/).annotation?.rfc?.url, 'https://www.rfc-editor.org/rfc/rfc5321#section-4.2.3');

    const states = out.filter((e) => e.type === 'out').map((e) => e.annotation?.state);
    // A multi-line reply moves the state at its last line.
    assert.deepEqual(states, [
      'connected',
      'connected',
      'connected',
      'connected',
      'greeted',
      'mail transaction',
      'recipients',
      'recipients',
      'data',
      'greeted',
      'closed',
    ]);
  });

  it('follows STARTTLS and AUTH, and marks lines after TLS as encrypted', () => {
    const a = createAnnotator('smtp');
    const events = session('smtp', [
      ['out', '220 mx ESMTP'],
      ['in', 'EHLO c'],
      ['out', '250-mx Hello'],
      ['out', '250 STARTTLS'],
      ['in', 'STARTTLS'],
      ['out', '220 2.0.0 Ready to start TLS'],
    ]);
    const seen = events.map((e) => a.push(e));
    assert.equal(a.state, 'connected');
    assert.ok(seen.every((e) => !e.encrypted));
    const tls = a.push({ type: 'tls', sid: 's', t: 7, seq: 7, protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' });
    assert.equal(tls.encrypted, true);
    const more: ['in' | 'out', string][] = [
      ['in', 'EHLO c'],
      ['out', '250-mx Hello'],
      ['out', '250 AUTH PLAIN LOGIN'],
      ['in', 'AUTH LOGIN'],
      ['out', '334 VXNlcm5hbWU6'],
      ['in', '<redacted>'],
      ['out', '334 UGFzc3dvcmQ6'],
      ['in', '<redacted>'],
      ['out', '235 2.7.0 Authentication successful'],
    ];
    const after = more.map(([type, text], i) => a.push(ev({ type, text, seq: 8 + i }, 8 + i)));
    assert.ok(after.every((e) => e.encrypted));
    assert.match(after[4].annotation?.detail ?? '', /decodes to "Username:"/);
    assert.deepEqual(after[8].annotation?.answers, { seq: 11, command: 'AUTH' });
    assert.match(after[5].annotation?.summary ?? '', /SASL response/);
    assert.equal(a.state, 'authenticated');
  });

  it('annotates the committed SMTP transcript', () => {
    const out = annotateSession(transcriptEvents('smtp', path.join(ROOT, 'test/transcripts/smtp/seed.txt')));
    assert.ok(out.every((e) => e.annotation !== null));
    assert.match(byText(out, /^354/).annotation?.summary ?? '', /Go ahead/);
    assert.equal(byText(out, /^250 2\.6\.0/).annotation?.answers?.command, 'DATA');
    assert.equal(out.at(-1)?.annotation?.state, 'closed');
  });
});

describe('POP3 annotations', () => {
  it('follows AUTHORIZATION → TRANSACTION → UPDATE with multi-line responses and codes', () => {
    const out = annotateSession(
      session('pop3', [
        ['out', '+OK mx POP3 server ready <1.2@mx>'],
        ['in', 'CAPA'],
        ['out', '+OK Capability list follows'],
        ['out', 'TOP'],
        ['out', 'SASL PLAIN LOGIN'],
        ['out', '.'],
        ['in', 'USER ludo@example.test'],
        ['in', 'PASS <redacted>'],
        ['out', '+OK Password required'],
        ['out', '-ERR [AUTH] Invalid user name or password'],
        ['in', 'USER ludo@example.test'],
        ['out', '+OK'],
        ['in', 'PASS <redacted>'],
        ['out', '+OK ludo has 1 message'],
        ['in', 'LIST'],
        ['in', 'RETR 1'],
        ['out', '+OK 1 messages'],
        ['out', '1 120'],
        ['out', '.'],
        ['out', '+OK 120 octets'],
        ['out', '<message: 120 octets>'],
        ['out', '.'],
        ['in', 'DELE 1'],
        ['out', '+OK Message deleted'],
        ['in', 'QUIT'],
        ['out', '+OK bye'],
      ]),
    );
    assert.equal(byText(out, /^\+OK mx/).annotation?.answers?.command, 'connection');
    assert.match(byText(out, /^SASL/).annotation?.summary ?? '', /^Capability SASL PLAIN LOGIN: /);
    const err = byText(out, /^-ERR/);
    assert.deepEqual(err.annotation?.answers, { seq: 8, command: 'PASS' });
    assert.match(err.annotation?.detail ?? '', /\[AUTH\]: The credentials are wrong/);
    assert.equal(err.annotation?.rfc?.doc, 'RFC 3206');
    assert.equal(err.annotation?.state, 'AUTHORIZATION');
    assert.equal(byText(out, /^\+OK ludo has/).annotation?.state, 'TRANSACTION');
    // Pipelined LIST and RETR: each multi-line answer ends at its own "." line.
    assert.deepEqual(byText(out, /^1 120$/).annotation?.answers, { seq: 15, command: 'LIST' });
    assert.deepEqual(byText(out, /^\+OK 120 octets/).annotation?.answers, { seq: 16, command: 'RETR' });
    assert.match(byText(out, /^<message/).annotation?.summary ?? '', /120 octets/);
    assert.equal(out.at(-1)?.annotation?.state, 'UPDATE');
  });

  it('annotates the committed POP3 transcript', () => {
    const out = annotateSession(transcriptEvents('pop3', path.join(ROOT, 'test/transcripts/pop3/seed.txt')));
    assert.equal(byText(out, /^-ERR Message 1/).annotation?.answers?.command, 'DELE');
    assert.equal(byText(out, /^-ERR Message 1/).annotation?.state, 'TRANSACTION');
    assert.equal(out.at(-1)?.annotation?.state, 'UPDATE');
  });
});

describe('IMAP annotations', () => {
  it('pairs tagged replies by tag, explains response codes and follows the states', () => {
    const out = annotateSession(
      session('imap', [
        ['out', '* OK [CAPABILITY IMAP4rev1 IMAP4rev2 AUTH=PLAIN] mx IMAP4rev2 server ready'],
        ['in', 'a1 LOGIN ludo@example.test <redacted>'],
        ['out', 'a1 OK [CAPABILITY IMAP4rev1 IMAP4rev2 IDLE] LOGIN completed'],
        ['in', 'a2 SELECT INBOX'],
        ['in', 'a3 FETCH 1 (FLAGS)'],
        ['out', '* 1 EXISTS'],
        ['out', '* OK [UIDVALIDITY 1700000000] UIDs valid'],
        ['out', 'a2 OK [READ-WRITE] SELECT completed'],
        ['out', '* 1 FETCH (FLAGS (\\Seen) BODY[] {12}'],
        ['out', '<12 bytes>)'],
        ['out', 'a3 OK FETCH completed'],
        ['in', 'a4 COPY 1 Nowhere'],
        ['out', 'a4 NO [TRYCREATE] Mailbox does not exist'],
        ['in', 'a5 IDLE'],
        ['out', '+ idling'],
        ['out', '* 2 EXISTS'],
        ['in', 'DONE'],
        ['out', 'a5 OK IDLE terminated'],
        ['in', 'a6 LOGOUT'],
        ['out', '* BYE logging out'],
        ['out', 'a6 OK LOGOUT completed'],
      ]),
    );
    assert.equal(byText(out, /^\* OK \[CAPABILITY/).annotation?.state, 'not authenticated');
    assert.equal(byText(out, /^a1 OK/).annotation?.state, 'authenticated');
    assert.deepEqual(byText(out, /^a2 OK/).annotation?.answers, { seq: 4, command: 'SELECT' });
    assert.equal(byText(out, /^a2 OK/).annotation?.state, 'selected');
    assert.match(byText(out, /^a2 OK/).annotation?.summary ?? '', /read-write/);
    assert.match(byText(out, /UIDVALIDITY/).annotation?.detail ?? '', /UID validity/);
    assert.match(byText(out, /^\* 1 EXISTS/).annotation?.summary ?? '', /holds 1 messages/);
    assert.equal(byText(out, /^<12 bytes>/).annotation?.summary, 'Literal data, then the rest of the response');
    assert.deepEqual(byText(out, /^a3 OK/).annotation?.answers, { seq: 5, command: 'FETCH' });
    const no = byText(out, /^a4 NO/);
    assert.equal(no.annotation?.code, 'NO');
    assert.match(no.annotation?.detail ?? '', /TRYCREATE.*CREATE it/);
    assert.match(byText(out, /^a4 COPY/, 'in').annotation?.detail ?? '', /reply #13/);
    assert.match(byText(out, /^\+ idling/).annotation?.summary ?? '', /IDLE is running/);
    assert.match(byText(out, /^DONE$/, 'in').annotation?.summary ?? '', /ends IDLE/);
    assert.deepEqual(byText(out, /^a5 OK/).annotation?.answers, { seq: 14, command: 'IDLE' });
    assert.equal(out.at(-1)?.annotation?.state, 'logout');
    assert.equal(
      byText(out, /^a6 LOGOUT/, 'in').annotation?.rfc?.url,
      'https://www.rfc-editor.org/rfc/rfc9051#section-6.1.3',
    );
  });

  it('reads a client literal as data, not as commands', () => {
    const out = annotateSession(
      session('imap', [
        ['out', '* OK ready'],
        ['out', '+ Ready for literal data'],
        ['in', 'a1 APPEND INBOX {23}'],
        ['in', 'Subject: x'],
        ['in', ''],
        ['in', 'a9 NOOP'],
        ['out', 'a1 OK [APPENDUID 1 5] APPEND completed'],
      ]),
    );
    assert.match(byText(out, /^a9 NOOP/, 'in').annotation?.summary ?? '', /^Literal data|^End of the literal/);
    assert.deepEqual(byText(out, /^a1 OK/).annotation?.answers, { seq: 3, command: 'APPEND' });
  });

  it('annotates the committed IMAP transcripts without losing a tag', () => {
    const dir = path.join(ROOT, 'test/transcripts/imap');
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.txt'))) {
      const out = annotateSession(transcriptEvents('imap', path.join(dir, name)));
      for (const e of out) {
        const tagged = /^(\w+) (OK|NO|BAD) /.exec(e.text);
        if (e.type === 'out' && tagged && tagged[1] !== '*') {
          assert.ok(e.annotation?.answers, `${name}: "${e.text}" answers no command`);
          const cmd = out.find((c) => c.seq === e.annotation?.answers?.seq);
          assert.ok(cmd?.text.startsWith(`${tagged[1]} `), `${name}: "${e.text}" paired with "${cmd?.text}"`);
        }
      }
    }
  });
});

describe('real sessions through a real server', () => {
  let pb: PostbodeProcess;
  let rec: TraceRecorder;
  before(async () => {
    pb = await startPostbode();
    assert.equal(pb.cli(['user', 'add', 'ludo@example.test', '--password', 'sdf12345']).code, 0);
    rec = await TraceRecorder.attach(pb.dataDir);
  });
  after(async () => {
    rec.close();
    await pb.stop();
    removeDir(pb.dataDir);
  });

  it('SMTP with PIPELINING: every reply answers the right command', async () => {
    const from = rec.events.length;
    const c = await LineClient.connect(pb.ports.smtp);
    await c.reply();
    await c.cmd('EHLO client.example');
    c.write('MAIL FROM:<a@example.org>\r\nRCPT TO:<ludo@example.test>\r\nRCPT TO:<nobody@example.test>\r\nDATA\r\n');
    for (let i = 0; i < 4; i++) await c.reply();
    c.write('Subject: lab\r\n\r\nhello\r\n.\r\nQUIT\r\n');
    await c.reply();
    await c.reply();
    await c.closedByServer();
    const out = annotateSession(await rec.session('smtp', from));
    assert.deepEqual(byText(out, /^550 5\.1\.1/).annotation?.answers?.command, 'RCPT');
    assert.equal(
      out.find((e) => e.seq === byText(out, /^550 5\.1\.1/).annotation?.answers?.seq)?.text,
      'RCPT TO:<nobody@example.test>',
    );
    assert.equal(byText(out, /^354 /).annotation?.answers?.command, 'DATA');
    assert.equal(byText(out, /^250 2\.6\.0/).annotation?.state, 'greeted');
    assert.ok(out.every((e) => !e.encrypted));
    assert.equal(out.find((e) => e.type === 'close')?.annotation?.state, 'closed');
    assert.deepEqual(stateLines(out), ['connected', 'greeted', 'mail transaction', 'data', 'greeted']);
  });

  it('SMTP with STARTTLS: lines after the handshake are marked encrypted', async () => {
    const from = rec.events.length;
    const c = await LineClient.connect(pb.ports.submission);
    await c.reply();
    await c.cmd('EHLO client.example');
    assert.match(await c.cmd('STARTTLS'), /^220/);
    await c.upgradeTls();
    await c.cmd('EHLO client.example');
    const auth = await c.cmd(`AUTH PLAIN ${Buffer.from('\0ludo@example.test\0sdf12345').toString('base64')}`);
    assert.match(auth, /^235/);
    await c.cmd('QUIT');
    const out = annotateSession(await rec.session('submission', from));
    const tlsAt = out.findIndex((e) => e.type === 'tls');
    assert.ok(tlsAt > 0);
    assert.ok(out.slice(0, tlsAt).every((e) => !e.encrypted));
    assert.ok(out.slice(tlsAt).every((e) => e.encrypted));
    assert.equal(byText(out, /^235/).annotation?.state, 'authenticated');
    assert.equal(byText(out, /^AUTH PLAIN/, 'in').text.includes('sdf12345'), false);
    assert.deepEqual(stateLines(out), ['connected', 'greeted', 'connected', 'greeted', 'authenticated']);
  });

  it('POP3 on the implicit-TLS port: every line encrypted, states followed', async () => {
    const from = rec.events.length;
    const c = await LineClient.connect(pb.ports.pop3s, { tls: true });
    await c.line();
    await c.cmd('USER ludo@example.test');
    assert.match(await c.cmd('PASS sdf12345'), /^\+OK/);
    c.send('UIDL');
    await c.line();
    await c.multiline();
    await c.cmd('QUIT');
    const out = annotateSession(await rec.session('pop3s', from));
    assert.ok(out.every((e) => e.encrypted));
    assert.equal(byText(out, /^\+OK ludo/).annotation?.state, 'TRANSACTION');
    assert.equal(byText(out, /^\.$/).annotation?.answers?.command, 'UIDL');
    assert.equal(out.filter((e) => e.type === 'out').at(-1)?.annotation?.state, 'UPDATE');
    // Each state line shows the state after the change (PASS → TRANSACTION, QUIT → UPDATE).
    assert.deepEqual(stateLines(out), ['AUTHORIZATION', 'TRANSACTION', 'UPDATE']);
  });

  it('IMAP: tagged replies pair with their tags, literals and IDLE are followed', async () => {
    const from = rec.events.length;
    const c = await LineClient.connect(pb.ports.imap);
    await c.line();
    c.send('a1 LOGIN ludo@example.test sdf12345');
    assert.match(await c.line(), /^a1 OK/);
    c.send('a2 APPEND INBOX {25}');
    assert.match(await c.line(), /^\+ /);
    c.write('Subject: appended\r\n\r\nhi\r\n');
    c.send('');
    assert.match(await c.line(), /^a2 OK/);
    c.send('a3 SELECT INBOX');
    c.send('a4 FETCH 1 (FLAGS)');
    let line = '';
    while (!line.startsWith('a4 ')) line = await c.line();
    c.send('a5 IDLE');
    assert.match(await c.line(), /^\+ idling/);
    c.send('DONE');
    assert.match(await c.line(), /^a5 OK/);
    c.send('a6 BOGUS');
    await c.line();
    c.send('a7 LOGOUT');
    await c.closedByServer();
    const out = annotateSession(await rec.session('imap', from));
    for (const e of out) {
      const tagged = /^(a\d) (OK|NO|BAD)/.exec(e.text);
      if (e.type !== 'out' || !tagged) continue;
      const cmd = out.find((c2) => c2.seq === e.annotation?.answers?.seq);
      assert.ok(cmd?.text.startsWith(`${tagged[1]} `), `"${e.text}" paired with "${cmd?.text}"`);
    }
    assert.equal(byText(out, /^a1 OK/).annotation?.state, 'authenticated');
    assert.equal(byText(out, /^a3 OK/).annotation?.state, 'selected');
    assert.match(byText(out, /^Subject: appended/, 'in').annotation?.summary ?? '', /Literal/);
    assert.equal(byText(out, /^a6 BAD/).annotation?.code, 'BAD');
    assert.match(byText(out, /^a6 BOGUS/, 'in').annotation?.detail ?? '', /refused it/);
    assert.equal(out.filter((e) => e.type === 'out').at(-1)?.annotation?.state, 'logout');
    // Each state line shows the state after the change (LOGIN → authenticated, not the state before).
    assert.deepEqual(stateLines(out), ['not authenticated', 'authenticated', 'selected', 'logout']);
  });
});
