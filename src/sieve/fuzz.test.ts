// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Sieve's variables write ${…} inside plain strings
/**
 * Fuzzing the Sieve layer (issue 10 item 7): random scripts from the grammar, mutations of valid
 * scripts, and structural attacks (deep nesting, long strings and lists, many commands).
 * Time-bounded (a few seconds in `npm test`, FUZZ_SECONDS in `npm run fuzz`), seeded: a failure prints
 * FUZZ_SEED and FUZZ_ITERATION, which replay it (test/harness/fuzz.ts).
 *
 * For every input: `compile` never throws and takes time linear in the input; it returns a script or
 * errors that each have a line and a column inside the source and a non-empty message. Every script that
 * compiles runs to a result or a `SieveRuntimeError`, within the step limit, on a few messages.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fuzz, type Rand, timed } from '../../test/harness/fuzz.js';
import { sieveContext } from '../../test/harness/sieve.js';
import { compile } from './compile.js';
import { htmlText } from './ext/html-text.js';
import { SUPPORTED_EXTENSIONS } from './extensions.js';
import { run } from './interpret.js';
import { type CompileResult, SieveRuntimeError } from './types.js';

const SEEDS = [
  `require ["fileinto", "reject", "envelope", "imap4flags", "variables", "vacation", "relational",
  "comparator-i;ascii-numeric", "subaddress", "copy", "mailbox", "body", "date", "index", "environment",
  "duplicate", "include", "encoded-character", "vacation-seconds"];
if header :matches "subject" "*[*]*" { set :lower "tag" "\${2}"; fileinto :create "lists/\${tag}"; }
elsif address :detail :is "to" "spam" { addflag "\\\\Seen"; discard; }
elsif anyof (size :over 1M, not exists ["from", "date"]) { reject text:
Too big or broken.
..dot
.
; }
if body :text :contains ["viagra", "\${hex:41}"] { setflag "junk"; keep :flags "\${unicode:263a}"; }
if date :zone "+0200" :index 1 :last "date" "hour" "23" { stop; }
if currentdate :value "ge" :comparator "i;ascii-numeric" "year" "2020" { vacation :days 3 :subject "away" "gone"; }
if duplicate :seconds 60 :last { discard; }
if envelope :count "gt" :comparator "i;ascii-numeric" "from" "0" { redirect :copy "x@example.org"; }
if environment :is "location" "MDA" { include :optional :once "x"; }
if string :count "eq" ["a", ""] "1" { if mailboxexists "INBOX" { keep; } }
/* comment */ # other`,
  'if true { keep; } else { discard; }',
  'require "variables"; set "a" "${a}${a}${a}"; set "a" "${a}${a}${a}"; set "a" "${a}${a}${a}";',
];

const INTERESTING = Buffer.from('{}[]();,:"\\#/*\n\r .text:\0\xff${}hex:unicode:*?K', 'latin1');

const COMMANDS = [
  'keep',
  'discard',
  'stop',
  'fileinto',
  'redirect',
  'reject',
  'ereject',
  'vacation',
  'setflag',
  'addflag',
  'removeflag',
  'set',
  'include',
  'return',
  'global',
  'if',
  'elsif',
  'else',
  'require',
  'frob',
];
const TESTS = [
  'true',
  'false',
  'not',
  'allof',
  'anyof',
  'header',
  'address',
  'envelope',
  'exists',
  'size',
  'body',
  'date',
  'currentdate',
  'string',
  'hasflag',
  'mailboxexists',
  'environment',
  'duplicate',
  'nope',
];
const TAGS = [
  'is',
  'contains',
  'matches',
  'value',
  'count',
  'comparator',
  'all',
  'localpart',
  'domain',
  'user',
  'detail',
  'index',
  'last',
  'over',
  'under',
  'copy',
  'create',
  'flags',
  'days',
  'seconds',
  'subject',
  'from',
  'addresses',
  'mime',
  'handle',
  'lower',
  'upper',
  'length',
  'quotewildcard',
  'zone',
  'originalzone',
  'raw',
  'text',
  'content',
  'once',
  'optional',
  'global',
  'personal',
  'header',
  'uniqueid',
];
const STRINGS = [
  'subject',
  'from',
  'to',
  'x@example.org',
  '*',
  '?',
  '\\\\*',
  '${1}',
  '${a}',
  '${hex:41}',
  '${unicode:110000}',
  'gt',
  'i;ascii-numeric',
  'i;octet',
  'year',
  'date',
  '',
  'INBOX',
  'text/plain',
  '+0100',
  '\\\\Seen',
];

