// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Sieve's variables write ${…} inside plain strings
/**
 * The interpreter's base language (RFC 5228): tests, comparators, match types, the implicit keep and
 * its cancellation, action conflicts and duplicates, runtime errors and limits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSieve, sieveContext, summary } from '../../test/harness/sieve.js';
import { compile } from './compile.js';
import { run } from './interpret.js';
import { SieveRuntimeError } from './types.js';

const FILEINTO = 'require ["fileinto"];\n';

async function actions(source: string, context = sieveContext()): Promise<string[]> {
  return summary(await runSieve(source, context));
}

async function runtimeError(source: string, context = sieveContext()): Promise<SieveRuntimeError> {
  try {
    await runSieve(source, context);
  } catch (e) {
    if (e instanceof SieveRuntimeError) return e;
    throw e;
  }
  return assert.fail('expected a SieveRuntimeError');
}

describe('sieve interpreter: base language', () => {
  it('an empty script keeps the message (implicit keep)', async () => {
    const r = await runSieve('');
    assert.deepEqual(r.actions, [{ type: 'keep', flags: [], implicit: true }]);
    assert.deepEqual(r.duplicates, []);
  });

  it('fileinto cancels the implicit keep; keep replaces it', async () => {
    assert.deepEqual(await actions(`${FILEINTO}fileinto "Work";`), ['fileinto Work']);
    assert.deepEqual(await actions(`${FILEINTO}fileinto "Work"; keep;`), ['fileinto Work', 'keep']);
    assert.deepEqual(await actions('keep;'), ['keep']);
  });

  it('discard cancels the implicit keep but not an explicit keep', async () => {
    assert.deepEqual(await actions('discard;'), ['discard']);
    assert.deepEqual(await actions('keep; discard;'), ['keep', 'discard']);
  });

  it('redirect cancels the implicit keep', async () => {
    assert.deepEqual(await actions('redirect "carol@example.net";'), ['redirect carol@example.net']);
  });

  it('stop ends the script with the actions taken so far', async () => {
    assert.deepEqual(await actions(`${FILEINTO}fileinto "A"; stop; fileinto "B";`), ['fileinto A']);
    assert.deepEqual(await actions('stop; discard;'), ['implicit keep']);
  });

  it('if / elsif / else take the first branch whose test is true', async () => {
    const script = `${FILEINTO}if header :is "subject" "x" { fileinto "X"; }
      elsif header :contains "subject" "lunch" { fileinto "Lunch"; }
      else { fileinto "Other"; }`;
    assert.deepEqual(await actions(script), ['fileinto Lunch']);
    assert.deepEqual(await actions(script, sieveContext({ headers: ['Subject: x'] })), ['fileinto X']);
    assert.deepEqual(await actions(script, sieveContext({ headers: ['Subject: y'] })), ['fileinto Other']);
  });

  it('header: decoded (RFC 2047), unfolded, trimmed; comparators and match types', async () => {
    const ctx = sieveContext({
      headers: ['Subject: =?utf-8?q?Caf=C3=A9?= au\r\n  lait  ', 'X-Num: 42', 'X-Empty:'],
    });
    const t = async (test: string) => (await actions(`if ${test} { discard; }`, ctx))[0] === 'discard';
    assert.equal(await t('header :is "subject" "Café au  lait"'), true);
    assert.equal(
      await t('header :is "SUBJECT" "café AU  lait"'),
      true,
      'i;ascii-casemap is the default; É is not folded',
    );
    assert.equal(await t('header :is :comparator "i;octet" "subject" "café au  lait"'), false);
    assert.equal(await t('header :contains "subject" "AU"'), true);
    assert.equal(await t('header :contains "subject" ""'), true);
    assert.equal(await t('header :contains "x-missing" ""'), false, 'no header, no match even with ""');
    assert.equal(await t('header :is "x-empty" ""'), true);
    assert.equal(await t('header :matches "subject" "caf?? *"'), true, '? is one octet: é is two');
    assert.equal(await t('header :matches "subject" "caf? *"'), false);
    assert.equal(await t('header :matches "subject" "*lait"'), true);
    assert.equal(await t('header :matches "subject" "lait*"'), false);
    assert.equal(await t('header :matches "x-num" "4\\\\?"'), false, 'an escaped ? is a literal');
    assert.equal(await t('header :is ["x-none", "x-num"] ["1", "42"]'), true);
  });

  it(':matches: ? is one octet of the UTF-8 form, as in Pigeonhole', async () => {
    const ctx = sieveContext({ headers: ['X-U: ÄÖÜ'] });
    const t = async (pattern: string) =>
      (await actions(`if header :matches "x-u" "${pattern}" { discard; }`, ctx))[0] === 'discard';
    assert.equal(await t('??????'), true);
    assert.equal(await t('???'), false);
    // A capture of one octet of a character is not text on its own (it becomes U+FFFD); the rest is.
    const r = await runSieve(
      'require ["variables", "fileinto"];\nif header :matches "x-u" "??*" { fileinto "${3}"; }',
      ctx,
    );
    assert.deepEqual(summary(r), ['fileinto ÖÜ']);
  });

  it(':matches wildcards and escapes', async () => {
    const t = async (value: string, pattern: string) =>
      (
        await actions(
          `if header :matches "x" ${JSON.stringify(pattern)} { discard; }`,
          sieveContext({ headers: [`X: ${value}`] }),
        )
      )[0] === 'discard';
    assert.equal(await t('abc', 'a*c'), true);
    assert.equal(await t('abc', '???'), true);
    assert.equal(await t('abc', '??'), false);
    assert.equal(await t('a*c', 'a\\*c'), true);
    assert.equal(await t('abc', 'a\\*c'), false);
    assert.equal(await t('abcabc', '*bc*bc'), true);
    assert.equal(await t('abcab', '*bc*bc'), false);
    assert.equal(await t('', '*'), true);
    assert.equal(await t('x', ''), false);
  });

  it('address: address lists, groups, parts, invalid addresses', async () => {
    const ctx = sieveContext({
      headers: [
        'From: "Doe, Jane" <Jane.Doe@Example.ORG> (work)',
        'To: friends: a@one.example, b@two.example;, c@three.example',
        'Cc: not an address',
      ],
    });
    const t = async (test: string) => (await actions(`if ${test} { discard; }`, ctx))[0] === 'discard';
    assert.equal(await t('address :is "from" "jane.doe@example.org"'), true);
    assert.equal(await t('address :localpart :is "from" "Jane.Doe"'), true);
    assert.equal(await t('address :domain :is "from" "example.org"'), true);
    assert.equal(await t('address :is "to" "b@two.example"'), true);
    assert.equal(await t('address :is "to" "c@three.example"'), true);
    assert.equal(await t('address :contains "to" "friends"'), false, 'a group name is not an address');
    assert.equal(await t('address :domain :is "cc" ""'), false);
    assert.equal(await t('address :all :is "cc" "not an address"'), true);
    const count = async (value: string) => {
      const c = sieveContext({ headers: [`From: ${value}`] });
      for (let n = 0; n < 4; n++) {
        const script = `require ["relational", "comparator-i;ascii-numeric"];\nif address :count "eq" :comparator "i;ascii-numeric" "from" "${n}" { discard; }`;
        if ((await actions(script, c))[0] === 'discard') return n;
      }
      return -1;
    };
    assert.equal(await count('g: a@x.example, b@y.example;'), 2, 'a group: its members');
    assert.equal(await count('undisclosed-recipients:;'), 1, 'an empty group: the value itself');
    assert.equal(await count('b@x.example, alice'), 1, 'a broken address beside a valid one is left out');
    assert.equal(await count('"Jörg" <jörg@exämple.org>'), 1, 'an SMTPUTF8 address is read as unparsable');
    const quoted = sieveContext({ headers: ['Sender: "quoted local"@example.org'] });
    assert.equal(
      (await actions('if address :all :is "sender" "\\"quoted local\\"@example.org" { discard; }', quoted))[0],
      'discard',
      ':all writes a local part that needs it quoted',
    );
    assert.equal(
      (await actions('if address :localpart :is "sender" "quoted local" { discard; }', quoted))[0],
      'discard',
      ':localpart is the local part itself',
    );
  });

  it('exists and size', async () => {
    const ctx = sieveContext();
    const size = ctx.message.raw.length;
    const t = async (test: string) => (await actions(`if ${test} { discard; }`, ctx))[0] === 'discard';
    assert.equal(await t('exists ["from", "to"]'), true);
    assert.equal(await t('exists ["from", "x-nope"]'), false);
    assert.equal(await t(`size :over ${size - 1}`), true);
    assert.equal(await t(`size :over ${size}`), false);
    assert.equal(await t(`size :under ${size}`), false);
    assert.equal(await t(`size :under ${size + 1}`), true);
  });

  it('allof, anyof, not, true, false', async () => {
    const t = async (test: string) => (await actions(`if ${test} { discard; }`))[0] === 'discard';
    assert.equal(await t('allof (true, true)'), true);
    assert.equal(await t('allof (true, false)'), false);
    assert.equal(await t('anyof (false, true)'), true);
    assert.equal(await t('anyof (false, false)'), false);
    assert.equal(await t('not false'), true);
    assert.equal(await t('not allof (true, not true)'), true);
  });

  it('duplicate actions collapse: keep twice, fileinto the same mailbox, redirect to the same address', async () => {
    assert.deepEqual(await actions('keep; keep;'), ['keep']);
    assert.deepEqual(
      await actions(
        'require ["fileinto", "imap4flags"];\nfileinto :flags "a" "X";\nfileinto :flags "b" "X";\nkeep :flags "k";\nfileinto "INBOX";',
      ),
      ['fileinto X [b]', 'keep'],
      'one store per mailbox, with the flags of the last',
    );
    assert.deepEqual(await actions(`${FILEINTO}fileinto "A"; fileinto "A"; fileinto "B";`), [
      'fileinto A',
      'fileinto B',
    ]);
    assert.deepEqual(await actions(`${FILEINTO}keep; fileinto "INBOX";`), ['keep']);
    assert.deepEqual(await actions(`${FILEINTO}fileinto "inbox"; keep;`), ['fileinto INBOX'], 'INBOX in any case');
    assert.deepEqual(await actions('redirect "a@example.net"; redirect "a@EXAMPLE.net";'), ['redirect a@example.net']);
    assert.deepEqual(await actions('redirect "a@example.net"; redirect "A@example.net";'), [
      'redirect a@example.net',
      'redirect A@example.net',
    ]);
    assert.deepEqual(await actions('require ["fileinto", "copy"];\nfileinto :copy "INBOX";'), ['fileinto INBOX :copy']);
  });

  it('reject conflicts with delivering actions and vacation (a runtime error)', async () => {
    const e1 = await runtimeError(`require ["reject", "fileinto"];\nfileinto "A";\nreject "no";`);
    assert.match(e1.message, /reject conflicts with the earlier fileinto/);
    assert.deepEqual(e1.position, { line: 3, column: 1 });
    const e2 = await runtimeError('require "reject";\nreject "no";\nkeep;');
    assert.match(e2.message, /keep conflicts with the earlier reject/);
    const e3 = await runtimeError('require ["reject", "vacation"];\nvacation "away";\nreject "no";');
    assert.match(e3.message, /reject conflicts with the earlier vacation/);
    const e4 = await runtimeError('require "reject";\nreject "a";\nreject "b";');
    assert.match(e4.message, /already rejects/);
    assert.deepEqual(await actions('require "reject";\nreject "not wanted";'), ['reject not wanted']);
    assert.deepEqual(await actions('require ["reject"];\ndiscard;\nreject "x";'), ['discard', 'reject x']);
  });

  it('ereject is a reject that asks for refusal in the protocol', async () => {
    const r = await runSieve('require "ereject";\nereject "go away";');
    assert.deepEqual(r.actions, [{ type: 'reject', reason: 'go away', ereject: true }]);
  });

  it('limits: actions, redirects, steps', async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => `redirect "r${i}@example.net";`).join('\n');
    const compiled = compile(many);
    assert.equal(compiled.ok, true);
    if (!compiled.ok) return;
    await assert.rejects(run(compiled.script, sieveContext()), (e: unknown) => {
      assert.ok(e instanceof SieveRuntimeError);
      assert.match(e.message, /redirects to more than 4 addresses \(the limit\)/);
      assert.deepEqual(e.position, { line: 5, column: 1 });
      return true;
    });
    const folders = `${FILEINTO}${Array.from({ length: 40 }, (_, i) => `fileinto "f${i}";`).join('\n')}`;
    const e = await runtimeError(folders);
    assert.match(e.message, /more than 32 actions/);
    const steps = `${'if true { '.repeat(30)}keep;${'}'.repeat(30)}`;
    await assert.rejects(
      runSieve(steps, sieveContext(), { runLimits: { maxSteps: 20 } }),
      /more than 20 commands and tests/,
    );
  });

  it(':matches work is bounded (a long pattern against a long value)', async () => {
    const value = 'a'.repeat(100_000);
    const pattern = `*${'a'.repeat(5000)}b*`;
    const ctx = sieveContext({ body: `${value}\r\n` });
    const script = `require ["body"];\nif body :matches "${pattern}" { discard; }`;
    await assert.rejects(runSieve(script, ctx, { runLimits: { maxSteps: 1000 } }), (e: unknown) => {
      assert.ok(e instanceof SieveRuntimeError);
      assert.match(e.message, /:matches tests examined more than 1000000 characters/);
      assert.deepEqual(e.position, { line: 2, column: 4 });
      return true;
    });
  });

  it('a 1 MB string compiles and runs', async () => {
    const big = 'x'.repeat(1_000_000);
    const r = await runSieve(`require "reject";\nreject "${big}";`);
    assert.equal(r.actions[0].type === 'reject' ? r.actions[0].reason.length : 0, 1_000_000);
    const tooBig = compile(`keep; # ${'x'.repeat(1024 * 1024)}`);
    assert.equal(tooBig.ok, false);
  });

  it('envelope: from, to, auth with address parts; the null sender', async () => {
    const ctx = sieveContext({ envelopeFrom: 'Sender@Example.org', envelopeTo: 'bob+lists@example.com', auth: 'bob' });
    const t = async (test: string, c = ctx) =>
      (await actions(`require ["envelope", "subaddress"];\nif ${test} { discard; }`, c))[0] === 'discard';
    assert.equal(await t('envelope :is "from" "sender@example.org"'), true);
    assert.equal(await t('envelope :domain :is "from" "example.org"'), true);
    assert.equal(await t('envelope :user :is "to" "bob"'), true);
    assert.equal(await t('envelope :detail :is "to" "lists"'), true);
    assert.equal(await t('envelope :is "auth" "bob"'), true);
    const nullSender = sieveContext({ envelopeFrom: '' });
    assert.equal(await t('envelope :is "from" ""', nullSender), true);
    assert.equal(await t('envelope :localpart :is "from" ""', nullSender), false);
  });

  it('a script from another compile is refused', async () => {
    await assert.rejects(run({ source: '', requires: [] }, sieveContext()), /the script must come from compile\(\)/);
  });
});
