/**
 * The reading of sieve-test's output (test/harness/pigeonhole.ts) on output captured from Debian's
 * sieve-test (Pigeonhole 0.5.19), so the differential tests compare what Pigeonhole printed and not
 * a misreading of it. Runs without sieve-test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  normaliseAddress,
  parseSieveTest,
  parseVacationReply,
  redirectLine,
  rejectLine,
  storeLine,
  strSanitize,
  vacationLine,
} from './pigeonhole.js';

const ok = 'sieve-test: Info: final result: success\n';

test('store actions with flags, :create and :copy, and the implicit keep', () => {
  const stdout = [
    '',
    'Performed actions:',
    '',
    ' * store message in folder: Labelled',
    '        + create mailbox if it does not exist',
    '        + preserve implicit keep',
    '        + add IMAP flags: \\seen $Label1',
    '',
    'Implicit keep:',
    '',
    ' * store message in folder: INBOX',
    '        + add IMAP flags: \\flagged',
    '',
    '',
  ].join('\n');
  const run = parseSieveTest(stdout, ok, 0);
  assert.deepEqual(run.outcome, {
    kind: 'actions',
    actions: ['store INBOX flags=[\\flagged]', 'store Labelled flags=[$Label1 \\seen] create'],
  });
  assert.equal(run.vacation, null);
});

test('discard, a later keep, and "(none)" sections', () => {
  const discarded = '\nPerformed actions:\n\n * discard\n\nImplicit keep:\n\n  (none)\n\n';
  assert.deepEqual(parseSieveTest(discarded, ok, 0).outcome, { kind: 'actions', actions: [] });
  const kept =
    '\nPerformed actions:\n\n * discard\n * store message in folder: INBOX\n\nImplicit keep:\n\n  (none; keep or equivalent action executed earlier)\n\n';
  assert.deepEqual(parseSieveTest(kept, ok, 0).outcome, { kind: 'actions', actions: ['store INBOX'] });
});

test('redirect, reject (sanitised like str_sanitize) and duplicate tracking', () => {
  const stdout = [
    '',
    'Performed actions:',
    '',
    ' * redirect message to: <carol@Example.NET>',
    ' * reject message with reason: Please remove me from your list.??Thank you.??',
    ' * track duplicate',
    ' * track last duplicate with handle: other',
    '',
    'Implicit keep:',
    '',
    '  (none)',
    '',
  ].join('\n');
  assert.deepEqual(parseSieveTest(stdout, ok, 0).outcome, {
    kind: 'actions',
    actions: [
      'redirect carol@example.net',
      'reject Please remove me from your list.??Thank you.??',
      'track duplicate',
      'track duplicate',
    ],
  });
  // postbode's reason with CRLF line ends reads the same once sanitised.
  assert.equal(
    rejectLine('Please remove me from your list.\r\nThank you.\r\n'),
    'reject Please remove me from your list.??Thank you.??',
  );
});

test('a vacation action, then the decision of the -e run', () => {
  const stdout = [
    '',
    'Performed actions:',
    '',
    ' * send vacation message:',
    '    => seconds : 604800',
    '    => subject : Away',
    '    => from    : Bob Example <bob@example.com>',
    '    => handle  : Away this week.AwayBob Example <bob@example.com><NO-MIME>',
    '',
    'START MESSAGE',
    'Away this week.',
    'END MESSAGE',
    '',
    'Implicit keep:',
    '',
    ' * store message in folder: INBOX',
    '',
  ].join('\n');
  const run = parseSieveTest(stdout, ok, 0);
  assert.deepEqual(run.outcome, { kind: 'actions', actions: ['store INBOX'] });
  assert.deepEqual(run.vacation, {
    seconds: 604800,
    subject: 'Away',
    from: 'Bob Example <bob@example.com>',
    reason: 'Away this week.',
  });
  const sent = 'sieve-test: Info: sieve: msgid=<plain-1@example.org>: sent vacation response to <alice@example.org>\n';
  const reply =
    'From: <bob@example.com>\r\nTo: <alice@example.org>\r\nIn-Reply-To: <plain-1@example.org>\r\n\r\nAway.\r\n';
  assert.deepEqual(parseVacationReply(reply, sent), { to: 'alice@example.org', inReplyTo: '<plain-1@example.org>' });
  assert.deepEqual(parseVacationReply('', sent), { to: 'alice@example.org', inReplyTo: null });
  const refused =
    'sieve-test: Info: sieve: msgid=<auto-9@example.org>: vacation action: discarding vacation response to auto-submitted message from <alice@example.org>\n';
  assert.equal(parseVacationReply('', refused), null);
  assert.equal(
    parseVacationReply('', '... not sending vacation response to system address <MAILER-DAEMON@example.org>'),
    null,
  );
  assert.throws(() => parseVacationReply('', ok), /said nothing about the vacation/);
  assert.equal(
    vacationLine({
      to: 'alice@Example.ORG',
      ...run.vacation!,
      reason: 'Away this week.\r\n',
      inReplyTo: '<plain-1@example.org>',
    }),
    'vacation to=alice@example.org seconds=604800 subject="Away" from="Bob Example <bob@example.com>" reason="Away this week." in-reply-to=<plain-1@example.org>',
  );
});

test('compile errors and runtime errors', () => {
  const compile = [
    "syntax-missing-semicolon: line 1: error: missing semicolon ';' after keep command.",
    'syntax-missing-semicolon: error: validation failed.',
    "sieve-test: Fatal: failed to compile sieve script '/tmp/x/cases/syntax-missing-semicolon.sieve'",
    '',
  ].join('\n');
  const c = parseSieveTest('', compile, 89);
  assert.equal(c.outcome.kind, 'compile-error');
  assert.match(c.outcome.kind === 'compile-error' ? c.outcome.detail : '', /line 1: error: missing semicolon/);
  const runtime = [
    'reject-twice: line 3: error: duplicate reject/ereject action not allowed (previously triggered one was here: reject-twice: line 2).',
    'sieve-test: Info: final result: failed; resolved with successful implicit keep',
    '',
  ].join('\n');
  assert.equal(parseSieveTest('', runtime, 1).outcome.kind, 'runtime-error');
});

test('an unknown result line is an error, not a silent difference', () => {
  const stdout = '\nPerformed actions:\n\n * notify someone\n\nImplicit keep:\n\n  (none)\n';
  assert.throws(() => parseSieveTest(stdout, ok, 0), /unknown sieve-test result line/);
  assert.throws(() => parseSieveTest('', 'sieve-test: Fatal: Invalid -f parameter: Mailbox is empty string\n', 89));
});

test('the normal forms: flags, addresses, long texts', () => {
  assert.equal(
    storeLine('INBOX', ['\\Seen', '\\SEEN', '$Work', '\\Flagged'], false),
    'store INBOX flags=[$Work \\flagged \\seen]',
  );
  assert.equal(storeLine('New', [], true), 'store New create');
  assert.equal(normaliseAddress('Carol <carol@Example.NET>'), 'carol@example.net');
  assert.equal(redirectLine('Carol@example.net'), 'redirect Carol@example.net');
  assert.equal(strSanitize('short', 128), 'short');
  assert.equal(strSanitize('a\tb', 128), 'a?b');
  const long = 'é'.repeat(100); // 200 bytes
  const cut = strSanitize(long, 128);
  assert.ok(cut.endsWith('...'));
  assert.ok(Buffer.byteLength(cut) <= 128);
  assert.equal(cut, `${'é'.repeat(62)}...`);
});
