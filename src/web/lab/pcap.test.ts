/**
 * Session → pcap, checked with tshark (Debian package tshark; CI installs it): the packets decode as
 * SMTP, POP, IMAP (and ManageSieve where tshark has its dissector), with no checksum or sequence errors, over IPv4 and IPv6, for real recorded
 * sessions too.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LineClient } from '../../../test/harness/line-client.js';
import { type PostbodeProcess, removeDir, startPostbode } from '../../../test/harness/server.js';
import { TraceRecorder } from '../../../test/harness/trace-recorder.js';
import type { Protocol, TraceEvent } from '../../trace/bus.js';
import { checksum, hasPasswords, ipBytes, sessionToPcap } from './pcap.js';

const TSHARK = '/usr/bin/tshark';
const haveTshark = spawnSync(TSHARK, ['-v'], { encoding: 'utf8' }).status === 0;
const skip = haveTshark ? false : 'tshark is not installed (apt-get install tshark); CI installs it';
/** Wireshark's ManageSieve dissector, where this tshark has one. */
const SIEVE_FILTER = 'managesieve';
const SIEVE_SKIP =
  haveTshark && !/^ManageSieve\b/im.test(spawnSync(TSHARK, ['-G', 'protocols'], { encoding: 'utf8' }).stdout)
    ? 'this tshark has no ManageSieve dissector'
    : false;

