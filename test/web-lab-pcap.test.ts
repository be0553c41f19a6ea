/**
 * The lab's capture.pcap carries every byte of real sessions (issue 12 item 1): IMAP literals both
 * ways (APPEND, FETCH BODY[]), POP3 multi-line replies, RETR and TOP (with no expert line), SMTP DATA past the transcript's
 * 200 lines, AUTH/AUTHENTICATE and STARTTLS, ManageSieve's AUTHENTICATE and PUTSCRIPT, each exported through the API and decoded by
 * `tshark -V` with no malformed packet and the right fields. Passwords are masked at the same length
 * by default; an admin gets them with ?passwords=1 only for cleartext sessions and only with
 * lab.capture_passwords; a capture over lab.capture_bytes is cut with a note and still decodes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LineClient } from './harness/line-client.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';
import { Api } from './harness/web-api-client.js';

const TSHARK = 'tshark';
const skip = spawnSync(TSHARK, ['--version']).status === 0 ? false : 'tshark is not installed (CI installs it)';
const ADMIN_PASSWORD = 'teach-me-42';
const LUDO = 'ludo@example.test';
const LUDO_PASSWORD = 'sdf12345-secret';
const LISTENERS = ['smtp', 'submission', 'imap', 'pop3', 'managesieve', 'http'];

const tmp = mkdtempSync(path.join(tmpdir(), 'postbode-web-pcap-'));
after(() => removeDir(tmp));

interface Summary {
  id: string;
  remotePort: number;
  active: boolean;
}

/** Polls until `fn` gives a value (the recorder writes in batches), within `ms`. */
async function eventually<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 8000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function tshark(file: string, args: string[]): string {
  const r = spawnSync(TSHARK, ['-r', file, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const stderr = r.stderr.replace(/^Running as user .*\n/m, '');
  assert.equal(stderr, '', 'tshark reports no error');
  return r.stdout;
}

/**
 * `tshark -V` on the whole file: no malformed packet, no expert warning about TCP or checksums.
 * `tolerated`: expert lines Wireshark gives for the server's own replies (see the POP3 test).
 */
function assertDecodes(file: string, tolerated?: RegExp): string {
  const verbose = tshark(file, ['-V', '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE']);
  assert.doesNotMatch(verbose, /Malformed Packet|Exception occurred|Dissector bug/i);
  let expert = tshark(file, ['-q', '-z', 'expert,warn', '-o', 'tcp.check_checksum:TRUE']);
  if (tolerated) expert = expert.replace(tolerated, '');
  assert.doesNotMatch(
    expert,
    /checksum|malformed|retransmission|out-of-order|previous segment|unseen segment|lost/i,
    expert,
  );
  return verbose;
}

function fields(file: string, filter: string, ...names: string[]): string[][] {
  const out = tshark(file, ['-Y', filter, '-T', 'fields', ...names.flatMap((n) => ['-e', n])]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t'));
}

/** The TCP payload of one direction as tshark reads it, joined (`toServer`: the client's bytes). */
function stream(file: string, toServer: boolean): Buffer {
  const rows = fields(file, 'tcp.len > 0', 'tcp.dstport', 'tcp.srcport', 'tcp.payload');
  const serverPort = Number(fields(file, 'tcp.flags.syn == 1 && tcp.flags.ack == 0', 'tcp.dstport')[0][0]);
  return Buffer.concat(
    rows
      .filter((r) => (Number(r[0]) === serverPort) === toServer)
      .map((r) => Buffer.from(r[2].replaceAll(':', ''), 'hex')),
  );
}

const MESSAGE = (subject: string, lines: number) =>
  `From: <${LUDO}>\r\nTo: <${LUDO}>\r\nSubject: ${subject}\r\n\r\n` +
  Array.from({ length: lines }, (_, i) => `line ${String(i).padStart(4, '0')} ${'y'.repeat(60)}\r\n`).join('');

describe('capture.pcap carries every byte', { skip }, () => {
  let pb: PostbodeProcess;
  let base: string;
  let admin: Api;
  let ludo: Api;

  const sessionFrom = (clientPort: number) =>
    eventually(`the session from port ${clientPort}`, async () => {
      const { sessions } = await admin.json<{ sessions: Summary[] }>('GET', '/api/sessions?limit=50');
      return sessions.find((s) => s.remotePort === clientPort && !s.active);
    });

  const download = async (api: Api, id: string, query = '', expect = 200): Promise<{ file: string; bytes: Buffer }> => {
    const res = await api.req('GET', `/api/sessions/${id}/capture.pcap${query}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(res.status, expect, bytes.toString());
    const file = path.join(tmp, `${id}${query ? '-pw' : ''}.pcap`);
    writeFileSync(file, bytes);
    if (expect === 200) {
      assert.equal(res.headers.get('x-capture-form'), query ? 'passwords' : 'redacted');
    }
    return { file, bytes };
  };

  before(async () => {
    pb = await startPostbode({ listeners: LISTENERS, extraArgs: ['--set', 'lab.capture_passwords=true'] });
    base = `http://127.0.0.1:${pb.ports.http}`;
    for (const args of [
      ['admin', 'add', 'teacher', '--password', ADMIN_PASSWORD],
      ['user', 'add', LUDO, '--password', LUDO_PASSWORD],
    ]) {
      const r = pb.cli(args);
      assert.equal(r.code, 0, r.stderr);
    }
    admin = await Api.login(base, 'teacher', ADMIN_PASSWORD);
    ludo = await Api.login(base, LUDO, LUDO_PASSWORD);
  });

  after(async () => {
    await pb?.stop();
    if (pb) removeDir(pb.dataDir);
  });

  it('SMTP: AUTH PLAIN masked, the whole DATA (past 200 lines) decoded as a message', async () => {
    const c = await LineClient.connect(pb.ports.submission);
    await c.reply();
    await c.cmd('EHLO client.example');
    const plain = Buffer.from(`\0${LUDO}\0${LUDO_PASSWORD}`).toString('base64');
    assert.match(await c.cmd(`AUTH PLAIN ${plain}`), /^235/);
    await c.cmd(`MAIL FROM:<${LUDO}>`);
    await c.cmd(`RCPT TO:<${LUDO}>`);
    assert.match(await c.cmd('DATA'), /^354/);
    c.write(`${MESSAGE('smtp pcap', 300)}.\r\n`);
    assert.match(await c.reply(), /^250/);
    await c.cmd('QUIT');
    const s = await sessionFrom(c.socket.localPort ?? 0);
    const { file, bytes } = await download(admin, s.id);
    assertDecodes(file);
    assert.deepEqual(
      fields(file, 'smtp.req', 'smtp.req.command').map((f) => f[0]),
      ['EHLO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT'],
    );
    assert.deepEqual(fields(file, 'imf', 'imf.subject'), [['smtp pcap']]);
    assert.ok(stream(file, true).includes(`${MESSAGE('smtp pcap', 300)}.\r\n`), 'the whole message is in the capture');
    assert.ok(!bytes.includes(plain), 'the AUTH response is masked by default');
    const stars = (s: string) => s.replace(/[^\0]/g, '*');
    const maskedPlain = Buffer.from(stars(`\0${LUDO}\0${LUDO_PASSWORD}`)).toString('base64');
    assert.ok(bytes.includes(`AUTH PLAIN ${maskedPlain}\r\n`), 'masked at the same length, PLAIN still PLAIN');
    const auth = (f: string) =>
      tshark(f, [
        '-o',
        'smtp.decryption:TRUE',
        '-Y',
        'smtp.auth.password',
        '-T',
        'fields',
        '-e',
        'smtp.auth.username',
        '-e',
        'smtp.auth.password',
      ]).trim();
    assert.equal(auth(file), `${stars(LUDO)}\t${stars(LUDO_PASSWORD)}`);
    const real = await download(admin, s.id, '?passwords=1');
    assert.ok(real.bytes.includes(plain), 'the admin gets the real AUTH response');
    assert.equal(real.bytes.length, bytes.length);
    assertDecodes(real.file);
    assert.equal(auth(real.file), `${LUDO}\t${LUDO_PASSWORD}`);
    // A student, even the session's own user, gets the redacted form only.
    await download(ludo, s.id, '?passwords=1', 403);
  });

  it('IMAP: LOGIN masked, APPEND and FETCH BODY[] literals carried whole, tags parse', async () => {
    const c = await LineClient.connect(pb.ports.imap);
    const port = c.socket.localPort ?? 0;
    await c.line();
    c.send(`a1 LOGIN ${LUDO} "${LUDO_PASSWORD}"`);
    assert.match(await c.line(), /^a1 OK/);
    const message = MESSAGE('imap pcap', 40);
    c.send(`a2 APPEND INBOX {${message.length}}`);
    assert.match(await c.line(), /^\+/);
    c.write(`${message}\r\n`);
    let line = '';
    while (!line.startsWith('a2 ')) line = await c.line();
    assert.match(line, /^a2 OK/);
    c.send('a3 SELECT INBOX');
    while (!line.startsWith('a3 ')) line = await c.line();
    c.send('a4 FETCH 1:* (UID BODY.PEEK[])');
    while (!line.startsWith('a4 ')) line = await c.line();
    c.send('a5 LOGOUT');
    await c.closedByServer();
    const s = await sessionFrom(port);
    const { file, bytes } = await download(admin, s.id);
    const verbose = assertDecodes(file);
    assert.doesNotMatch(verbose, /Tag: (ETCH|ine|ubject)/, 'no literal content read as a tag');
    // Every command with its own tag. (Wireshark 4.0 does not follow a literal the client sends after
    // a continuation: it shows the APPEND literal's lines as requests, as in a live capture.)
    const requests = fields(file, 'imap.request', 'imap.request_tag', 'imap.request.command').map(
      (f) => `${f[0].split(',')[0]} ${f[1].split(',')[0].toUpperCase()}`,
    );
    for (const r of ['a1 LOGIN', 'a2 APPEND', 'a3 SELECT', 'a4 FETCH', 'a5 LOGOUT']) {
      assert.ok(requests.includes(r), `${r} in ${requests}`);
    }
    // Responses: each FETCH literal is taken whole, so the only tags are the commands', `*` and `+`,
    // and `)`, which Wireshark shows as the tag of the line that closes a FETCH after its literal.
    const responseTags = new Set(
      fields(file, 'imap.response', 'imap.response_tag').flatMap((f) => f[0].split(',').filter(Boolean)),
    );
    for (const tag of responseTags) assert.match(tag, /^(a[1-5]|\*|\+|\))$/, `response tag ${tag}`);
    assert.ok(responseTags.has('a4') && responseTags.has('a5'));
    assert.ok(stream(file, true).includes(`{${message.length}}\r\n${message}\r\n`), 'the APPEND literal is whole');
    assert.ok(stream(file, false).includes(`{${message.length}}\r\n${message})\r\n`), 'and the FETCH literal');
    assert.ok(!bytes.includes(LUDO_PASSWORD));
    assert.ok(bytes.includes(`a1 LOGIN ${LUDO} "${'*'.repeat(LUDO_PASSWORD.length)}"`));
    assert.deepEqual(fields(file, 'imap.request.password', 'imap.request.password'), [
      ['*'.repeat(LUDO_PASSWORD.length)],
    ]);
    const real = await download(admin, s.id, '?passwords=1');
    assert.ok(real.bytes.includes(`"${LUDO_PASSWORD}"`));
    assertDecodes(real.file);
  });

  it('IMAP: AUTHENTICATE PLAIN by continuation is masked; after STARTTLS nothing is kept', async () => {
    const c = await LineClient.connect(pb.ports.imap);
    const port = c.socket.localPort ?? 0;
    await c.line();
    c.send('t1 AUTHENTICATE PLAIN');
    assert.match(await c.line(), /^\+/);
    const plain = Buffer.from(`\0${LUDO}\0${LUDO_PASSWORD}`).toString('base64');
    c.send(plain);
    assert.match(await c.line(), /^t1 OK/);
    c.send('t2 LOGOUT');
    await c.closedByServer();
    const s = await sessionFrom(port);
    const { file, bytes } = await download(admin, s.id);
    assertDecodes(file);
    assert.ok(!bytes.includes(plain));
    assert.ok((await download(admin, s.id, '?passwords=1')).bytes.includes(plain));

    const t = await LineClient.connect(pb.ports.imap);
    const tport = t.socket.localPort ?? 0;
    await t.line();
    t.send('s1 STARTTLS');
    assert.match(await t.line(), /^s1 OK/);
    await t.upgradeTls();
    t.send(`s2 LOGIN ${LUDO} ${LUDO_PASSWORD}`);
    assert.match(await t.line(), /^s2 OK/);
    t.send('s3 LOGOUT');
    await t.closedByServer();
    const ts = await sessionFrom(tport);
    const tls = await download(admin, ts.id);
    assertDecodes(tls.file);
    assert.ok(
      tls.bytes.includes(`s2 LOGIN ${LUDO} ${'x'.repeat(LUDO_PASSWORD.length)}`),
      'after TLS, in clear, masked',
    );
    const info = await admin.json<{ passwords: boolean }>('GET', `/api/sessions/${ts.id}/capture`);
    assert.equal(info.passwords, false);
    await download(admin, ts.id, '?passwords=1', 403);
  });

  it('ManageSieve: AUTHENTICATE masked, the PUTSCRIPT literal whole, port 4190; the user sees it annotated', async () => {
    const c = await LineClient.connect(pb.ports.managesieve);
    const port = c.socket.localPort ?? 0;
    const final = async () => {
      for (;;) {
        const line = await c.line();
        if (/^(OK|NO|BYE)\b/.test(line)) return line;
      }
    };
    await final();
    const plain = Buffer.from(`\0${LUDO}\0${LUDO_PASSWORD}`).toString('base64');
    c.send(`AUTHENTICATE "PLAIN" "${plain}"`);
    assert.match(await final(), /^OK/);
    const script = 'require "fileinto";\r\nif exists "list-id" { fileinto "Lists"; }\r\n';
    c.write(`PUTSCRIPT "lists" {${Buffer.byteLength(script)}+}\r\n${script}\r\n`);
    assert.match(await final(), /^OK/);
    c.send('SETACTIVE "lists"');
    assert.match(await final(), /^OK/);
    c.send('LOGOUT');
    await final();
    await c.closedByServer();
    const s = await sessionFrom(port);
    const { file, bytes } = await download(admin, s.id);
    assertDecodes(file);
    assert.ok(!bytes.includes(plain), 'the SASL response is masked');
    assert.ok(
      bytes.includes(
        `AUTHENTICATE "PLAIN" "${Buffer.from(`\0${'*'.repeat(LUDO.length)}\0${'*'.repeat(LUDO_PASSWORD.length)}`).toString('base64')}"`,
      ),
    );
    assert.ok(bytes.includes(script), 'the script is carried whole');
    assert.ok((await download(admin, s.id, '?passwords=1')).bytes.includes(plain));
    assert.deepEqual(
      fields(file, 'tcp.flags.syn == 1 && tcp.flags.ack == 0', 'tcp.dstport').map((f) => f[0]),
      ['4190'],
    );
    assert.ok(stream(file, true).includes(script));

    // The user sees their own ManageSieve session, explained.
    const mine = await ludo.json<{ sessions: { id: string; proto: string; user: string | null }[] }>(
      'GET',
      '/api/sessions?proto=managesieve',
    );
    const listed = mine.sessions.find((x) => x.id === s.id);
    assert.equal(listed?.proto, 'managesieve');
    assert.equal(listed?.user, LUDO);
    const { events } = await ludo.json<{
      events: { type: string; text: string; annotation: { summary: string; state: string | null } | null }[];
    }>('GET', `/api/sessions/${s.id}`);
    const put = events.find((e) => e.type === 'in' && e.text.startsWith('PUTSCRIPT'));
    assert.match(put?.annotation?.summary ?? '', /^PUTSCRIPT: Uploads a script/);
    const active = events.find((e) => e.type === 'out' && /is active/.test(e.text));
    assert.match(active?.annotation?.summary ?? '', /"lists" is the active script/);
    assert.equal(active?.annotation?.state, 'authenticated');
    assert.ok(events.every((e) => !e.text.includes(plain)));
  });

  it('POP3: PASS masked, LIST and UIDL multi-line, RETR and TOP bodies whole', async () => {
    const c = await LineClient.connect(pb.ports.pop3);
    await c.line();
    await c.cmd(`USER ${LUDO}`);
    assert.match(await c.cmd(`PASS ${LUDO_PASSWORD}`), /^\+OK/);
    c.send('LIST');
    await c.line();
    const list = await c.multiline();
    c.send('UIDL');
    await c.line();
    await c.multiline();
    c.send('RETR 1');
    await c.line();
    const body = await c.multiline();
    c.send('TOP 1 2');
    const topOk = await c.line();
    const top = await c.multiline();
    c.send('TOP 1 300'); // the whole message: several TCP segments
    const longOk = await c.line();
    const long = await c.multiline();
    await c.cmd('QUIT');
    assert.ok(list.length >= 1 && body.length > 10);
    const octets = (lines: string[]) => Buffer.byteLength(`${lines.join('\r\n')}\r\n`);
    assert.equal(topOk, `+OK ${octets(top)} octets`, 'TOP says the size of what follows, as RETR does');
    assert.equal(longOk, `+OK ${octets(long)} octets`);
    const s = await sessionFrom(c.socket.localPort ?? 0);
    const { file, bytes } = await download(admin, s.id);
    // No expert line at all: Wireshark reads the first word after a RETR's or TOP's +OK as the length
    // to reassemble; when it was not a number (`+OK Top of message 1 follows`, before) it flagged the
    // reply `Malformed: Length must be a string containing an integer` and dissected each later segment
    // of the body alone, as if it were a whole message.
    assertDecodes(file);
    assert.deepEqual(fields(file, 'imf', 'frame.number'), [], 'no segment of a body is taken for a message');
    assert.deepEqual(
      fields(file, 'pop.request', 'pop.request.command').map((f) => f[0]),
      ['USER', 'PASS', 'LIST', 'UIDL', 'RETR', 'TOP', 'TOP', 'QUIT'],
    );
    assert.deepEqual(fields(file, 'pop.request.command == "PASS"', 'pop.request.parameter'), [
      ['*'.repeat(LUDO_PASSWORD.length)],
    ]);
    const server = stream(file, false).toString('latin1');
    assert.ok(server.includes(`octets\r\n${body.join('\r\n')}\r\n.\r\n`), 'the RETR body whole');
    assert.ok(server.includes(`${topOk}\r\n${body.slice(0, body.indexOf('') + 3).join('\r\n')}\r\n.\r\n`), 'TOP 1 2');
    assert.ok(server.includes(`${longOk}\r\n${body.join('\r\n')}\r\n.\r\n`), 'TOP 1 300: the whole message');
    assert.ok(!bytes.includes(LUDO_PASSWORD));
    const real = await download(admin, s.id, '?passwords=1');
    assert.ok(real.bytes.includes(`PASS ${LUDO_PASSWORD}\r\n`));
    assert.deepEqual(fields(real.file, 'pop.request.command == "PASS"', 'pop.request.parameter'), [[LUDO_PASSWORD]]);
  });
});

describe('capture.pcap defaults and the byte cap', { skip }, () => {
  let pb: PostbodeProcess;
  let admin: Api;

  before(async () => {
    pb = await startPostbode({ listeners: ['smtp', 'http'], extraArgs: ['--set', 'lab.capture_bytes=4096'] });
    for (const args of [
      ['admin', 'add', 'teacher', '--password', ADMIN_PASSWORD],
      ['user', 'add', LUDO, '--password', LUDO_PASSWORD],
    ]) {
      const r = pb.cli(args);
      assert.equal(r.code, 0, r.stderr);
    }
    admin = await Api.login(`http://127.0.0.1:${pb.ports.http}`, 'teacher', ADMIN_PASSWORD);
  });

  after(async () => {
    await pb?.stop();
    if (pb) removeDir(pb.dataDir);
  });

  it('cuts the capture at lab.capture_bytes with a note; it still decodes; no passwords by default', async () => {
    const c = await LineClient.connect(pb.ports.smtp);
    await c.reply();
    await c.cmd('EHLO client.example');
    await c.cmd(`AUTH PLAIN ${Buffer.from('\0x\0y').toString('base64')}`);
    await c.cmd(`MAIL FROM:<${LUDO}>`);
    await c.cmd(`RCPT TO:<${LUDO}>`);
    assert.match(await c.cmd('DATA'), /^354/);
    c.write(`${MESSAGE('cut', 200)}.\r\n`);
    assert.match(await c.reply(), /^250/);
    await c.cmd('QUIT');
    const port = c.socket.localPort ?? 0;
    const s = await eventually('the session', async () => {
      const { sessions } = await admin.json<{ sessions: Summary[] }>('GET', '/api/sessions?limit=50');
      return sessions.find((x) => x.remotePort === port && !x.active);
    });
    const detail = await admin.json<{ events: { type: string; text: string }[] }>('GET', `/api/sessions/${s.id}`);
    assert.ok(
      detail.events.some((e) => e.type === 'note' && /^capture cut after \d+ bytes: lab\.capture_bytes/.test(e.text)),
      'a note says where the capture was cut',
    );
    const info = await admin.json<{ bytes: number; cut: boolean; passwords: boolean }>(
      'GET',
      `/api/sessions/${s.id}/capture`,
    );
    assert.equal(info.cut, true);
    assert.ok(info.bytes < 4096 && info.bytes > 2048, `${info.bytes} bytes kept`);
    assert.equal(info.passwords, false, 'lab.capture_passwords is off by default');
    const res = await admin.req('GET', `/api/sessions/${s.id}/capture.pcap`);
    const file = path.join(tmp, 'cut.pcap');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    assertDecodes(file);
    assert.ok(fields(file, 'smtp.req', 'smtp.req.command').some((f) => f[0] === 'DATA'));
    const pw = await admin.req('GET', `/api/sessions/${s.id}/capture.pcap?passwords=1`);
    assert.equal(pw.status, 403);
  });
});
