import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MimePart } from '../mail/mime.js';
import { parseMessage } from '../mail/parse.js';
import { buildDsn, type DsnInput, dsnIs8bit, shouldSendDsn } from './dsn.js';

const ORIGINAL = Buffer.from(
  'From: Alice <alice@example.org>\r\n' +
    'To: bob@example.net, carol@example.net\r\n' +
    'Subject: Lunch\r\n' +
    'Message-ID: <m1@example.org>\r\n' +
    '\r\n' +
    'Shall we have lunch?\r\n' +
    '-- \r\nAlice\r\n',
);

const ARRIVAL = new Date(Date.UTC(2025, 0, 2, 3, 4, 5));
const LAST = new Date(Date.UTC(2025, 0, 2, 3, 5, 0));

function failedInput(over: Partial<DsnInput> = {}): DsnInput {
  return {
    hostname: 'mx.example.org',
    envelopeFrom: 'alice@example.org',
    envid: 'QQ314159+2Bx',
    arrivalDate: ARRIVAL,
    date: LAST,
    original: ORIGINAL,
    recipients: [
      {
        address: 'bob@example.net',
        orcpt: 'rfc822;Bob+2Bold@example.net',
        action: 'failed',
        status: '5.1.1',
        remoteMta: 'mx.example.net',
        diagnostic: '550-5.1.1 The email account that you tried to reach does not exist.\r\n550 5.1.1 Try again',
        lastAttemptDate: LAST,
      },
      {
        address: 'carol@example.net',
        action: 'failed',
        status: '5.2.2',
        remoteMta: 'mx.example.net',
        diagnostic: '552 5.2.2 Mailbox full',
        lastAttemptDate: LAST,
      },
    ],
    ...over,
  };
}

function text(raw: Buffer, part: MimePart): string {
  return raw.toString('utf8', part.body, part.end);
}

function header(raw: Buffer, name: string): string | undefined {
  const head = raw.toString('latin1', 0, parseMessage(raw).headerLength).replace(/\r\n[ \t]/g, ' ');
  const m = new RegExp(`^${name}: (.*)$`, 'im').exec(head);
  return m?.[1];
}

/** message/delivery-status: the per-message group and the per-recipient groups, folded lines joined. */
function groups(body: string): Map<string, string>[] {
  return body
    .replace(/\r\n[ \t]+/g, ' ')
    .split('\r\n\r\n')
    .filter((g) => g.trim() !== '')
    .map((g) => {
      const m = new Map<string, string>();
      for (const line of g.split('\r\n')) {
        if (line === '') continue;
        const colon = line.indexOf(':');
        m.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
      }
      return m;
    });
}

function assertWellFormed(raw: Buffer): void {
  const s = raw.toString('latin1');
  assert.doesNotMatch(s, /[^\r]\n|\r[^\n]|^\n/, 'bare CR or LF');
  assert.ok(s.endsWith('\r\n'));
  for (const line of s.split('\r\n')) assert.ok(line.length <= 998, `line of ${line.length} octets`);
}

function parse(raw: Buffer): { parts: MimePart[]; root: MimePart } {
  const meta = parseMessage(raw);
  assert.equal(meta.mime.type.toLowerCase(), 'multipart');
  assert.equal(meta.mime.subtype.toLowerCase(), 'report');
  const params = new Map(meta.mime.params?.map(([k, v]) => [k.toLowerCase(), v]));
  assert.equal(params.get('report-type'), 'delivery-status');
  const parts = meta.mime.parts ?? [];
  assert.equal(parts.length, 3);
  return { parts, root: meta.mime };
}