/** A random script from the grammar, mostly well-formed. */
function generate(rand: Rand, depth = 0): string {
  const out: string[] = [];
  if (depth === 0 && rand.chance(0.8)) {
    const exts = SUPPORTED_EXTENSIONS.filter(() => rand.chance(0.5));
    out.push(`require [${exts.map((e) => `"${e}"`).join(', ') || '"fileinto"'}];`);
  }
  const n = 1 + rand.int(depth > 2 ? 2 : 5);
  for (let i = 0; i < n; i++) {
    const name = rand.pick(COMMANDS);
    const args = generateArgs(rand);
    if (['if', 'elsif', 'else'].includes(name) && depth < 4)
      out.push(`${name} ${name === 'else' ? '' : generateTest(rand, 0)} {\n${generate(rand, depth + 1)}\n}`);
    else out.push(`${name} ${args};`);
  }
  return out.join('\n');
}

function generateArgs(rand: Rand): string {
  const parts: string[] = [];
  const n = rand.int(5);
  for (let i = 0; i < n; i++) {
    switch (rand.int(4)) {
      case 0:
        parts.push(`:${rand.pick(TAGS)}`);
        break;
      case 1:
        parts.push(String(rand.int(3) === 0 ? `${rand.int(100)}${rand.pick(['K', 'M', 'G', ''])}` : rand.int(5)));
        break;
      case 2:
        parts.push(`"${rand.pick(STRINGS)}"`);
        break;
      default:
        parts.push(`[${Array.from({ length: 1 + rand.int(3) }, () => `"${rand.pick(STRINGS)}"`).join(', ')}]`);
    }
  }
  return parts.join(' ');
}

function generateTest(rand: Rand, depth: number): string {
  const name = rand.pick(TESTS);
  if ((name === 'allof' || name === 'anyof') && depth < 4)
    return `${name} (${Array.from({ length: 1 + rand.int(3) }, () => generateTest(rand, depth + 1)).join(', ')})`;
  if (name === 'not' && depth < 4) return `not ${generateTest(rand, depth + 1)}`;
  return `${name} ${generateArgs(rand)}`;
}

const REQUIRE_ALL = `require [${SUPPORTED_EXTENSIONS.map((e) => `"${e}"`).join(', ')}];`;

/** Valid commands and tests with random strings in them, so that `run` gets many scripts to run. */
const TEMPLATES = [
  'if header :matches "subject" "$" { fileinto "$"; }',
  'if address :detail :contains ["to", "from"] "$" { addflag "$"; }',
  'if envelope :user :is "to" "$" { setflag "$"; }',
  'if header :value "gt" :comparator "i;ascii-numeric" "x-num" "$" { redirect "a@example.org"; }',
  'if header :count "ge" :comparator "i;ascii-numeric" "received" "$" { discard; }',
  'if string :matches "$" "$" { set :lower :upperfirst "v" "$${1}"; }',
  'set :length "n" "$";',
  'set :quotewildcard "q" "${v}$";',
  'if body :content "$" :contains "$" { keep :flags "$"; }',
  'if body :raw :matches "$" { fileinto :copy "$"; }',
  'if body :text :contains "$" { fileinto "$"; }',
  'if address :all :matches ["from", "to"] "$" { set "a" "${1}"; }',
  'if date :originalzone :matches "date" "$" "$" { set "d" "${1}"; }',
  'if date :zone "$" "date" "$" "$" { fileinto "${v}"; }',
  'if currentdate :value "ge" "year" "$" { addflag "v" "$"; }',
  'if hasflag :contains "$" { removeflag "$"; }',
  'if environment :matches "$" "$" { stop; }',
  'if duplicate :handle "$" :seconds 5 { discard; }',
  'if mailboxexists "$" { fileinto :create "$"; }',
  'vacation :subject "$" :from "b@example.com" :days 2 "$";',
  'if exists "$" { reject "$"; }',
  'include :optional "$";',
  'if not anyof (size :over 1K, header :is "$" "$") { keep; }',
];

