/**
 * The redactor of session bytes: credentials masked at the same length in every form the three
 * protocols (and ManageSieve) send them, message content never, fed whole and one byte at a time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Protocol } from '../../trace/bus.js';
import { WireRedactor } from './redact.js';

type Step = ['in' | 'out', string];

/** Runs a conversation through a redactor; returns the client bytes kept and with secrets put back. */
function run(proto: Protocol, steps: Step[], byteByByte = false): { kept: string; restored: string } {
  const r = new WireRedactor(proto);
  const kept: Buffer[] = [];
  const restored: Buffer[] = [];
  const take = (out: { bytes: Buffer; secrets: [number, Buffer][] }) => {
    kept.push(Buffer.from(out.bytes));
    const b = Buffer.from(out.bytes);
    for (const [offset, original] of out.secrets) original.copy(b, offset);
    restored.push(b);
  };
  for (const [dir, text] of steps) {
    const bytes = Buffer.from(text, 'latin1');
    if (dir === 'out') {
      r.feed('out', bytes);
      continue;
    }
    if (byteByByte) for (let i = 0; i < bytes.length; i++) take(r.feed('in', bytes.subarray(i, i + 1)));
    else take(r.feed('in', bytes));
  }
  take(r.end());
  return { kept: Buffer.concat(kept).toString('latin1'), restored: Buffer.concat(restored).toString('latin1') };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
/** A SASL response as masked: its bytes but NUL turned to `*`. */
const masked = (s: string) => b64(s.replace(/[^\0]/g, '*'));

const CASES: { name: string; proto: Protocol; steps: Step[]; expect: string }[] = [
  {
    name: 'POP3 USER/PASS and APOP',
    proto: 'pop3',
    steps: [
      ['in', 'USER ludo\r\n'],
      ['out', '+OK\r\n'],
      ['in', 'PASS sdf12345\r\n'],
      ['out', '+OK\r\n'],
      ['in', 'APOP ludo c4c9334bac560ecc979e58001b3e22fb\r\nSTAT\r\n'],
    ],
    expect: `USER ludo\r\nPASS ********\r\nAPOP ludo ${'*'.repeat(32)}\r\nSTAT\r\n`,
  },
  {
    name: 'POP3 AUTH PLAIN with a continuation, then commands again',
    proto: 'pop3',
    steps: [
      ['in', 'AUTH PLAIN\r\n'],
      ['out', '+ \r\n'],
      ['in', `${b64('\0ludo\0sdf12345')}\r\n`],
      ['out', '+OK logged in\r\n'],
      ['in', 'RETR 1\r\n'],
    ],
    expect: `AUTH PLAIN\r\n${masked('\0ludo\0sdf12345')}\r\nRETR 1\r\n`,
  },
  {
    name: 'SMTP AUTH with an initial response, DATA content untouched',
    proto: 'smtp',
    steps: [
      ['in', 'EHLO x\r\n'],
      ['out', '250-mx\r\n250 AUTH PLAIN\r\n'],
      ['in', `AUTH PLAIN ${b64('\0a\0pw')}\r\n`],
      ['out', '235 2.7.0 ok\r\n'],
      ['in', 'DATA\r\n'],
      ['out', '354 go\r\n'],
      ['in', 'PASS notasecret\r\nAUTH PLAIN AAAA\r\n.\r\n'],
      ['out', '250 ok\r\n'],
      ['in', 'QUIT\r\n'],
    ],
    expect: `EHLO x\r\nAUTH PLAIN ${masked('\0a\0pw')}\r\nDATA\r\nPASS notasecret\r\nAUTH PLAIN AAAA\r\n.\r\nQUIT\r\n`,
  },
  {
    name: 'SMTP AUTH LOGIN: both responses, a cancelled exchange keeps its *',
    proto: 'smtp',
    steps: [
      ['in', 'AUTH LOGIN\r\n'],
      ['out', '334 VXNlcm5hbWU6\r\n'],
      ['in', `${b64('ludo')}\r\n`],
      ['out', '334 UGFzc3dvcmQ6\r\n'],
      ['in', `${b64('pw')}\r\n`],
      ['out', '535 5.7.8 no\r\n'],
      ['in', 'AUTH LOGIN\r\n'],
      ['out', '334 VXNlcm5hbWU6\r\n'],
      ['in', '*\r\n'],
      ['out', '501 5.0.0 cancelled\r\n'],
      ['in', 'BDAT 6 LAST\r\nPASS x'],
      ['out', '250 ok\r\n'],
      ['in', 'AUTH LOGIN\r\n'],
      ['out', '334 VXNlcm5hbWU6\r\n'],
      ['in', 'not base64!\r\n'],
    ],
    expect: 'AUTH LOGIN\r\nKioqKg==\r\nKio=\r\nAUTH LOGIN\r\n*\r\nBDAT 6 LAST\r\nPASS xAUTH LOGIN\r\nKioqKioqKio\r\n',
  },
  {
    name: 'IMAP LOGIN as atoms, quoted strings and literals; APPEND literal untouched',
    proto: 'imap',
    steps: [
      ['in', 'a1 LOGIN ludo sdf12345\r\n'],
      ['out', 'a1 NO no\r\n'],
      ['in', 'a2 login "ludo" "sd\\"f"\r\n'],
      ['out', 'a2 NO no\r\n'],
      ['in', 'a3 LOGIN {4}\r\n'],
      ['out', '+ go\r\n'],
      ['in', 'ludo {8}\r\n'],
      ['out', '+ go\r\n'],
      ['in', 'sdf12345\r\n'],
      ['out', 'a3 OK\r\n'],
      ['in', 'a4 APPEND INBOX {23+}\r\na5 LOGIN ludo secret\r\n\r\n'],
    ],
    expect:
      'a1 LOGIN ludo xxxxxxxx\r\na2 login "ludo" "*****"\r\na3 LOGIN {4}\r\nludo {8}\r\n********\r\n' +
      'a4 APPEND INBOX {23+}\r\na5 LOGIN ludo secret\r\n\r\n',
  },
  {
    name: 'the line after a refused AUTH is masked unless it is a command',
    proto: 'smtp',
    steps: [
      ['in', 'AUTH PLAIN\r\n'],
      ['out', '503 5.5.1 EHLO first\r\n'],
      ['in', 'AGx1ZG8AcHc=\r\n'],
      ['out', '500 5.5.2 Command not recognized\r\n'],
      ['in', 'AUTH CRAM-MD5\r\n'],
      ['out', '504 5.5.4 no\r\n'],
      ['in', 'QUIT\r\n'],
    ],
    expect: `AUTH PLAIN\r\n${masked('\0ludo\0pw')}\r\nAUTH CRAM-MD5\r\nQUIT\r\n`,
  },
  {
    name: 'IMAP: the line after a refused AUTHENTICATE',
    proto: 'imap',
    steps: [
      ['in', 'a1 AUTHENTICATE CRAM-MD5\r\n'],
      ['out', 'a1 NO unsupported\r\n'],
      ['in', 'c2VjcmV0\r\n'],
      ['out', '* BAD no\r\n'],
      ['in', 'a2 AUTHENTICATE X\r\n'],
      ['out', 'a2 NO unsupported\r\n'],
      ['in', 'a3 LOGOUT\r\n'],
    ],
    expect: `a1 AUTHENTICATE CRAM-MD5\r\n${masked('secret')}\r\na2 AUTHENTICATE X\r\na3 LOGOUT\r\n`,
  },
  {
    name: 'IMAP AUTHENTICATE with SASL-IR and with a continuation',
    proto: 'imap',
    steps: [
      ['in', `a1 AUTHENTICATE PLAIN ${b64('\0ludo\0pw')}\r\n`],
      ['out', 'a1 NO bad\r\n'],
      ['in', 'a2 AUTHENTICATE PLAIN\r\n'],
      ['out', '+ \r\n'],
      ['in', `${b64('\0ludo\0pw')}\r\n`],
      ['out', 'a2 OK\r\n'],
      ['in', 'a3 SELECT INBOX\r\n'],
    ],
    expect: `a1 AUTHENTICATE PLAIN ${masked('\0ludo\0pw')}\r\na2 AUTHENTICATE PLAIN\r\n${masked('\0ludo\0pw')}\r\na3 SELECT INBOX\r\n`,
  },
  {
    name: 'ManageSieve AUTHENTICATE with a quoted initial response; PUTSCRIPT literal untouched',
    proto: 'managesieve',
    steps: [
      ['out', '"IMPLEMENTATION" "postbode"\r\n"SASL" "PLAIN"\r\nOK\r\n'],
      ['in', `AUTHENTICATE "PLAIN" "${b64('\0ludo\0sdf12345')}"\r\n`],
      ['out', 'OK "Logged in."\r\n'],
      ['in', 'PUTSCRIPT "x" {40+}\r\nAUTHENTICATE "PLAIN" "c2VjcmV0"\r\nkeep;\r\n\r\n'],
      ['out', 'OK\r\n'],
      ['in', 'LOGOUT\r\n'],
    ],
    expect:
      `AUTHENTICATE "PLAIN" "${masked('\0ludo\0sdf12345')}"\r\n` +
      'PUTSCRIPT "x" {40+}\r\nAUTHENTICATE "PLAIN" "c2VjcmV0"\r\nkeep;\r\n\r\nLOGOUT\r\n',
  },
  {
    name: 'ManageSieve AUTHENTICATE with a challenge, literal responses, a cancel, then a careless line',
    proto: 'managesieve',
    steps: [
      ['in', 'AUTHENTICATE "PLAIN"\r\n'],
      ['out', '""\r\n'],
      ['in', `{16+}\r\n${b64('\0ludo\0sdf123')}\r\n`],
      ['out', 'NO "Authentication failed."\r\n'],
      ['in', 'authenticate PLAIN {16+}\r\n'],
      ['in', `${b64('\0ludo\0sdf123')}\r\n`],
      ['out', 'OK\r\n'],
      ['in', 'UNAUTHENTICATE\r\n'],
      ['out', 'OK\r\n'],
      ['in', 'AUTHENTICATE "LOGIN"\r\n'],
      ['out', '"VXNlcm5hbWU6"\r\n'],
      ['in', '"*"\r\n'],
      ['out', 'NO "Cancelled."\r\n'],
      ['in', `"${b64('\0ludo\0pw')}"\r\nCAPABILITY\r\n`],
    ],
    expect:
      `AUTHENTICATE "PLAIN"\r\n{16+}\r\n${'*'.repeat(16)}\r\n` +
      `authenticate PLAIN {16+}\r\n${'*'.repeat(16)}\r\nUNAUTHENTICATE\r\nAUTHENTICATE "LOGIN"\r\n"*"\r\n` +
      `"${masked('\0ludo\0pw')}"\r\nCAPABILITY\r\n`,
  },
];

describe('WireRedactor', () => {
  for (const c of CASES) {
    for (const byteByByte of [false, true]) {
      it(`${c.name}${byteByByte ? ', one byte at a time' : ''}`, () => {
        const original = c.steps
          .filter(([d]) => d === 'in')
          .map(([, t]) => t)
          .join('');
        const { kept, restored } = run(c.proto, c.steps, byteByByte);
        assert.equal(kept, c.expect);
        assert.equal(kept.length, original.length, 'same length');
        assert.equal(restored, original, 'the secrets put back give the original bytes');
      });
    }
  }

  it('leaves server bytes alone', () => {
    const r = new WireRedactor('imap');
    const out = Buffer.from('* 1 FETCH (BODY[] {5}\r\nPASS x)\r\n');
    assert.equal(r.feed('out', out).bytes, out);
  });
});