describe('buildDsn', () => {
  it('builds a failure DSN with three parts and the RFC 3464 fields', () => {
    const raw = buildDsn(failedInput());
    assertWellFormed(raw);
    assert.equal(dsnIs8bit(raw), false);

    assert.equal(header(raw, 'From'), 'Mail Delivery System <MAILER-DAEMON@mx.example.org>');
    assert.equal(header(raw, 'To'), '<alice@example.org>');
    assert.equal(header(raw, 'Subject'), 'Undelivered Mail Returned to Sender');
    assert.equal(header(raw, 'Date'), 'Thu, 02 Jan 2025 03:05:00 +0000');
    assert.match(header(raw, 'Message-ID') ?? '', /^<[^<>@\s]+@mx\.example\.org>$/);
    assert.equal(header(raw, 'Auto-Submitted'), 'auto-replied');
    assert.equal(header(raw, 'MIME-Version'), '1.0');

    const { parts } = parse(raw);
    const [human, status, original] = parts;
    assert.equal(`${human.type}/${human.subtype}`.toLowerCase(), 'text/plain');
    assert.match(text(raw, human), /<bob@example\.net>: delivery failed/);
    assert.match(text(raw, human), /<carol@example\.net>: delivery failed/);
    assert.match(text(raw, human), /mx\.example\.net replied: 550-5\.1\.1 The email account/);
    assert.match(text(raw, human), /What you can do/);

    assert.equal(`${status.type}/${status.subtype}`.toLowerCase(), 'message/delivery-status');
    const [msg, bob, carol] = groups(text(raw, status));
    assert.equal(msg.get('reporting-mta'), 'dns; mx.example.org');
    assert.equal(msg.get('original-envelope-id'), 'QQ314159+x');
    assert.equal(msg.get('arrival-date'), 'Thu, 02 Jan 2025 03:04:05 +0000');
    assert.equal(bob.get('original-recipient'), 'rfc822; Bob+old@example.net');
    assert.equal(bob.get('final-recipient'), 'rfc822; bob@example.net');
    assert.equal(bob.get('action'), 'failed');
    assert.equal(bob.get('status'), '5.1.1');
    assert.equal(bob.get('remote-mta'), 'dns; mx.example.net');
    assert.equal(
      bob.get('diagnostic-code'),
      'smtp; 550-5.1.1 The email account that you tried to reach does not exist. 550 5.1.1 Try again',
    );
    assert.equal(bob.get('last-attempt-date'), 'Thu, 02 Jan 2025 03:05:00 +0000');
    assert.equal(bob.has('will-retry-until'), false);
    assert.equal(carol.has('original-recipient'), false);
    assert.equal(carol.get('final-recipient'), 'rfc822; carol@example.net');
    assert.equal(carol.get('status'), '5.2.2');
    assert.equal(carol.get('diagnostic-code'), 'smtp; 552 5.2.2 Mailbox full');

    assert.equal(`${original.type}/${original.subtype}`.toLowerCase(), 'message/rfc822');
    assert.deepEqual(raw.subarray(original.body, original.end), ORIGINAL);
    assert.equal(original.message?.envelope?.subject, 'Lunch');
  });

  it('returns only the header for RET=HDRS', () => {
    const raw = buildDsn(failedInput({ ret: 'HDRS' }));
    assertWellFormed(raw);
    const { parts } = parse(raw);
    assert.equal(`${parts[2].type}/${parts[2].subtype}`.toLowerCase(), 'text/rfc822-headers');
    const returned = text(raw, parts[2]);
    assert.match(returned, /^From: Alice <alice@example\.org>\r\n/);
    assert.match(returned, /Message-ID: <m1@example\.org>/);
    assert.doesNotMatch(returned, /lunch\?/);
  });

  it('returns the whole message when RET is absent, headers only when it is too big', () => {
    const { parts } = parse(buildDsn(failedInput({ ret: null })));
    assert.equal(parts[2].subtype.toLowerCase(), 'rfc822');
    const big = parse(buildDsn(failedInput({ maxFullSize: 10 })));
    assert.equal(big.parts[2].subtype.toLowerCase(), 'rfc822-headers');
  });

  it('builds a delay warning with Will-Retry-Until and headers only', () => {
    const until = new Date(Date.UTC(2025, 0, 7, 3, 4, 5));
    const raw = buildDsn(
      failedInput({
        ret: 'FULL',
        envid: null,
        recipients: [
          {
            address: 'bob@example.net',
            action: 'delayed',
            status: '4.4.1',
            remoteMta: null,
            diagnostic: 'connect to mx.example.net: Connection refused',
            lastAttemptDate: LAST,
            willRetryUntil: until,
          },
        ],
      }),
    );
    assertWellFormed(raw);
    assert.equal(header(raw, 'Subject'), 'Delayed Mail (still being retried)');
    const { parts } = parse(raw);
    const [msg, bob] = groups(text(raw, parts[1]));
    assert.equal(msg.has('original-envelope-id'), false);
    assert.equal(bob.get('action'), 'delayed');
    assert.equal(bob.get('status'), '4.4.1');
    assert.equal(bob.has('remote-mta'), false);
    assert.equal(bob.get('will-retry-until'), 'Tue, 07 Jan 2025 03:04:05 +0000');
    assert.equal(parts[2].subtype.toLowerCase(), 'rfc822-headers');
    assert.match(text(raw, parts[0]), /retried until Tue, 07 Jan 2025/);
  });

  it('keeps CRLF and 998-octet lines for bare-LF, long-line and non-ASCII input', () => {
    const long = 'x'.repeat(2000);
    const original = Buffer.from(`Subject: caf\u00e9\nX-Long: ${long}\n\nbody ${long}\nend\n`, 'utf8');
    const raw = buildDsn(
      failedInput({
        original,
        fromName: 'Postm\u00e4ster',
        recipients: [
          {
            address: 'j\u00fcrgen@example.net',
            action: 'failed',
            status: '5.1.1',
            diagnostic: `550 5.1.1 ${'y'.repeat(1500)} \u00fcber`,
          },
        ],
      }),
    );
    assertWellFormed(raw);
    assert.match(header(raw, 'From') ?? '', /^=\?UTF-8\?Q\?Postm=C3=A4ster\?= <MAILER-DAEMON@mx\.example\.org>$/);
    const { parts } = parse(raw);
    assert.equal(parts[0].encoding?.toLowerCase(), 'quoted-printable');
    const [, rcpt] = groups(text(raw, parts[1]));
    assert.equal(rcpt.get('final-recipient'), 'utf-8; j\\x{FC}rgen@example.net');
    assert.ok(rcpt.get('diagnostic-code')?.endsWith(' ?ber'));
    // a body line over 998 octets cannot be returned as is: headers only, the long field left out
    assert.equal(parts[2].subtype.toLowerCase(), 'rfc822-headers');
    assert.equal(parts[2].encoding?.toLowerCase(), '8bit');
    assert.equal(text(raw, parts[2]), 'Subject: caf\u00e9\r\n');
    assert.equal(dsnIs8bit(raw), true);
  });

  it('picks a boundary that does not occur in the content', () => {
    const raw = buildDsn(failedInput());
    const boundary = parseMessage(raw).mime.params?.find(([k]) => k === 'boundary')?.[1] ?? '';
    assert.ok(boundary.length > 10);
    const count = raw.toString('latin1').split(`--${boundary}`).length - 1;
    assert.equal(count, 4); // three delimiters and the close delimiter
  });

  it('refuses an empty recipient list', () => {
    assert.throws(() => buildDsn(failedInput({ recipients: [] })));
  });
});