function templated(rand: Rand): string {
  const lines = [REQUIRE_ALL];
  const n = 1 + rand.int(12);
  for (let i = 0; i < n; i++) {
    lines.push(rand.pick(TEMPLATES).replace(/\$(?!\{)/g, () => rand.pick(STRINGS).replace(/"/g, '')));
  }
  return lines.join('\n');
}

/** Inputs at the limits: deep nesting, long strings, long lists, many commands. */
function structural(rand: Rand): string {
  switch (rand.int(5)) {
    case 0:
      return `${'if true {'.repeat(rand.int(60))}keep;${'}'.repeat(rand.int(60))}`;
    case 1:
      return `if ${'not '.repeat(rand.int(60))}true {}`;
    case 2:
      return `require "reject"; reject "${'x'.repeat(rand.int(200_000))}";`;
    case 3:
      return `if header :is "x" [${Array.from({ length: rand.int(5000) }, (_, i) => `"${i}"`).join(',')}] {}`;
    default:
      return Array.from({ length: rand.int(3000) }, () => 'keep;').join('\n');
  }
}

function checkCompile(source: string): CompileResult {
  // ms: generous, so a busy 2-core CI machine does not trip it (timed() retries once); a super-linear
  // compile of the 200 KB inputs still takes seconds (the mail fuzzer's bound has the same shape).
  const bound = 250 + source.length / 200;
  const r = timed(`compile of ${source.length} characters`, bound, () => compile(source));
  if (!r.ok) {
    assert.ok(r.errors.length > 0);
    const lines = source.split('\n').length;
    for (const e of r.errors) {
      assert.ok(Number.isInteger(e.line) && e.line >= 1 && e.line <= lines + 1, `line ${e.line} of ${lines}`);
      assert.ok(Number.isInteger(e.column) && e.column >= 1, `column ${e.column}`);
      assert.ok(e.message.length > 0);
    }
  }
  return r;
}

const MESSAGES = [
  sieveContext(),
  sieveContext({ envelopeFrom: '', headers: ['Subject: =?utf-8?q?x?=', 'To: a: b@c;, , <>', 'Date: garbage'] }),
  sieveContext({ raw: Buffer.from('no header at all') }),
  sieveContext({
    raw: Buffer.from(
      [
        'From: "A, B" <a@x.example>, g: c@y.example;, =?utf-8?q?J=C3=B6rg?= <j@z.example>',
        'To: undisclosed-recipients:;',
        'Subject: =?iso-8859-1?q?caf=E9?= \xe9',
        'Date: Tue, 1 Dec 2026 10:20:30 A',
        'Received: from a by b; Mon, 30 Nov 2026 08:00:00 +0000',
        'List-Id: <l.example>',
        'Message-ID: <fuzz@x.example>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b"',
        '',
        'prologue',
        '--b',
        'Content-Type: text/html; charset=utf-8',
        '',
        '<p>Hello <b>world</b> &amp; <blockquote>q</blockquote><script>x</script></p>',
        '--b',
        'Content-Type: message/rfc822',
        '',
        'Subject: inner',
        '',
        'inner body',
        '--b',
        'Content-Type: application/octet-stream',
        'Content-Transfer-Encoding: base64',
        '',
        'AAEC',
        '--b--',
        'epilogue',
        '',
      ].join('\r\n'),
      'latin1',
    ),
  }),
];

async function checkRun(r: CompileResult): Promise<void> {
  if (!r.ok) return;
  for (const ctx of MESSAGES) {
    try {
      const result = await run(r.script, ctx, { maxSteps: 10_000 });
      assert.ok(Array.isArray(result.actions));
    } catch (e) {
      if (!(e instanceof SieveRuntimeError)) throw e;
    }
  }
}

const HTML_PIECES = [
  '<p>',
  '</p>',
  '<b>',
  '<!--',
  '-->',
  '-- >',
  '<script>',
  '</script>',
  '<style x>',
  '</style>',
  '<blockquote>',
  '</blockquote>',
  '<![CDATA[',
  ']]>',
  '&amp;',
  '&#233;',
  '&',
  ';',
  '"',
  "'",
  '\\',
  '>',
  '<',
  ' ',
  'text',
];

describe('sieve fuzz', () => {
  it('body :text of HTML: never throws, linear time', async () => {
    await fuzz('sieve-html', { seconds: 1, minIterations: 50 }, (rand) => {
      const html = Array.from({ length: rand.int(rand.chance(0.1) ? 20_000 : 200) }, () => rand.pick(HTML_PIECES)).join(
        '',
      );
      const text = timed(`htmlText of ${html.length} characters`, 100 + html.length / 200, () => htmlText(html));
      assert.equal(typeof text, 'string');
    });
  });

  it('the seed scripts compile', () => {
    for (const s of SEEDS) assert.equal(compile(s).ok, true, s);
  });

  it('random, mutated and structural scripts: compile never throws, errors are positioned, run ends', async (t) => {
    let compiled = 0;
    const report = await fuzz('sieve', { seconds: 4, minIterations: 100 }, async (rand) => {
      let source: string;
      switch (rand.int(5)) {
        case 0:
          source = generate(rand);
          break;
        case 1:
          source = rand
            .mutate(Buffer.from(rand.pick(SEEDS)), INTERESTING, 6)
            .toString(rand.chance(0.5) ? 'utf8' : 'latin1');
          break;
        case 2:
          source = rand.mutate(Buffer.from(generate(rand)), INTERESTING, 3).toString('utf8');
          break;
        case 3:
          source = structural(rand);
          break;
        default:
          source = templated(rand);
      }
      if (process.env.SIEVE_FUZZ_DUMP) console.log(JSON.stringify(source));
      const r = checkCompile(source);
      if (r.ok) compiled++;
      await checkRun(r);
    });
    assert.ok(report.iterations >= 1);
    t.diagnostic(
      `${report.iterations} scripts in ${report.seconds.toFixed(1)} s, ${compiled} of them compiled and ran`,
    );
  });
});