const dir = mkdtempSync(path.join(tmpdir(), 'postbode-pcap-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function tshark(file: string, args: string[]): string {
  const r = spawnSync(TSHARK, ['-r', file, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

function write(name: string, events: TraceEvent[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, sessionToPcap(events));
  return file;
}

/** No malformed packets, bad checksums or TCP sequence trouble in tshark's expert info. */
function assertClean(file: string, decodeAs: string[] = []): void {
  const expert = tshark(file, [
    '-o',
    'tcp.check_checksum:TRUE',
    '-o',
    'ip.check_checksum:TRUE',
    ...decodeAs,
    '-q',
    '-z',
    'expert,warn',
  ]);
  assert.doesNotMatch(
    expert,
    /checksum|malformed|retransmission|out-of-order|previous segment|unseen segment|lost/i,
    expert,
  );
}

function session(
  proto: Protocol,
  lines: ['in' | 'out', string][],
  o: { localPort: number; tls?: boolean; remote?: string; local?: string; listener?: string },
): TraceEvent[] {
  const events: TraceEvent[] = [
    {
      type: 'open',
      sid: 's',
      t: 1_700_000_000_000,
      proto,
      listener: o.listener ?? proto,
      remote: o.remote ?? '192.0.2.10',
      remotePort: 51000,
      local: o.local ?? '192.0.2.1',
      localPort: o.localPort,
      tls: o.tls ?? false,
    },
  ];
  // Time moves on when the direction changes: lines in one direction leave together (corked output).
  let t = 1_700_000_000_000;
  lines.forEach(([type, text], i) => {
    if (i === 0 || lines[i - 1][0] !== type) t += 20;
    events.push({ type, sid: 's', t, seq: i + 1, text });
  });
  events.push({ type: 'close', sid: 's', t: 1_700_000_001_000, seq: lines.length + 1, reason: 'closed' });
  return events;
}

const SMTP_LINES: ['in' | 'out', string][] = [
  ['out', '220 mx.example.test ESMTP ready'],
  ['in', 'EHLO client.example'],
  ['out', '250-mx.example.test Hello'],
  ['out', '250 PIPELINING'],
  ['in', 'MAIL FROM:<a@example.org>'],
  ['out', '250 2.1.0 Sender OK'],
  ['in', 'RCPT TO:<b@example.test>'],
  ['out', '250 2.1.5 Recipient OK'],
  ['in', 'DATA'],
  ['out', '354 Start mail input; end with <CRLF>.<CRLF>'],
  ['in', 'Subject: big'],
  ['in', ''],
  ...Array.from({ length: 60 }, (_, i): ['in', string] => ['in', `${String(i).padStart(3, '0')} ${'x'.repeat(70)}`]),
  ['in', '.'],
  ['out', '250 2.6.0 Queued'],
  ['in', 'QUIT'],
  ['out', '221 2.0.0 Bye'],
];

describe('pcap building blocks', () => {
  it('computes the Internet checksum (RFC 1071 example)', () => {
    // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (one's complement: 220d).
    assert.equal(checksum(Buffer.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])), 0x220d);
  });

  it('parses IPv4 and IPv6 addresses', () => {
    assert.deepEqual([...ipBytes('192.0.2.7', false)], [192, 0, 2, 7]);
    assert.equal(ipBytes('::1', true).toString('hex'), '00000000000000000000000000000001');
    assert.equal(ipBytes('2001:db8::25', true).toString('hex'), '20010db8000000000000000000000025');
    assert.equal(ipBytes('127.0.0.1', true).toString('hex'), '00000000000000000000ffff7f000001');
  });

  it('writes a classic pcap header (magic a1b2c3d4, Ethernet)', () => {
    const buf = sessionToPcap(session('smtp', SMTP_LINES, { localPort: 25 }));
    assert.equal(buf.readUInt32LE(0), 0xa1b2c3d4);
    assert.equal(buf.readUInt32LE(20), 1);
  });
});

describe('pcap from the bytes a session carried', () => {
  const open = session('imap', [], { localPort: 143 }).filter((e) => e.type !== 'close');
  const close: TraceEvent = { type: 'close', sid: 's', t: 1_700_000_002_000, seq: 9, reason: 'closed' };
  const t0 = 1_700_000_000_100;
  const wire = (text: string, dir: 'in' | 'out', t: number, secrets: [number, Buffer][] | null = null) => ({
    sessionId: 's',
    t,
    dir,
    data: Buffer.from(text, 'latin1'),
    secrets,
  });
  const chunks = [
    wire('* OK ready\r\n', 'out', t0),
    wire('a1 LOGIN ludo "****"\r\n', 'in', t0 + 20, [[15, Buffer.from('pw12')]]),
    wire('a1 OK\r\n', 'out', t0 + 40),
    wire('a2 APPEND INBOX {3000+}\r\n', 'in', t0 + 60),
    wire(`${'z'.repeat(2998)}\r\n`, 'in', t0 + 61),
    wire('\r\n', 'in', t0 + 62),
  ];
  /** The payload of every data packet, joined, from the client (true) or the server. */
  const payload = (pcap: Buffer, fromClient: boolean) => {
    const parts: Buffer[] = [];
    for (let off = 24; off < pcap.length; ) {
      const len = pcap.readUInt32LE(off + 8);
      const frame = pcap.subarray(off + 16, off + 16 + len);
      const tcp = frame.subarray(14 + 20);
      const data = tcp.subarray((tcp[12] >> 4) * 4);
      if (data.length && (tcp.readUInt16BE(2) === 143) === fromClient) parts.push(data);
      off += 16 + len;
    }
    return Buffer.concat(parts).toString('latin1');
  };

  it('writes the bytes, not the lines: literals whole, passwords masked unless asked for', () => {
    const line: TraceEvent = { type: 'in', sid: 's', t: t0, seq: 1, text: 'a2 APPEND INBOX {3000+}' };
    const lines = [...open, line, close];
    const redacted = sessionToPcap(lines, chunks);
    const client = payload(redacted, true);
    assert.equal(client, `a1 LOGIN ludo "****"\r\na2 APPEND INBOX {3000+}\r\n${'z'.repeat(2998)}\r\n\r\n`);
    assert.equal(payload(redacted, false), '* OK ready\r\na1 OK\r\n');
    const clear = payload(sessionToPcap(lines, chunks, { passwords: true }), true);
    assert.equal(clear, client.replace('"****"', '"pw12"'));
    assert.ok(hasPasswords(chunks));
    assert.equal(hasPasswords(chunks.slice(2)), false);
  });
});

describe('tshark decodes the synthesized sessions', { skip }, () => {
  it('SMTP on port 25: commands and reply codes, segments within the MSS, no errors', () => {
    const file = write('smtp.pcap', session('smtp', SMTP_LINES, { localPort: 25 }));
    const fields = tshark(file, ['-Y', 'smtp', '-T', 'fields', '-e', 'smtp.req.command', '-e', 'smtp.response.code']);
    const commands = fields
      .split('\n')
      .map((l) => l.split('\t')[0])
      .filter(Boolean);
    assert.deepEqual(commands, ['EHLO', 'MAIL', 'RCPT', 'DATA', 'QUIT']);
    const codes: string[] = fields.match(/\b(220|250|354|221)\b/g) ?? [];
    for (const code of ['220', '250', '354', '221']) assert.ok(codes.includes(code), `${code} in ${fields}`);
    const lengths = tshark(file, ['-T', 'fields', '-e', 'tcp.len']).split('\n').filter(Boolean).map(Number);
    assert.ok(Math.max(...lengths) === 1460, `the DATA burst is split at the MSS: ${lengths}`);
    const count = (filter: string) => tshark(file, ['-Y', filter]).split('\n').filter(Boolean).length;
    assert.equal(count('tcp.flags.syn == 1'), 2, 'SYN and SYN/ACK');
    assert.equal(count('tcp.flags.fin == 1'), 2, 'a FIN each way');
    assertClean(file);
  });

  it('an implicit-TLS submission session is written on port 587 and decodes as SMTP', () => {
    const file = write(
      'smtps.pcap',
      session('smtp', SMTP_LINES.slice(0, 6), { localPort: 465, tls: true, listener: 'submissions' }),
    );
    const ports = tshark(file, ['-T', 'fields', '-e', 'tcp.dstport']);
    assert.match(ports, /^587$/m);
    assert.match(tshark(file, ['-Y', 'smtp.req.command == "EHLO"']), /EHLO/);
  });

  it('a session on a non-standard port (2525) is written on the standard port and decodes without Decode As', () => {
    const file = write('smtp-2525.pcap', session('smtp', SMTP_LINES, { localPort: 2525, listener: 'smtp' }));
    assert.match(tshark(file, ['-T', 'fields', '-e', 'tcp.dstport']), /^25$/m);
    assert.doesNotMatch(tshark(file, ['-T', 'fields', '-e', 'tcp.dstport']), /^2525$/m);
    assert.match(tshark(file, ['-Y', 'smtp.req.command == "MAIL"']), /MAIL/);
  });

  it('POP3 (995 → 110) decodes as POP', () => {
    const lines: ['in' | 'out', string][] = [
      ['out', '+OK POP3 server ready'],
      ['in', 'USER ludo@example.test'],
      ['out', '+OK'],
      ['in', 'PASS <redacted>'],
      ['out', '+OK logged in'],
      ['in', 'STAT'],
      ['out', '+OK 1 120'],
      ['in', 'QUIT'],
      ['out', '+OK bye'],
    ];
    const file = write('pop3.pcap', session('pop3', lines, { localPort: 995, tls: true }));
    const commands = tshark(file, ['-Y', 'pop.request', '-T', 'fields', '-e', 'pop.request.command']);
    assert.deepEqual(commands.split('\n').filter(Boolean), ['USER', 'PASS', 'STAT', 'QUIT']);
    assertClean(file);
  });

  it('IMAP over IPv6 (993 → 143) decodes as IMAP', () => {
    const lines: ['in' | 'out', string][] = [
      ['out', '* OK [CAPABILITY IMAP4rev1] ready'],
      ['in', 'a1 LOGIN ludo@example.test <redacted>'],
      ['out', 'a1 OK LOGIN completed'],
      ['in', 'a2 SELECT INBOX'],
      ['out', '* 1 EXISTS'],
      ['out', 'a2 OK [READ-WRITE] SELECT completed'],
      ['in', 'a3 LOGOUT'],
      ['out', '* BYE'],
      ['out', 'a3 OK LOGOUT completed'],
    ];
    const file = write(
      'imap6.pcap',
      session('imap', lines, { localPort: 993, tls: true, remote: '2001:db8::10', local: '2001:db8::1' }),
    );
    assert.match(tshark(file, ['-T', 'fields', '-e', 'ipv6.src']), /2001:db8::10/);
    const commands = tshark(file, ['-Y', 'imap.request', '-T', 'fields', '-e', 'imap.request.command']);
    assert.deepEqual(
      commands
        .split('\n')
        .filter(Boolean)
        .map((c) => c.toUpperCase()),
      ['LOGIN', 'SELECT', 'LOGOUT'],
    );
    assertClean(file);
  });
});

describe('ManageSieve sessions in a pcap', () => {
  const lines: ['in' | 'out', string][] = [
    ['out', '"IMPLEMENTATION" "postbode"'],
    ['out', '"SASL" "PLAIN"'],
    ['out', 'OK "ready"'],
    ['in', 'AUTHENTICATE "PLAIN" "<redacted>"'],
    ['out', 'OK "Logged in as ludo@example.test"'],
    ['in', 'LISTSCRIPTS'],
    ['out', '"lab" ACTIVE'],
    ['out', 'OK "Listscripts completed"'],
    ['in', 'LOGOUT'],
    ['out', 'OK "Logout completed"'],
  ];

  it('are written on port 4190, whatever port the listener had', { skip }, () => {
    const file = write('managesieve.pcap', session('managesieve', lines, { localPort: 14190 }));
    const ports = tshark(file, ['-T', 'fields', '-e', 'tcp.dstport']);
    assert.match(ports, /^4190$/m);
    assert.doesNotMatch(ports, /^14190$/m);
    assertClean(file);
  });

  it('decode as ManageSieve where tshark has the dissector', { skip: skip || SIEVE_SKIP }, () => {
    const file = write('managesieve-decode.pcap', session('managesieve', lines, { localPort: 4190 }));
    const out = tshark(file, ['-Y', SIEVE_FILTER, '-T', 'fields', '-e', 'frame.number']);
    assert.ok(out.split('\n').filter(Boolean).length >= 6, out);
  });
});

describe('tshark decodes real recorded sessions', { skip }, () => {
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

  it('an SMTP session with STARTTLS is written in clear text, after the handshake too', async () => {
    const from = rec.events.length;
    const c = await LineClient.connect(pb.ports.submission);
    await c.reply();
    await c.cmd('EHLO client.example');
    await c.cmd('STARTTLS');
    await c.upgradeTls();
    await c.cmd('EHLO client.example');
    await c.cmd(`AUTH PLAIN ${Buffer.from('\0ludo@example.test\0sdf12345').toString('base64')}`);
    await c.cmd('MAIL FROM:<ludo@example.test>');
    await c.cmd('RCPT TO:<ludo@example.test>');
    await c.cmd('DATA');
    await c.cmd('Subject: pcap\r\n\r\nhello\r\n.');
    await c.cmd('QUIT');
    const events = await rec.session('submission', from);
    const file = write('real-smtp.pcap', events);
    const port = `tcp.port==${pb.ports.submission},smtp`;
    const out = tshark(file, ['-d', port, '-Y', 'smtp.req', '-T', 'fields', '-e', 'smtp.req.command']);
    // Wireshark shows STARTTLS as "STAR" (it takes the first four letters as the verb).
    assert.deepEqual(out.split('\n').filter(Boolean), ['EHLO', 'STAR', 'EHLO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT']);
    assertClean(file, ['-d', port]);
  });

  it('a real IMAP session decodes as IMAP', async () => {
    const from = rec.events.length;
    const c = await LineClient.connect(pb.ports.imap);
    await c.line();
    c.send('a1 LOGIN ludo@example.test sdf12345');
    await c.line();
    c.send('a2 LIST "" "*"');
    let line = '';
    while (!line.startsWith('a2 ')) line = await c.line();
    c.send('a3 LOGOUT');
    await c.closedByServer();
    const file = write('real-imap.pcap', await rec.session('imap', from));
    const port = `tcp.port==${pb.ports.imap},imap`;
    const out = tshark(file, ['-d', port, '-Y', 'imap.request', '-T', 'fields', '-e', 'imap.request.command']);
    assert.deepEqual(
      out
        .split('\n')
        .filter(Boolean)
        .map((c2) => c2.toUpperCase()),
      ['LOGIN', 'LIST', 'LOGOUT'],
    );
    assertClean(file, ['-d', port]);
  });
});
