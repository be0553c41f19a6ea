/**
 * The ManageSieve annotator (RFC 5804): greeting and capabilities, STARTTLS and the capabilities sent
 * again after it, AUTHENTICATE with a challenge, literals read as data, response codes, states.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
