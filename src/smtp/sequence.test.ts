/**
 * The order of a command's checks (commands/types.ts `checks`): when a command is wrong in several ways
 * (out of sequence and bad syntax, two bad parameters, ...), the reply that comes is the one it has
 * always been. The engine runs on a real in-process listener and is spoken to over a socket; every reply
 * is compared whole.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { LineClient } from '../../test/harness/line-client.js';
import { engineNetServer, engineSettings } from '../../test/harness/smtp-engine.js';
import type { Resolution } from '../delivery/delivery.js';
import { COMMANDS } from './commands/index.js';
import { ANY_STATE } from './commands/types.js';
import { type SmtpBackend, smtpHandler } from './index.js';

const USER = 'user@example.test';
const PASSWORD = 'pw';
const PLAIN = Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64');
const HELO_FIRST = '503 5.5.1 Send HELO or EHLO first (e.g. HELO client.example.org)';

const backend: SmtpBackend = {
  plaintextAllowed: () => true,
  async login(_client, user, pass) {
    return user === USER && pass === PASSWORD ? { ok: true, account: USER } : { ok: false, reason: 'invalid' };
  },
  async resolve(address: string): Promise<Resolution> {
    if (address.toLowerCase() !== USER) return { kind: 'unknown-user' };
    return { kind: 'local', accounts: [{ id: 1, address: USER, quota: null }], remote: [] };
  },
  async deliver() {
    return { id: 'seq', localCopies: 1, queueId: null };
  },
};

type Listener = 'mx-lab' | 'mx-strict' | 'submission';

/** A dialogue: each command line and the whole reply expected (a RegExp for multi-line replies). */
type Step = [command: string, expected: string | RegExp];

