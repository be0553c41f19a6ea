/**
 * Mail for the IMAP transcripts (test/transcripts/imap/): accounts and messages set up through the CLI,
 * SMTP and APPEND so that every transcript sees a known mailbox.
 */
import assert from 'node:assert/strict';
import { ImapClient, smtpSend } from './imap-client.js';
import type { PostbodeProcess } from './server.js';

/**
 * The message of RFC 9051 §7.5.2's FETCH example: ENVELOPE as printed there, a TEXT/PLAIN body of
 * 3028 octets in 92 lines, and 4286 octets in all.
 */
export function rfc9051FetchExample(): string {
  const headers = [
    'Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)',
    'From: Terry Gray <gray@cac.washington.edu>',
    'Subject: IMAP4rev2 WG mtg summary and minutes',
    'To: imap@cac.washington.edu',
    'cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>',
    'Message-Id: <B27397-0100000@cac.washington.edu>',
    'MIME-Version: 1.0',
    'Content-Type: TEXT/PLAIN; CHARSET=US-ASCII',
  ];
  let head = `${headers.join('\r\n')}\r\n`;
  // Pad with one X- header so that header + blank line is 4286 - 3028 octets.
  const want = 4286 - 3028 - 2;
  const pad = want - head.length - 'X-Pad: \r\n'.length;
  head += `X-Pad: ${'p'.repeat(pad)}\r\n`;
  const lines: string[] = [];
  for (let i = 0; i < 92; i++) lines.push((i < 84 ? 'minutes line ' : 'minutes end ').padEnd(i < 84 ? 31 : 30, '.'));
  const body = `${lines.join('\r\n')}\r\n`;
  const msg = `${head}\r\n${body}`;
  assert.equal(Buffer.byteLength(body), 3028);
  assert.equal(Buffer.byteLength(msg), 4286);
  return msg;
}

const small = (n: number, from: string) =>
  `Date: Mon, 7 Feb 1994 21:52:25 -0800\r\nFrom: ${from}\r\nSubject: message ${n}\r\nTo: mooch@owatagu.siam.edu.example\r\n\r\nbody of message ${n}\r\n`;

/**
 * Accounts for the transcripts:
 * - ludo@linux800.be / sdf12345 (README walk-through): one message "Subject: hello" by SMTP.
 * - smith@example.test / SESAME (RFC 9051 §6.1–§6.3): an empty account.
 * - fred@example.test / sesame (RFC 9051 §6.4, §7): INBOX with 11 messages, UIDs 1–11: 1 is the
 *   §7.5.2 example (\Seen, INTERNALDATE 17-Jul-1996 02:44:25 -0700); 2–11 small ones "message N"
 *   from Fred Foobar, except 5 from Smith; flags 2 \Seen \Flagged, 4 \Seen, 5, 10 and 11 \Flagged;
 *   and an empty mailbox MEETING.
 */
export async function setupTranscriptMail(pb: PostbodeProcess): Promise<void> {
  for (const [user, pass] of [
    ['ludo@linux800.be', 'sdf12345'],
    ['smith@example.test', 'SESAME'],
    ['fred@example.test', 'sesame'],
  ]) {
    const r = pb.cli(['user', 'add', user, '--password', pass]);
    assert.equal(r.code, 0, r.stderr);
  }
  await smtpSend(
    pb.ports.smtp,
    'mannix@intecbrussel.intra',
    ['ludo@linux800.be'],
    'Subject: hello\r\n\r\nDit is de body van ons mailbericht.\r\n',
  );

  const c = await ImapClient.connect(pb.ports.imap);
  try {
    await c.login('fred@example.test', 'sesame');
    const first = rfc9051FetchExample();
    const r = await c.command(
      `APPEND INBOX (\\Seen) "17-Jul-1996 02:44:25 -0700" {${Buffer.byteLength(first)}+}\r\n${first}`,
    );
    assert.equal(r.status, 'OK', r.tagged);
    const flags: Record<number, string> = {
      2: '\\Seen \\Flagged',
      4: '\\Seen',
      5: '\\Flagged',
      10: '\\Flagged',
      11: '\\Flagged',
    };
    for (let n = 2; n <= 11; n++) {
      const from = n === 5 ? 'Smith <smith@example.test>' : 'Fred Foobar <foobar@Blurdybloop.example>';
      const a = await c.append('INBOX', small(n, from), flags[n] ?? '');
      assert.equal(a.status, 'OK', a.tagged);
    }
    await c.ok('CREATE MEETING');
    await c.ok('LOGOUT');
  } finally {
    c.close();
  }
}