describe('shouldSendDsn', () => {
  const cases: [string, string, string[] | null, 'failure' | 'delay' | 'success', boolean][] = [
    ['null sender, failure', '', null, 'failure', false],
    ['null sender <>, explicit FAILURE', '<>', ['FAILURE'], 'failure', false],
    ['no NOTIFY, failure', 'a@example.org', null, 'failure', true],
    ['no NOTIFY, delay', 'a@example.org', null, 'delay', false],
    ['no NOTIFY, success', 'a@example.org', null, 'success', false],
    ['NEVER, failure', 'a@example.org', ['NEVER'], 'failure', false],
    ['NEVER, delay', 'a@example.org', ['NEVER'], 'delay', false],
    ['FAILURE only, failure', 'a@example.org', ['FAILURE'], 'failure', true],
    ['FAILURE only, delay', 'a@example.org', ['FAILURE'], 'delay', false],
    ['FAILURE only, success', 'a@example.org', ['FAILURE'], 'success', false],
    ['DELAY, delay', 'a@example.org', ['DELAY'], 'delay', true],
    ['DELAY, failure', 'a@example.org', ['DELAY'], 'failure', false],
    ['SUCCESS,FAILURE, success', 'a@example.org', ['SUCCESS', 'FAILURE'], 'success', true],
    ['lower case delay', 'a@example.org', ['failure', 'delay'], 'delay', true],
  ];
  for (const [name, envelopeFrom, notify, kind, want] of cases) {
    it(name, () => assert.equal(shouldSendDsn({ envelopeFrom, notify, kind }), want));
  }
  it('sends delay warnings without NOTIFY when the server opts in', () => {
    assert.equal(
      shouldSendDsn({ envelopeFrom: 'a@example.org', notify: null, kind: 'delay', delayWarningsByDefault: true }),
      true,
    );
    assert.equal(shouldSendDsn({ envelopeFrom: '', notify: null, kind: 'delay', delayWarningsByDefault: true }), false);
  });
});