describe('SMTP: the order of checks when a command is wrong in several ways', () => {
  const server = engineNetServer();
  const ports = new Map<Listener, number>();

  before(async () => {
    const settings = (role: 'mx' | 'submission', strict: boolean) => engineSettings({ role, strict });
    const listeners: [Listener, 'mx' | 'submission', boolean][] = [
      ['mx-lab', 'mx', false],
      ['mx-strict', 'mx', true],
      ['submission', 'submission', false],
    ];
    for (const [name, role, strict] of listeners) {
      const handler = smtpHandler(settings(role, strict), backend, pino({ level: 'silent' }));
      ports.set(
        name,
        (await server.listen({ name: 'smtp', host: '127.0.0.1', port: 0, implicitTls: false, handler })).port,
      );
    }
  });
  after(() => server.close());

  async function dialogue(listener: Listener, steps: Step[]): Promise<void> {
    const c = await LineClient.connect(ports.get(listener)!);
    try {
      assert.equal(await c.reply(), '220 mx.example.test ESMTP ready');
      for (const [command, expected] of steps) {
        const got = await c.cmd(command);
        if (typeof expected === 'string') assert.equal(got, expected, `reply to ${command}`);
        else assert.match(got, expected, `reply to ${command}`);
      }
    } finally {
      c.close();
    }
  }

  it('MAIL: the sequence before the grammar, and on submission the login between them', async () => {
    await dialogue('mx-lab', [
      ['MAIL FROM:<a@b.example', HELO_FIRST],
      ['MAIL TO:<a@b.example>', HELO_FIRST],
      ['EHLO client.example', /^250-mx\.example\.test Hello client\.example \[127\.0\.0\.1\]\n/],
      ['MAIL FROM:<a@b.example>', '250 2.1.0 Sender <a@b.example> OK'],
      ['MAIL FROM:<a@b.example', '503 5.5.1 Sender already specified; send RSET to start over'],
    ]);
    await dialogue('submission', [
      ['MAIL FROM:<a@b.example', HELO_FIRST],
      ['EHLO client.example', /^250-/],
      ['MAIL FROM:<a@b.example', '530 5.7.0 Authentication required: log in with AUTH before sending on this port'],
      [`AUTH PLAIN ${PLAIN}`, '235 2.7.0 Authentication successful'],
      ['MAIL FROM:<a@b.example', '501 5.5.4 Syntax: missing ">" after the address, e.g. MAIL FROM:<you@example.org>'],
    ]);
  });

  it('MAIL: parameters after HELO, then each parameter in the order given, then the address', async () => {
    await dialogue('mx-lab', [
      ['HELO client.example', '250 mx.example.test Hello client.example [127.0.0.1]'],
      ['MAIL FROM:<a@b.example> BODY=9BIT', '555 5.5.4 MAIL parameters need EHLO, not HELO'],
      ['MAIL FROM:<a@b.example', '501 5.5.4 Syntax: missing ">" after the address, e.g. MAIL FROM:<you@example.org>'],
      ['EHLO client.example', /^250-/],
      [
        'MAIL FROM:<a@b.example> SIZE=999999 BODY=9BIT',
        '552 5.3.4 Message size exceeds fixed limit of 20000 bytes (SIZE=999999)',
      ],
      [
        'MAIL FROM:<a@b.example> BODY=9BIT SIZE=999999',
        '555 5.5.4 BODY must be 7BIT or 8BITMIME (BINARYMIME is not supported)',
      ],
      ['MAIL FROM:<a@@b> FOO=1', '555 5.5.4 Unsupported MAIL parameter FOO'],
      ['MAIL FROM:<a@@b> SIZE=10', /^501 5\.1\.7 Bad sender address <a@@b>: /],
    ]);
  });

  it('DSN: ENVID and ORCPT must be xtext (RFC 3461 §4), a "+" only before two hex digits', async () => {
    await dialogue('mx-lab', [
      ['EHLO client.example', /^250-/],
      ['MAIL FROM:<a@b.example> ENVID=a+zz', '501 5.5.4 Syntax: ENVID=<xtext of at most 100 characters>'],
      ['MAIL FROM:<a@b.example> ENVID=a=b', '501 5.5.4 Syntax: ENVID=<xtext of at most 100 characters>'],
      ['MAIL FROM:<a@b.example> ENVID=QQ+2B314159', '250 2.1.0 Sender <a@b.example> OK'],
      [
        `RCPT TO:<${USER}> ORCPT=rfc822;a+zz@b.example`,
        '501 5.5.4 Syntax: ORCPT=rfc822;address, the address as xtext (RFC 3461 section 4): "+", "=" and characters outside ! to ~ written +XX in hex, e.g. + as +2B',
      ],
      [`RCPT TO:<${USER}> ORCPT=rfc822;a+2Bb@b.example`, `250 2.1.5 Recipient <${USER}> OK`],
    ]);
  });

  it('RCPT: the sequence before the grammar; after a chunk RCPT is refused even without recipients', async () => {
    await dialogue('mx-lab', [
      ['RCPT TO:', '503 5.5.1 Send MAIL FROM first'],
      ['EHLO client.example', /^250-/],
      ['RCPT TO:', '503 5.5.1 Send MAIL FROM first'],
      ['MAIL FROM:<>', '250 2.1.0 Sender <> OK'],
      ['RCPT TO:<> FOO=1', '555 5.5.4 Unsupported RCPT parameter FOO'],
      ['RCPT TO:<>', '501 5.1.3 A recipient address is required, e.g. RCPT TO:<someone@example.org>'],
      // A chunk without recipients is refused and fails the transaction (RFC 3030 §3): a later RCPT
      // and BDAT LAST must not deliver the message without it.
      ['BDAT 0', '554 5.5.1 No valid recipients, so the transaction is reset; start again with MAIL FROM'],
      [`RCPT TO:<${USER}>`, '503 5.5.1 Send MAIL FROM first'],
      ['DATA', '503 5.5.1 Send MAIL FROM and RCPT TO first'],
      ['MAIL FROM:<>', '250 2.1.0 Sender <> OK'],
      ['RCPT TO:<nobody@example.test>', /^550 /],
      ['BDAT 5\r\nabc', '554 5.5.1 No valid recipients, so the transaction is reset; start again with MAIL FROM'],
      [`RCPT TO:<${USER}>`, '503 5.5.1 Send MAIL FROM first'],
      ['BDAT 4 LAST\r\nfg', '503 5.5.1 Send MAIL FROM and RCPT TO before BDAT'],
    ]);
  });

  it('DSN parameters given twice are refused (RFC 3461 §4), as Postfix does', async () => {
    await dialogue('mx-lab', [
      ['EHLO client.example', /^250-/],
      ['MAIL FROM:<a@b.example> RET=FULL RET=HDRS', /^501 5\.5\.\d Syntax: RET may be given only once/],
      ['MAIL FROM:<a@b.example> ENVID=a ENVID=b', /^501 5\.5\.\d Syntax: ENVID may be given only once/],
      ['MAIL FROM:<a@b.example> RET=HDRS', /^250 /],
      [`RCPT TO:<${USER}> NOTIFY=NEVER NOTIFY=SUCCESS`, /^501 5\.5\.\d Syntax: NOTIFY may be given only once/],
      [`RCPT TO:<${USER}> ORCPT=rfc822;a@b ORCPT=rfc822;c@d`, /^501 5\.5\.\d Syntax: ORCPT may be given only once/],
      [`RCPT TO:<${USER}> NOTIFY=SUCCESS ORCPT=rfc822;a@b`, /^250 /],
    ]);
  });

  it('a message with more than 100 Received: fields is refused as a loop (RFC 5321 §6.3)', async () => {
    const hops = (n: number) =>
      `${'Received: from a.example by b.example; Mon, 7 Dec 2026 10:00:00 +0000\r\n'.repeat(n)}Subject: hop\r\n\r\nbody\r\n.`;
    await dialogue('mx-lab', [
      ['EHLO client.example', /^250-/],
      ['MAIL FROM:<a@b.example>', /^250 /],
      [`RCPT TO:<${USER}>`, /^250 /],
      ['DATA', /^354 /],
      [hops(101), /^554 5\.4\.6 Too many hops: the message has more than 100 Received: header fields/],
      ['MAIL FROM:<a@b.example>', /^250 /],
      [`RCPT TO:<${USER}>`, /^250 /],
      ['DATA', /^354 /],
      [hops(100), /^250 2\.6\.0 /],
    ]);
  });

  it('DATA: an argument is refused before the sequence', async () => {
    await dialogue('mx-lab', [
      ['DATA now', '501 5.5.4 DATA takes no arguments'],
      ['DATA', '503 5.5.1 Send MAIL FROM and RCPT TO first'],
      ['HELO client.example', /^250 /],
      ['DATA', '503 5.5.1 Send MAIL FROM and RCPT TO first'],
      ['MAIL FROM:<>', '250 2.1.0 Sender <> OK'],
      ['DATA now', '501 5.5.4 DATA takes no arguments'],
      ['DATA', '554 5.5.1 No valid recipients; send RCPT TO first'],
      [`RCPT TO:<${USER}>`, `250 2.1.5 Recipient <${USER}> OK`],
      ['DATA', '354 Start mail input; end with <CRLF>.<CRLF>'],
      ['.', /^250 2\.6\.0 <seq@mx\.example\.test> Queued mail for delivery$/],
    ]);
  });

  it('AUTH: the grammar, then EHLO, then one login, then no transaction', async () => {
    await dialogue('mx-lab', [
      ['AUTH', '501 5.5.4 Syntax: AUTH <mechanism> [initial-response]'],
      ['AUTH PLAIN', '503 5.5.1 Send EHLO first'],
      ['HELO client.example', /^250 /],
      ['MAIL FROM:<>', '250 2.1.0 Sender <> OK'],
      ['AUTH PLAIN', '503 5.5.1 Send EHLO first'],
      ['EHLO client.example', /^250-/],
      ['MAIL FROM:<>', '250 2.1.0 Sender <> OK'],
      ['AUTH PLAIN a b', '501 5.5.4 Syntax: AUTH <mechanism> [initial-response]'],
      ['AUTH PLAIN', '503 5.5.1 AUTH is not allowed during a mail transaction'],
      ['RSET', '250 2.0.0 Ok'],
      [`AUTH PLAIN ${PLAIN}`, '235 2.7.0 Authentication successful'],
      ['AUTH', '501 5.5.4 Syntax: AUTH <mechanism> [initial-response]'],
      ['MAIL FROM:<>', '250 2.1.0 Sender <> OK'],
      ['AUTH PLAIN', '503 5.5.1 Already authenticated'],
    ]);
  });

  it('BDAT: the grammar first; out of sequence the chunk is still read, then refused', async () => {
    const c = await LineClient.connect(ports.get('mx-lab')!);
    try {
      await c.reply();
      assert.equal(await c.cmd('BDAT x'), '501 5.5.4 Syntax: BDAT <chunk-size> [LAST]');
      c.write('BDAT 6\r\nQUIT\r\n');
      assert.equal(await c.reply(), '503 5.5.1 Send MAIL FROM and RCPT TO before BDAT');
      assert.equal(await c.cmd('NOOP'), '250 2.0.0 Ok', 'the QUIT in the chunk was not run');
    } finally {
      c.close();
    }
  });

  it('HELO/EHLO and MAIL grammar: lab mode tolerates what strict mode refuses', async () => {
    await dialogue('mx-strict', [
      ['HELO', '501 5.5.4 Syntax: HELO hostname (say who you are, e.g. HELO client.example.org)'],
      ['EHLO', '501 5.5.4 Syntax: EHLO hostname (say who you are, e.g. EHLO client.example.org)'],
      ['EHLO client.example', /^250-/],
      [
        'MAIL FROM: a@b.example',
        '501 5.5.4 Syntax: the address must be in angle brackets, e.g. MAIL FROM:<you@example.org>',
      ],
    ]);
    await dialogue('mx-lab', [
      [
        'HELO',
        '250 mx.example.test Hello [127.0.0.1] (lab mode: HELO without a name accepted; RFC 5321 wants "HELO your.host.name")',
      ],
      [
        'MAIL FROM: a@b.example',
        '250 2.1.0 Sender <a@b.example> OK (lab mode: address without angle brackets accepted; RFC 5321 wants FROM:<a@b.example>)',
      ],
    ]);
  });

  it('every command declares its states and a valid order of checks', () => {
    assert.ok(COMMANDS.size >= 14);
    for (const command of COMMANDS.values()) {
      assert.ok(command.states.length > 0, command.verb);
      assert.ok(
        command.states.every((s) => ANY_STATE.includes(s)),
        command.verb,
      );
      assert.equal(command.checks.filter((c) => c === 'parse').length, 1, command.verb);
      assert.equal(command.checks.filter((c) => c === 'state').length, 1, command.verb);
    }
  });
});
