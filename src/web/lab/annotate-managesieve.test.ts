/**
 * The ManageSieve annotator (RFC 5804): greeting and capabilities, STARTTLS and the capabilities sent
 * again after it, AUTHENTICATE with a challenge, literals read as data, response codes, states; on
 * made-up sessions and on a real session through a real server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LineClient } from '../../../test/harness/line-client.js';
import { type PostbodeProcess, removeDir, startPostbode } from '../../../test/harness/server.js';
import { TraceRecorder } from '../../../test/harness/trace-recorder.js';
import type { TraceEvent } from '../../trace/bus.js';
import type { AnnotatedEvent } from '../api-types.js';
import { annotateSession } from './annotate.js';
import { strings } from './annotate-managesieve.js';

type Line = ['in' | 'out', string] | ['tls'] | ['state', string];

function session(lines: Line[]): TraceEvent[] {
  const events: TraceEvent[] = [
    {
      type: 'open',
      sid: 's',
      t: 0,
      proto: 'managesieve',
      listener: 'managesieve',
      remote: '127.0.0.1',
      remotePort: 40001,
      local: '127.0.0.1',
      localPort: 4190,
      tls: false,
    },
  ];
  lines.forEach((l, i) => {
    const base = { sid: 's', t: i + 1, seq: i + 1 };
    if (l[0] === 'tls') events.push({ ...base, type: 'tls', protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' });
    else if (l[0] === 'state') events.push({ ...base, type: 'state', state: l[1] });
    else events.push({ ...base, type: l[0], text: l[1] });
  });
  return events;
}

function byText(events: AnnotatedEvent[], pattern: RegExp, type: 'in' | 'out' = 'out', nth = 0): AnnotatedEvent {
  const found = events.filter((e) => e.type === type && pattern.test(e.text))[nth];
  assert.ok(found, `no ${type} line matches ${pattern}`);
  return found;
}

const GREETING: Line[] = [
  ['out', '"IMPLEMENTATION" "postbode 0.1.0"'],
  ['out', '"SASL" ""'],
  ['out', '"SIEVE" "fileinto vacation imap4flags"'],
  ['out', '"STARTTLS"'],
  ['out', '"VERSION" "1.0"'],
  ['out', 'OK "postbode ManageSieve ready."'],
];

describe('ManageSieve annotations', () => {
  it('reads the greeting as capabilities, follows STARTTLS, AUTHENTICATE and the script commands', () => {
    const out = annotateSession(
      session([
        ...GREETING,
        ['in', 'AUTHENTICATE "PLAIN" "<hidden>"'],
        ['out', 'NO (ENCRYPT-NEEDED) "Use STARTTLS first."'],
        ['in', 'STARTTLS'],
        ['out', 'OK "Begin TLS negotiation now."'],
        ['tls'],
        ['out', '"IMPLEMENTATION" "postbode 0.1.0"'],
        ['out', '"SASL" "PLAIN"'],
        ['out', 'OK "TLS negotiation successful."'],
        ['in', 'AUTHENTICATE "PLAIN"'],
        ['out', '""'],
        ['in', '"<hidden>"'],
        ['out', 'OK "Logged in."'],
        ['state', 'authenticated'],
        ['in', 'PUTSCRIPT "vacation" {28+}'],
        ['in', 'require "vacation";'],
        ['in', 'keep;'],
        ['in', ''],
        ['out', 'NO "line 2, column 1: keep;"'],
        ['in', 'PUTSCRIPT "x" {7+}'],
        ['in', 'keep;'],
        ['out', 'OK'],
        ['in', 'SETACTIVE "x"'],
        ['out', 'OK'],
        ['in', 'LISTSCRIPTS'],
        ['out', '"x" ACTIVE'],
        ['out', '"old"'],
        ['out', 'OK "Listscripts completed."'],
        ['in', 'GETSCRIPT "x"'],
        ['out', '{7}'],
        ['out', 'keep;'],
        ['out', ''],
        ['out', 'OK "Getscript completed."'],
        ['in', 'DELETESCRIPT "x"'],
        ['out', 'NO (ACTIVE) "You may not delete an active script"'],
        ['in', 'NOOP "t1"'],
        ['out', 'OK (TAG "t1") "Done"'],
        ['in', 'UNAUTHENTICATE'],
        ['out', 'OK'],
        ['in', 'LOGOUT'],
        ['out', 'OK "Logout completed."'],
      ]),
    );
    assert.deepEqual(byText(out, /^"SIEVE"/).annotation?.answers, { seq: 0, command: 'connection' });
    assert.match(byText(out, /^"SIEVE"/).annotation?.summary ?? '', /^Capability SIEVE: /);
    assert.match(byText(out, /^"SIEVE"/).annotation?.detail ?? '', /3 extensions/);
    assert.match(byText(out, /^OK "postbode ManageSieve ready/).annotation?.summary ?? '', /greeting/);

    const needTls = byText(out, /ENCRYPT-NEEDED/);
    assert.deepEqual(needTls.annotation?.answers, { seq: 7, command: 'AUTHENTICATE' });
    assert.equal(needTls.annotation?.code, 'NO');
    assert.match(needTls.annotation?.detail ?? '', /send STARTTLS first/);
    assert.equal(needTls.annotation?.rfc?.doc, 'RFC 5804');

    // RFC 5804 §2.2: the capabilities after the handshake belong to STARTTLS.
    const again = byText(out, /^"SASL" "PLAIN"/);
    assert.deepEqual(again.annotation?.answers, { seq: 9, command: 'STARTTLS' });
    assert.equal(again.encrypted, true);
    assert.match(byText(out, /TLS negotiation successful/).annotation?.summary ?? '', /after TLS/);

    const challenge = byText(out, /^""$/);
    assert.equal(challenge.annotation?.code, 'challenge');
    assert.match(byText(out, /^"<hidden>"$/, 'in').annotation?.summary ?? '', /SASL response/);
    assert.equal(byText(out, /Logged in/).annotation?.state, 'authenticated');

    // The literal's lines are data, not commands, and the error names its line.
    assert.match(byText(out, /^keep;$/, 'in').annotation?.summary ?? '', /literal/i);
    assert.match(byText(out, /^require/, 'in').annotation?.summary ?? '', /Literal data/);
    const refused = byText(out, /^NO "line 2/);
    assert.deepEqual(refused.annotation?.answers, { seq: 20, command: 'PUTSCRIPT' });
    assert.match(refused.annotation?.detail ?? '', /line 2, column 1/);
    const put = out.find((e) => e.seq === 20);
    assert.match(put?.annotation?.detail ?? '', /reply #24/);
    assert.deepEqual(byText(out, /^OK$/, 'out', 0).annotation?.answers, { seq: 25, command: 'PUTSCRIPT' });
    assert.match(byText(out, /^OK$/, 'out', 1).annotation?.summary ?? '', /"x" is the active script/);

    assert.match(byText(out, /^"x" ACTIVE/).annotation?.summary ?? '', /the active one/);
    assert.match(byText(out, /^\{7\}/).annotation?.summary ?? '', /script follows as a literal of 7 octets/);
    assert.deepEqual(byText(out, /Getscript completed/).annotation?.answers, { seq: 34, command: 'GETSCRIPT' });
    assert.match(byText(out, /\(ACTIVE\)/).annotation?.detail ?? '', /active one/);
    assert.match(byText(out, /\(TAG "t1"\)/).annotation?.detail ?? '', /tag the client gave NOOP/);
    assert.equal(byText(out, /^OK$/, 'out', 2).annotation?.state, 'non-authenticated');
    assert.equal(out.at(-1)?.annotation?.state, 'logout');
  });

  it('an unknown command, a BYE and a cancelled exchange are explained, never thrown', () => {
    const out = annotateSession(
      session([
        ...GREETING,
        ['in', 'FROBNICATE'],
        ['out', 'NO "Unknown command."'],
        ['in', 'CHECKSCRIPT {8+}'],
        ['in', 'kep;'],
        ['in', ' x'],
        ['out', 'NO {71}'],
        ['out', 'line 1, column 1: unknown command "kep"'],
        ['out', 'line 2, column 3: expected ";"'],
        ['in', 'NOOP'],
        ['out', 'OK "NOOP completed"'],
        ['in', 'AUTHENTICATE "PLAIN"'],
        ['out', '""'],
        ['in', '"*"'],
        ['out', 'NO "Authentication cancelled."'],
        ['out', 'BYE "Disconnected for inactivity."'],
      ]),
    );
    assert.match(byText(out, /FROBNICATE/, 'in').annotation?.summary ?? '', /not a ManageSieve command/);
    assert.match(byText(out, /^NO \{/).annotation?.detail ?? '', /literal of 71 octets/);
    const first = byText(out, /^line 1, column 1/);
    assert.equal(first.annotation?.summary, 'Error at line 1, column 1: unknown command "kep"');
    assert.deepEqual(first.annotation?.answers, { seq: 9, command: 'CHECKSCRIPT' });
    assert.match(byText(out, /^line 2, column 3/).annotation?.summary ?? '', /^Error at line 2, column 3/);
    assert.deepEqual(byText(out, /NOOP completed/).annotation?.answers, { seq: 15, command: 'NOOP' });
    assert.match(byText(out, /^"\*"$/, 'in').annotation?.summary ?? '', /Cancels AUTHENTICATE/);
    const bye = byText(out, /^BYE/);
    assert.equal(bye.annotation?.code, 'BYE');
    assert.equal(bye.annotation?.state, 'logout');
    assert.match(bye.annotation?.detail ?? '', /without being asked/);
  });

  it('splits ManageSieve strings', () => {
    assert.deepEqual(strings('"SIEVE" "fileinto vacation"'), ['SIEVE', 'fileinto vacation']);
    assert.deepEqual(strings('"a\\"b" ACTIVE'), ['a"b', 'ACTIVE']);
    assert.deepEqual(strings('"" {12+}'), ['', '{12+}']);
  });
});

describe('a real ManageSieve session through a real server', () => {
  let pb: PostbodeProcess;
  let rec: TraceRecorder;
  before(async () => {
    pb = await startPostbode({ listeners: ['managesieve'] });
    assert.equal(pb.cli(['user', 'add', 'ludo@example.test', '--password', 'sdf12345']).code, 0);
    rec = await TraceRecorder.attach(pb.dataDir);
  });
  after(async () => {
    rec.close();
    await pb.stop();
    removeDir(pb.dataDir);
  });

  /** Lines up to and including the final OK/NO/BYE. */
  async function response(c: LineClient): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const line = await c.line();
      lines.push(line);
      if (/^(OK|NO|BYE)\b/.test(line)) return lines;
    }
  }

  it('STARTTLS, AUTHENTICATE, PUTSCRIPT (refused and stored), SETACTIVE, LISTSCRIPTS, GETSCRIPT, LOGOUT', async () => {
    const from = rec.events.length;
    const c = await LineClient.connect(pb.ports.managesieve);
    const greeting = await response(c);
    assert.ok(
      greeting.some((l) => l === '"STARTTLS"'),
      greeting.join('\n'),
    );
    c.send('STARTTLS');
    assert.match((await response(c)).at(-1) ?? '', /^OK/);
    await c.upgradeTls();
    await response(c); // the capabilities again (RFC 5804 §2.2)
    c.send(`AUTHENTICATE "PLAIN" "${Buffer.from('\0ludo@example.test\0sdf12345').toString('base64')}"`);
    assert.match((await response(c)).at(-1) ?? '', /^OK/);
    c.write('PUTSCRIPT "bad" {10+}\r\nfrobnicate\r\n');
    assert.match((await response(c)).at(-1) ?? '', /^NO/);
    c.write('PUTSCRIPT "t" {7+}\r\nkeep;\r\n\r\n');
    assert.match((await response(c)).at(-1) ?? '', /^OK/);
    c.send('SETACTIVE "t"');
    await response(c);
    c.send('LISTSCRIPTS');
    await response(c);
    c.send('GETSCRIPT "t"');
    await response(c);
    c.send('LOGOUT');
    await response(c);
    await c.closedByServer();

    const out = annotateSession(await rec.session('managesieve', from));
    const unknown = out.filter((e) => e.type === 'out' && /not known to the lab/.test(e.annotation?.summary ?? ''));
    assert.deepEqual(
      unknown.map((e) => e.text),
      [],
      'every capability has an entry in capabilities.ts',
    );
    const tlsAt = out.findIndex((e) => e.type === 'tls');
    assert.ok(tlsAt > 0);
    assert.ok(out.slice(tlsAt).every((e) => e.encrypted));
    const again = out.slice(tlsAt).find((e) => e.type === 'out');
    assert.equal(again?.annotation?.answers?.command, 'STARTTLS');
    const login = out.find((e) => e.type === 'out' && e.annotation?.answers?.command === 'AUTHENTICATE');
    assert.equal(login?.annotation?.code, 'OK');
    assert.equal(login?.annotation?.state, 'authenticated');
    assert.ok(out.every((e) => !e.text.includes('sdf12345') && !e.text.includes('AGx1ZG9')));
    const refused = out.find((e) => e.type === 'out' && e.annotation?.code === 'NO');
    assert.equal(refused?.annotation?.answers?.command, 'PUTSCRIPT');
    assert.match(`${refused?.text} ${refused?.annotation?.detail}`, /line 1/);
    const stored = out.filter((e) => e.type === 'out' && e.annotation?.answers?.command === 'PUTSCRIPT').at(-1);
    assert.match(stored?.annotation?.summary ?? '', /Script "t" stored/);
    assert.match(byText(out, /^"t" ACTIVE/).annotation?.summary ?? '', /the active one/);
    assert.match(byText(out, /^\{7\}$/).annotation?.summary ?? '', /script follows/);
    const commands = out
      .filter((e) => e.type === 'in' && e.annotation?.summary.includes(': '))
      .map((e) => e.text.split(' ')[0]);
    assert.deepEqual(commands, [
      'STARTTLS',
      'AUTHENTICATE',
      'PUTSCRIPT',
      'PUTSCRIPT',
      'SETACTIVE',
      'LISTSCRIPTS',
      'GETSCRIPT',
      'LOGOUT',
    ]);
    assert.equal(out.filter((e) => e.type === 'out').at(-1)?.annotation?.state, 'logout');
  });
});
