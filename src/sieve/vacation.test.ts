// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Sieve's variables write ${…} inside plain strings
/**
 * vacation (RFC 5230) and vacation-seconds (RFC 6131): when a reply is due (RFC 5230 §4.5–§5,
 * RFC 3834), its period, subject, sender and memory key.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_HEADERS, runSieve, sieveContext } from '../../test/harness/sieve.js';
import type { SieveResult, SieveVacation } from './types.js';

const V = 'require ["vacation", "vacation-seconds", "variables"];\n';

function vacation(result: SieveResult): SieveVacation | null {
  const v = result.actions.find((a) => a.type === 'vacation');
  return v?.type === 'vacation' ? v : null;
}

async function reply(
  script: string,
  context = sieveContext(),
): Promise<{ v: SieveVacation | null; result: SieveResult }> {
  const result = await runSieve(script, context);
  return { v: vacation(result), result };
}

describe('sieve vacation', () => {
  it('answers the envelope sender with the defaults, and keeps the message', async () => {
    const { v, result } = await reply(`${V}vacation "I am away.";`);
    assert.ok(v);
    assert.equal(v.to, 'alice@example.org');
    assert.equal(v.from, null);
    assert.equal(v.subject, null);
    assert.equal(v.reason, 'I am away.');
    assert.equal(v.mime, false);
    assert.equal(v.periodSeconds, 7 * 86400);
    assert.equal(v.inReplyTo, '<m1@example.org>');
    assert.match(v.memoryKey, /^[0-9a-f]{64}$/);
    assert.deepEqual(
      result.actions.map((a) => a.type),
      ['vacation', 'keep'],
    );
  });

  it(':days, :seconds and their bounds (at least 1 day, at most 60)', async () => {
    const period = async (args: string) => (await reply(`${V}vacation ${args} "x";`)).v?.periodSeconds;
    assert.equal(await period(':days 3'), 3 * 86400);
    assert.equal(await period(':days 0'), 86400);
    assert.equal(await period(':days 365'), 60 * 86400);
    assert.equal(await period(':seconds 60'), 86400);
    assert.equal(await period(':seconds 172800'), 172800);
  });

  it('the bounds are limits a caller may change (0 and no maximum, as a Pigeonhole configured so)', async () => {
    const period = async (args: string) =>
      vacation(
        await runSieve(`${V}vacation ${args} "x";`, sieveContext(), {
          runLimits: { vacationMinSeconds: 0, vacationMaxSeconds: 0 },
        }),
      )?.periodSeconds;
    assert.equal(await period(':seconds 0'), 0);
    assert.equal(await period(':seconds 7200'), 7200);
    assert.equal(await period(':days 365'), 365 * 86400);
  });

  it('an invalid :addresses item is ignored, an invalid :from from a variable passed on, both with a warning', async () => {
    const r = await runSieve(
      `${V}set "f" "not an address";\nvacation :from "\${f}" :addresses ["nope", "bob@example.com"] "x";`,
    );
    assert.equal(vacation(r)?.from, 'not an address');
    assert.match(r.warnings.join('\n'), /:addresses item "nope"/);
    assert.match(r.warnings.join('\n'), /:from address "not an address" is not a valid mail address/);
  });

  it(':subject, :from, :mime and variables in them', async () => {
    const { v } = await reply(
      `${V}set "who" "Bob";\nvacation :subject "Away: \${who}" :from "Bob <bob@example.com>" :mime text:\nContent-Type: text/plain\n\n\${who} is away.\n.\n;`,
    );
    assert.equal(v?.subject, 'Away: Bob');
    assert.equal(v?.from, 'Bob <bob@example.com>');
    assert.equal(v?.mime, true);
    assert.equal(v?.reason, 'Content-Type: text/plain\r\n\r\nBob is away.\r\n');
  });

  it('the memory key depends on the sender and the handle (or the reason and arguments)', async () => {
    const key = async (script: string, from = 'alice@example.org') =>
      (await reply(`${V}${script}`, sieveContext({ envelopeFrom: from }))).v?.memoryKey;
    assert.equal(await key('vacation "a";'), await key('vacation "a";'));
    assert.notEqual(await key('vacation "a";'), await key('vacation "b";'));
    assert.notEqual(await key('vacation "a";'), await key('vacation :subject "s" "a";'));
    assert.equal(await key('vacation :handle "h" "a";'), await key('vacation :handle "h" "b";'));
    assert.notEqual(await key('vacation "a";'), await key('vacation "a";', 'dave@example.org'));
    assert.equal(await key('vacation "a";', 'Alice@Example.org'), await key('vacation "a";'));
  });

  const refused: [string, Parameters<typeof sieveContext>[0], RegExp][] = [
    ['the null sender', { envelopeFrom: '' }, /null sender/],
    ['the user itself', { envelopeFrom: 'bob@example.com' }, /own address/],
    ['a mailing list (List-Id)', { headers: [...DEFAULT_HEADERS, 'List-Id: <x.lists.example>'] }, /mailing list/],
    [
      'a mailing list (List-Unsubscribe)',
      { headers: [...DEFAULT_HEADERS, 'List-Unsubscribe: <mailto:u@x>'] },
      /mailing list/,
    ],
    ['an automatic message', { headers: [...DEFAULT_HEADERS, 'Auto-Submitted: auto-replied'] }, /Auto-Submitted/],
    ['bulk mail', { headers: [...DEFAULT_HEADERS, 'Precedence: bulk'] }, /Precedence: bulk/],
    ['junk mail', { headers: [...DEFAULT_HEADERS, 'Precedence: junk'] }, /Precedence: junk/],
    ['list mail', { headers: [...DEFAULT_HEADERS, 'Precedence: list'] }, /Precedence: list/],
    [
      'suppressed replies',
      { headers: [...DEFAULT_HEADERS, 'X-Auto-Response-Suppress: DR, OOF'] },
      /X-Auto-Response-Suppress/,
    ],
    ['MAILER-DAEMON', { envelopeFrom: 'MAILER-DAEMON@example.org' }, /system address/],
    ['owner- senders', { envelopeFrom: 'owner-list@example.org' }, /system address/],
    ['-request senders', { envelopeFrom: 'list-request@example.org' }, /system address/],
    [
      'mail not addressed to the user',
      { headers: ['From: alice@example.org', 'To: everyone@example.org', 'Subject: x'] },
      /not addressed to the user/,
    ],
  ];
  for (const [what, context, why] of refused) {
    it(`no reply to ${what}`, async () => {
      const { v, result } = await reply(`${V}vacation "away";`, sieveContext(context));
      assert.equal(v, null);
      assert.match(result.warnings.join('\n'), why);
      assert.deepEqual(
        result.actions.map((a) => a.type),
        ['keep'],
      );
    });
  }

  it('Auto-Submitted: no is answered; Cc, Bcc, Resent-To, aliases and :addresses count as addressed', async () => {
    assert.ok(
      (await reply(`${V}vacation "x";`, sieveContext({ headers: [...DEFAULT_HEADERS, 'Auto-Submitted: no'] }))).v,
    );
    const only = (h: string) => sieveContext({ headers: ['From: alice@example.org', h, 'Subject: x'] });
    assert.ok((await reply(`${V}vacation "x";`, only('Cc: Bob <BOB@example.com>'))).v);
    assert.ok((await reply(`${V}vacation "x";`, only('Resent-To: bob@example.com'))).v);
    assert.equal((await reply(`${V}vacation "x";`, only('To: bob+tag@example.com'))).v, null, 'bob+tag@ is not bob@');
    const tagged = sieveContext({
      headers: ['From: alice@example.org', 'To: bob+tag@example.com'],
      envelopeTo: 'bob+tag@example.com',
    });
    assert.ok((await reply(`${V}vacation "x";`, tagged)).v, 'the envelope recipient as written');
    const alias = sieveContext({
      headers: ['From: alice@example.org', 'To: robert@example.com'],
      userAddresses: ['bob@example.com', 'robert@example.com'],
    });
    assert.ok((await reply(`${V}vacation "x";`, alias)).v);
    const other = only('To: team@example.com');
    assert.equal((await reply(`${V}vacation "x";`, other)).v, null);
    assert.ok((await reply(`${V}vacation :addresses ["team@example.com"] "x";`, other)).v);
  });

  it('one vacation per script run', async () => {
    await assert.rejects(runSieve(`${V}vacation "a";\nvacation "b";`), /one vacation per message/);
  });
});
