// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Sieve's variables write ${…} inside plain strings
/**
 * Each extension's semantics on small messages: imap4flags, variables, relational and
 * i;ascii-numeric, copy, mailbox, body, date/index, subaddress, environment, encoded-character,
 * include, duplicate. Vacation has its own file (vacation.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSieve, sieveContext, sieveMessage, summary } from '../../test/harness/sieve.js';
import { SieveRuntimeError } from './types.js';

async function actions(source: string, context = sieveContext()): Promise<string[]> {
  return summary(await runSieve(source, context));
}

/** Runs `require …; if TEST { discard; }` and says whether the test was true. */
async function holds(requires: string, test: string, context = sieveContext()): Promise<boolean> {
  return (await actions(`require [${requires}];\nif ${test} { discard; }`, context))[0] === 'discard';
}

describe('sieve extensions', () => {
  describe('imap4flags (RFC 5232)', () => {
    it('setflag/addflag/removeflag change the flags of later keeps, fileintos and the implicit keep', async () => {
      assert.deepEqual(await actions('require "imap4flags";\naddflag "\\\\Seen";'), ['implicit keep [\\Seen]']);
      assert.deepEqual(
        await actions(`require ["imap4flags", "fileinto"];
          setflag "\\\\flagged work";
          fileinto "A";
          addflag ["Work", "\\\\Seen"];
          removeflag "\\\\Flagged";
          fileinto "B";
          keep :flags "only";`),
        ['fileinto A [\\Flagged work]', 'fileinto B [work \\Seen]', 'keep [only]'],
      );
    });

    it('the internal variable is bounded like a variable', async () => {
      const many = Array.from({ length: 3000 }, (_, i) => `k${i}`).join(' ');
      const r = await runSieve(`require "imap4flags";\naddflag "${many}";`);
      const flags = r.actions[0].type === 'keep' ? r.actions[0].flags : [];
      assert.ok(flags.join(' ').length <= 4096 && flags.length > 500, `${flags.length} flags`);
    });

    it('invalid flags are left out of actions; \\Recent cannot be set', async () => {
      assert.deepEqual(await actions('require "imap4flags";\naddflag ["\\\\Recent", "\\\\Bogus", "(x", "ok"];'), [
        'implicit keep [ok]',
      ]);
    });

    it('hasflag tests the internal variable or named variables', async () => {
      assert.equal(await holds('"imap4flags"', 'allof (true, not hasflag "\\\\Seen")'), true);
      assert.equal(
        (await actions('require "imap4flags";\naddflag "\\\\Seen A";\nif hasflag :is "a" { discard; }'))[0],
        'discard',
      );
      assert.equal(
        (
          await actions(
            'require ["imap4flags", "variables", "relational", "comparator-i;ascii-numeric"];\naddflag "v" "x y";\nif hasflag :count "eq" :comparator "i;ascii-numeric" "v" "2" { discard; }',
          )
        )[0],
        'discard',
      );
    });
  });

  describe('variables (RFC 5229)', () => {
    it('set, ${…} substitution, modifiers in precedence order', async () => {
      const r = await actions(`require ["variables", "fileinto"];
        set "a" "Hello";
        set :upper "b" "\${a} World";
        set :lowerfirst :upper "c" "abc";
        set :length "n" "\${a}";
        set :quotewildcard "q" "a*b?c\\\\";
        set :upperfirst "u" "élan";
        fileinto "\${b}/\${c}/\${n}/\${q}/\${u}/\${unset}/\${a";`);
      assert.deepEqual(r, ['fileinto HELLO WORLD/aBC/5/a\\*b\\?c\\\\/élan//${a']);
    });

    it('match variables come from the last successful :matches', async () => {
      const ctx = sieveContext({
        headers: ['Subject: [acme-users] [fwd] version 1.0 is out', 'From: Bob <bob@x.example>'],
      });
      const r = await actions(
        `require ["variables", "fileinto"];
        if header :matches "subject" "[*] *" { set "list" "\${1}"; set "rest" "\${2}"; }
        if header :matches "subject" "nomatch*" { set "list" "changed"; }
        if address :matches "from" "*@*" { set "dom" "\${2}"; }
        fileinto "\${list}|\${rest}|\${dom}|\${0}";`,
        ctx,
      );
      assert.deepEqual(r, ['fileinto acme-users|[fwd] version 1.0 is out|x.example|bob@x.example']);
    });

    it('the string test; :count counts non-empty strings', async () => {
      assert.equal(await holds('"variables"', 'string :is "${x}" ""'), true);
      assert.equal(await holds('"variables", "relational"', 'string :count "eq" ["a", "", "b"] "2"'), true);
      assert.equal(await holds('"variables"', 'string :matches "abc" "a*"'), true);
    });

    it('values are cut at the variable size limit without splitting a character', async () => {
      const r = await runSieve(
        `require ["variables", "fileinto"];\nset "v" "${'é'.repeat(10)}";\nfileinto "\${v}";`,
        sieveContext(),
        {
          runLimits: { maxVariableBytes: 5 },
        },
      );
      assert.deepEqual(summary(r), ['fileinto éé']);
    });

    it('a string of many references stops growing (16 variables of the maximum size)', async () => {
      const refs = '${a}'.repeat(10_000);
      const r = await runSieve(`require ["variables", "reject"];\nset "a" "${'x'.repeat(4000)}";\nreject "${refs}";`);
      const reason = r.actions[0].type === 'reject' ? r.actions[0].reason : '';
      assert.ok(reason.length <= refs.length + 16 * 4096, `${reason.length} characters`);
      assert.ok(reason.length >= 16 * 4000);
    });

    it('a value is not expanded again', async () => {
      assert.deepEqual(
        await actions(
          'require ["variables", "fileinto"];\nset "x" "no";\nset "a" "$";\nset "b" "{x}";\nset "c" "${a}${b}";\nfileinto "${c}";',
        ),
        ['fileinto ${x}'],
      );
    });
  });

  describe('relational (RFC 5231) and i;ascii-numeric', () => {
    const ctx = sieveContext({
      headers: ['X-Spam-Score: 12', 'X-Spam-Score: 3', 'X-Word: abc', 'Received: a', 'Received: b'],
    });
    const R = '"relational", "comparator-i;ascii-numeric"';
    it(':value compares with the comparator', async () => {
      assert.equal(await holds(R, 'header :value "gt" :comparator "i;ascii-numeric" "x-spam-score" "10"', ctx), true);
      assert.equal(await holds(R, 'header :value "gt" :comparator "i;ascii-numeric" "x-spam-score" "12"', ctx), false);
      assert.equal(await holds(R, 'header :value "gt" "x-spam-score" "2"', ctx), true, 'casemap: "3" > "2"');
      assert.equal(await holds(R, 'header :value "lt" "x-spam-score" "2"', ctx), true, 'casemap: "12" < "2"');
      assert.equal(
        await holds(R, 'header :value "gt" :comparator "i;ascii-numeric" "x-word" "99999999999999999999"', ctx),
        true,
        'a non-number is +infinity',
      );
      assert.equal(await holds(R, 'header :value "ne" "x-spam-score" "12"', ctx), true);
      const underscore = sieveContext({ headers: ['X-Word: _'] });
      assert.equal(
        await holds(R, 'header :value "lt" "x-word" "a"', underscore),
        true,
        'casemap orders "_" before "a"',
      );
    });
    it(':count counts the values', async () => {
      assert.equal(await holds(R, 'header :count "eq" :comparator "i;ascii-numeric" "received" "2"', ctx), true);
      assert.equal(
        await holds(R, 'header :count "ge" :comparator "i;ascii-numeric" ["received", "x-spam-score"] "4"', ctx),
        true,
      );
      assert.equal(await holds(R, 'address :count "eq" :comparator "i;ascii-numeric" "to" "1"'), true);
      assert.equal(await holds(R, 'header :is :comparator "i;ascii-numeric" "x-spam-score" "012"', ctx), true);
    });
  });

  describe('copy (RFC 3894) and mailbox (RFC 5490)', () => {
    it(':copy keeps the implicit keep', async () => {
      assert.deepEqual(
        await actions('require ["copy", "fileinto"];\nfileinto :copy "A";\nredirect :copy "c@example.net";'),
        ['fileinto A :copy', 'redirect c@example.net :copy', 'implicit keep'],
      );
    });
    it('mailboxexists and fileinto :create', async () => {
      const ctx = sieveContext({ mailboxes: ['INBOX', 'Lists'] });
      assert.equal(await holds('"mailbox"', 'mailboxexists ["INBOX", "Lists"]', ctx), true);
      assert.equal(await holds('"mailbox"', 'mailboxexists ["Lists", "Nope"]', ctx), false);
      assert.deepEqual(await actions('require ["mailbox", "fileinto"];\nfileinto :create "New";'), [
        'fileinto New :create',
      ]);
    });
  });

  describe('body (RFC 5173)', () => {
    const raw = Buffer.from(
      [
        'From: a@example.org',
        'Subject: parts',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b"',
        '',
        'preamble',
        '--b',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        'Caf=C3=A9 ouvert',
        '--b',
        'Content-Type: text/html',
        '',
        '<p>Hello <b>world</b></p>',
        '--b',
        'Content-Type: application/octet-stream',
        'Content-Transfer-Encoding: base64',
        'Content-Disposition: attachment',
        '',
        'c2VjcmV0IGJsb2I=',
        '--b',
        'Content-Type: message/rfc822',
        '',
        'Subject: inner subject',
        '',
        'inner body',
        '--b--',
        'epilogue',
        '',
      ].join('\r\n'),
    );
    const ctx = sieveContext({ raw });
    it(':text searches decoded text parts; :raw the undecoded body; :content by type', async () => {
      assert.equal(await holds('"body"', 'body :contains "café"', ctx), true);
      assert.equal(await holds('"body"', 'body :text :contains "hello world"', ctx), true);
      assert.equal(await holds('"body"', 'body :contains "secret"', ctx), false);
      assert.equal(await holds('"body"', 'body :raw :contains "Caf=C3=A9"', ctx), true);
      assert.equal(await holds('"body"', 'body :raw :contains "café"', ctx), false);
      assert.equal(await holds('"body"', 'body :content "application" :contains "secret blob"', ctx), true);
      assert.equal(await holds('"body"', 'body :content "text/html" :contains "<b>"', ctx), true);
      assert.equal(await holds('"body"', 'body :content "text/plain" :contains "<b>"', ctx), false);
    });
    it(':content of a multipart is its prologue and epilogue, of a message/rfc822 its header', async () => {
      assert.equal(await holds('"body"', 'body :content "multipart" :contains "preamble"', ctx), true);
      assert.equal(await holds('"body"', 'body :content "multipart" :contains "epilogue"', ctx), true);
      assert.equal(await holds('"body"', 'body :content "multipart" :contains "ouvert"', ctx), false);
      assert.equal(await holds('"body"', 'body :content "message/rfc822" :contains "inner subject"', ctx), true);
      assert.equal(await holds('"body"', 'body :content "message/rfc822" :contains "inner body"', ctx), false);
      assert.equal(await holds('"body"', 'body :content "text" :contains "inner body"', ctx), true);
      assert.equal(await holds('"body"', 'body :text :contains "inner subject"', ctx), false);
    });
  });

  describe('date and index (RFC 5260)', () => {
    const ctx = sieveContext({
      headers: [
        'Date: Tue, 1 Dec 2026 23:20:30 -0500',
        'Received: from a; Mon, 30 Nov 2026 08:00:00 +0000',
        'Received: from b; x',
      ],
      now: new Date('2026-12-07T12:34:56Z'),
    });
    it('date parts in a given zone and in the original zone', async () => {
      const t = (test: string) => holds('"date", "relational"', test, ctx);
      assert.equal(await t('date :originalzone "date" "date" "2026-12-01"'), true);
      assert.equal(await t('date :zone "+0000" "date" "date" "2026-12-02"'), true);
      assert.equal(await t('date :zone "+0000" "date" "time" "04:20:30"'), true);
      assert.equal(await t('date :originalzone "date" "zone" "-0500"'), true);
      assert.equal(await t('date :originalzone "date" "weekday" "2"'), true);
      assert.equal(await t('date :originalzone "date" "iso8601" "2026-12-01T23:20:30-05:00"'), true);
      assert.equal(await t('date :originalzone "date" "std11" "Tue, 01 Dec 2026 23:20:30 -0500"'), true);
      assert.equal(await t('date :zone "+0000" "date" "julian" "61376"'), true);
      assert.equal(await t('date :value "ge" :originalzone "date" "year" "2026"'), true);
      assert.equal(await t('date :zone "bogus" "date" "year" "2026"'), true, 'an invalid zone is ignored');
      assert.equal(await t('date :zone "+0000" "date" "century" "21"'), false, 'an unknown part is false');
      assert.equal(await t('date :zone "+0000" "received" "date" "2026-11-30"'), true, 'Received: after the last ;');
      assert.equal(await t('date :zone "+0000" "date" "iso8601" "2026-12-02T04:20:30Z"'), true);
      assert.equal(await t('date "x-missing" "year" "2026"'), false);
    });
    it('dates are read as leniently as Dovecot reads them, and refused where it refuses them', async () => {
      const iso = async (date: string) => {
        const r = await runSieve(
          'require ["date", "variables", "fileinto"];\nif date :originalzone :matches "date" "iso8601" "*" { fileinto "${1}"; }',
          sieveContext({ headers: [`Date: ${date}`] }),
        );
        return r.actions[0].type === 'fileinto' ? r.actions[0].mailbox : null;
      };
      assert.equal(await iso('1 December 26 10:20 +0100 junk'), '2026-12-01T10:20:00+01:00');
      assert.equal(await iso('Tue, 1 Dec 2026 10:20:30 +0100 (CET)'), '2026-12-01T10:20:30+01:00');
      assert.equal(await iso('Tue, 1 Dec 2026 10:20:30 A'), '2026-12-01T10:20:30+01:00', 'military A is +1');
      assert.equal(await iso('Tue, 1 Dec 2026 10:20:30 N'), '2026-12-01T10:20:30-01:00');
      assert.equal(await iso('Tue, 1 Dec 2026 10:20:30 +0199'), '2026-12-01T10:20:30+02:39');
      assert.equal(await iso('Tue, 1 Dec 2026 10:20:30 0100'), '2026-12-01T10:20:30Z', 'an unknown zone is +0000');
      assert.equal(await iso('Tue 1 Dec 2026 10:20:30 +0100'), null, 'a weekday needs its comma');
      assert.equal(await iso('Sun, 29 Feb 2026 10:20:30 +0100'), null, 'no 29 February in 2026');
      assert.equal(await iso('Tue, 1 Dec 999 10:20:30 +0100'), null, 'no three-digit years');
      assert.equal(await iso('Tue, 1 Dec 2026 24:00:00 +0100'), null);
    });

    it('currentdate reads the context clock', async () => {
      const t = (test: string) => holds('"date"', test, ctx);
      assert.equal(await t('currentdate :zone "+0100" "hour" "13"'), true);
      assert.equal(await t('currentdate :zone "+0000" "date" "2026-12-07"'), true);
    });
    it(':index picks one occurrence, :last counts from the end', async () => {
      const t = (test: string) => holds('"index", "date"', test, ctx);
      assert.equal(await t('header :index 2 :contains "received" "from b"'), true);
      assert.equal(await t('header :index 1 :last :contains "received" "from b"'), true);
      assert.equal(await t('header :index 3 :contains "received" ""'), false);
      assert.equal(await t('address :index 1 :is "from" "alice@example.org"'), false, 'no From in this message');
    });
  });

  describe('subaddress (RFC 5233)', () => {
    it(':user and :detail on address headers', async () => {
      const ctx = sieveContext({ headers: ['To: bob+lists+x@example.com, carol@example.com'] });
      assert.equal(await holds('"subaddress"', 'address :user "to" "bob"', ctx), true);
      assert.equal(await holds('"subaddress"', 'address :detail "to" "lists+x"', ctx), true);
      assert.equal(
        await holds(
          '"subaddress"',
          'address :detail :matches "to" "*"',
          sieveContext({ headers: ['To: carol@example.com'] }),
        ),
        false,
      );
      assert.equal(
        await holds('"subaddress"', 'address :detail "to" ""', sieveContext({ headers: ['To: carol+@example.com'] })),
        true,
      );
    });
  });

  describe('environment (RFC 5183)', () => {
    it('items come from the context; an unknown item matches nothing', async () => {
      assert.equal(await holds('"environment"', 'environment :is "location" "MDA"'), true);
      assert.equal(await holds('"environment"', 'environment :matches "name" "post*"'), true);
      assert.equal(await holds('"environment"', 'environment :contains "no-such-item" ""'), false);
    });
  });

  describe('encoded-character (RFC 5228 §2.4.2.4)', () => {
    it('decodes ${hex:} and ${unicode:} only when required', async () => {
      assert.deepEqual(
        await actions(
          'require ["encoded-character", "fileinto"];\nfileinto "${hex:46 6f}${unicode:e9 263a}${hex:zz}";',
        ),
        ['fileinto Foé☺${hex:zz}'],
      );
      assert.deepEqual(await actions('require "fileinto";\nfileinto "${hex:41}";'), ['fileinto ${hex:41}']);
    });
  });

  describe('include (RFC 6609)', () => {
    it('runs the included script with its own variables and shared globals; return ends it', async () => {
      const ctx = sieveContext({
        scripts: {
          'personal:lists':
            'require ["fileinto", "include", "variables"];\nglobal "folder";\nfileinto "${folder}";\nreturn;\nfileinto "never";',
          'global:common': 'require ["imap4flags"];\naddflag "common";',
        },
      });
      const r = await actions(
        `require ["include", "variables", "fileinto"];
        global "folder";
        set "folder" "Lists";
        set "local" "mine";
        include "lists";
        include :global "common";
        fileinto "\${global.folder}-\${local}";`,
        ctx,
      );
      assert.deepEqual(r, ['fileinto Lists', 'fileinto Lists-mine [common]']);
    });

    it(':once, :optional, missing scripts, loops and the depth limit', async () => {
      const ctx = sieveContext({
        scripts: {
          'personal:a': 'require "include";\ninclude "b";',
          'personal:b': 'require "include";\ninclude "a";',
          'personal:flag': 'require "imap4flags";\naddflag "x";',
          'personal:bad': 'fileinto "x";',
        },
      });
      assert.deepEqual(
        await actions(
          'require "include";\ninclude :once "flag";\ninclude :once "flag";\ninclude :optional "missing";',
          ctx,
        ),
        ['implicit keep [x]'],
      );
      assert.equal(ctx.loads.filter((l) => l === 'personal:flag').length, 1);
      await assert.rejects(runSieve('require "include";\ninclude "missing";', ctx), (e: unknown) => {
        assert.ok(e instanceof SieveRuntimeError);
        assert.match(e.message, /there is no personal script "missing"/);
        assert.deepEqual(e.position, { line: 2, column: 1 });
        return true;
      });
      await assert.rejects(
        runSieve('require "include";\ninclude "a";', ctx),
        /includes itself \(personal:a → personal:b → personal:a\)/,
      );
      await assert.rejects(
        runSieve('require "include";\ninclude "bad";', ctx),
        /the script "bad" has errors: line 1, column 1: the command fileinto needs/,
      );
      const many: Record<string, string> = {};
      for (let i = 0; i < 300; i++) many[`personal:m${i}`] = 'keep;';
      const includes = Array.from({ length: 300 }, (_, i) => `include "m${i}";`).join('\n');
      await assert.rejects(
        runSieve(`require "include";\n${includes}`, sieveContext({ scripts: many })),
        /more than 255 different scripts/,
      );
      const chain: Record<string, string> = {};
      for (let i = 0; i < 20; i++) chain[`personal:s${i}`] = `require "include";\ninclude "s${i + 1}";`;
      await assert.rejects(
        runSieve('require "include";\ninclude "s0";', sieveContext({ scripts: chain })),
        /more than 10 deep/,
      );
    });
  });

  describe('duplicate (RFC 7352)', () => {
    it('records the Message-ID, reports a seen one, :last refreshes it', async () => {
      const first = await runSieve('require "duplicate";\nif duplicate { discard; }');
      assert.deepEqual(summary(first), ['implicit keep']);
      assert.equal(first.duplicates.length, 1);
      assert.equal(first.duplicates[0].seconds, 12 * 3600);
      const key = first.duplicates[0].key;
      const again = await runSieve('require "duplicate";\nif duplicate { discard; }', sieveContext({ seen: [key] }));
      assert.deepEqual(summary(again), ['discard']);
      assert.deepEqual(again.duplicates, []);
      const last = await runSieve(
        'require "duplicate";\nif duplicate :last :seconds 999999 { discard; }',
        sieveContext({ seen: [key] }),
      );
      assert.deepEqual(last.duplicates, [{ key, seconds: 2 * 86400 }]);
    });
    it(':handle separates keys; :uniqueid and :header choose the value; no Message-ID: false', async () => {
      const a = await runSieve('require "duplicate";\nif duplicate :handle "a" {}');
      const b = await runSieve('require "duplicate";\nif duplicate :handle "b" {}');
      assert.notEqual(a.duplicates[0].key, b.duplicates[0].key);
      const u = await runSieve('require "duplicate";\nif duplicate :uniqueid "<m1@example.org>" {}');
      const h = await runSieve('require "duplicate";\nif duplicate :header "message-id" {}');
      assert.equal(u.duplicates[0].key, h.duplicates[0].key);
      const none = await runSieve(
        'require "duplicate";\nif duplicate { discard; }',
        sieveContext({ headers: ['Subject: x'] }),
      );
      assert.deepEqual(none.duplicates, []);
      assert.deepEqual(summary(none), ['implicit keep']);
    });
  });

  it('a message built by the harness has CRLF line ends', () => {
    assert.equal(sieveMessage(['A: b']).toString(), 'A: b\r\n\r\nHello.\r\n');
  });
});
