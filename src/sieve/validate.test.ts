// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Sieve's variables write ${…} inside plain strings
/**
 * The validator: require, signatures, argument types, comparators and match types, elsif/else
 * placement, each error at the position it is about.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileErrors } from '../../test/harness/sieve.js';
import { compile } from './compile.js';
import { SUPPORTED_EXTENSIONS } from './extensions.js';

function ok(source: string): void {
  const r = compile(source);
  if (!r.ok) assert.fail(r.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n'));
}

describe('sieve validator', () => {
  it('accepts a script that uses every extension it requires', () => {
    ok(`require ["fileinto", "reject", "envelope", "imap4flags", "variables", "vacation", "relational",
      "comparator-i;ascii-numeric", "subaddress", "copy", "mailbox", "body", "date", "index",
      "environment", "duplicate", "include", "ereject", "encoded-character", "vacation-seconds"];
      if header :count "ge" :comparator "i;ascii-numeric" "received" "3" { addflag "\\\\Seen"; }
      if address :detail :is "to" "lists" { fileinto :copy :create :flags "x" "lists"; }
      if envelope :user "to" "bob" { set :lower "name" "\${1}"; }
      if body :content "text/plain" :contains "x" { keep; }
      if date :zone "+0100" :index 1 :last "date" "year" "2026" { stop; }
      elsif currentdate :value "gt" "hour" "12" { discard; }
      else { vacation :seconds 3600 :subject "away" :from "bob@example.com" :addresses ["b@example.com"] :mime :handle "h" "text"; }
      if duplicate :handle "x" :header "message-id" :seconds 60 :last { discard; }
      if environment :matches "name" "post*" { include :global :once :optional "common"; }
      if mailboxexists "Junk" { return; }
      global "g";
      if hasflag :contains "flagvar" "seen" { removeflag "flagvar" "\\\\Seen"; }
      if string :is "\${hex:41}" "A" { ereject "no"; }`);
  });

  it('require: only at the top, known extensions only (case-sensitive), each error at its string', () => {
    assert.equal(compileErrors('require "FileInto";').length, 1);
    assert.deepEqual(compileErrors('require ["fileinto", "nonsense"];'), [
      `1:22 unknown extension "nonsense" in require (supported: ${SUPPORTED_EXTENSIONS.join(', ')})`,
    ]);
    assert.deepEqual(compileErrors('keep;\nrequire "fileinto";'), [
      '2:1 require must come before any other command: move it to the top of the script',
    ]);
    assert.deepEqual(compileErrors('if true { require "fileinto"; }'), [
      '1:11 require is allowed only at the top of the script, before any other command',
    ]);
    assert.deepEqual(compileErrors('require "vacation";', { extensions: ['fileinto'] }), [
      '1:9 the extension "vacation" is not enabled on this server',
    ]);
    assert.deepEqual(compileErrors('require 1;'), [
      '1:9 require takes one string or string list: the extensions, e.g. require ["fileinto", "vacation"];',
    ]);
  });

  it('an extension used without require is an error at its position', () => {
    assert.deepEqual(compileErrors('keep;\nfileinto "x";'), [
      '2:1 the command fileinto needs the extension "fileinto": add require "fileinto"; at the top of the script',
    ]);
    assert.deepEqual(compileErrors('require "fileinto";\nfileinto :copy "x";'), [
      '2:10 the tag :copy needs the extension "copy": add require "copy"; at the top of the script',
    ]);
    assert.deepEqual(compileErrors('if header :count "gt" "to" "1" {}'), [
      '1:11 the tag :count needs the extension "relational": add require "relational"; at the top of the script',
    ]);
    assert.deepEqual(compileErrors('if header :comparator "i;ascii-numeric" "x" "1" {}'), [
      '1:23 the comparator i;ascii-numeric needs the extension "comparator-i;ascii-numeric": add require "comparator-i;ascii-numeric"; at the top of the script',
    ]);
    assert.deepEqual(compileErrors('if address :user "to" "x" {}'), [
      '1:12 the tag :user needs the extension "subaddress": add require "subaddress"; at the top of the script',
    ]);
    assert.deepEqual(compileErrors('require "imap4flags";\nsetflag "v" "\\\\Seen";'), [
      '2:9 the variable name argument of setflag needs the extension "variables": add require "variables"; at the top of the script',
    ]);
  });

  it('unknown commands, tests and tags; commands used as tests and back', () => {
    assert.deepEqual(compileErrors('frobnicate;'), ['1:1 unknown command "frobnicate"']);
    assert.deepEqual(compileErrors('if frob {}'), ['1:4 unknown test "frob"']);
    assert.deepEqual(compileErrors('if keep {}'), ['1:4 keep is a command, not a test']);
    assert.deepEqual(compileErrors('exists "x";'), [
      '1:1 exists is a test, not a command: use it in if, e.g. if exists … { … }',
    ]);
    assert.deepEqual(compileErrors('keep :foo;'), ['1:6 unknown tag :foo for the command keep (it takes :flags)']);
    assert.deepEqual(compileErrors('stop :foo;'), ['1:6 unknown tag :foo for the command stop (it takes no tags)']);
  });

  it('argument counts and types', () => {
    assert.deepEqual(compileErrors('require "fileinto";\nfileinto;'), [
      '2:1 the command fileinto needs 1 argument: missing the mailbox (a string)',
    ]);
    assert.deepEqual(compileErrors('require "fileinto";\nfileinto ["a", "b"];'), [
      '2:10 the mailbox of the command fileinto must be a string',
    ]);
    assert.deepEqual(compileErrors('keep "x";'), [
      '1:6 too many arguments for the command keep: it takes no positional arguments',
    ]);
    assert.deepEqual(compileErrors('if size 10 {}'), ['1:4 size needs :over or :under, e.g. size :over 100K']);
    assert.deepEqual(compileErrors('if size :over "10" {}'), ['1:15 the limit of the test size must be a number']);
    assert.deepEqual(compileErrors('if size :over :under 1 {}'), [
      '1:15 only one comparison is allowed: :over and :under exclude each other',
    ]);
    assert.deepEqual(compileErrors('if header :is :contains "a" "b" {}'), [
      '1:15 only one match type is allowed: :is and :contains exclude each other',
    ]);
    assert.deepEqual(compileErrors('if header "a" :is "b" {}'), [
      '1:15 unexpected tag :is after the positional arguments of the test header: tags come first',
    ]);
    assert.deepEqual(compileErrors('if header :comparator "i;unknown" "a" "b" {}'), [
      '1:23 unknown comparator "i;unknown" (available: i;octet, i;ascii-casemap, i;ascii-numeric)',
    ]);
    assert.deepEqual(compileErrors('if header :comparator {}'), [
      '1:11 the tag :comparator must be followed by a string',
    ]);
    ok('if exists "bad:name" {}'); // names no field: false at run time, as in Pigeonhole
  });

  it('comparator and match type checks', () => {
    assert.deepEqual(
      compileErrors(
        'require "comparator-i;ascii-numeric";\nif header :contains :comparator "i;ascii-numeric" "x" "1" {}',
      ),
      ['2:11 the comparator i;ascii-numeric supports :is, :value and :count only, not :contains'],
    );
    assert.deepEqual(compileErrors('require "relational";\nif header :value "gtx" "x" "1" {}'), [
      '2:18 unknown relation "gtx" for :value: use one of "gt", "ge", "lt", "le", "eq", "ne"',
    ]);
    assert.deepEqual(compileErrors('if address "subject" "x" {}'), [
      '1:12 the header "subject" holds no addresses, so the address test cannot read it: use header instead',
    ]);
    ok('if address :is "disposition-notification-to" "a@b.c" { keep; }');
  });

  it('elsif and else must follow if; if needs one test and a block', () => {
    assert.deepEqual(compileErrors('elsif true {}'), ['1:1 elsif must follow an if or elsif block']);
    assert.deepEqual(compileErrors('if true {} keep; else {}'), ['1:18 else must follow an if or elsif block']);
    assert.deepEqual(compileErrors('if true {} else {} else {}'), ['1:20 else must follow an if or elsif block']);
    assert.deepEqual(compileErrors('if {}'), [
      '1:1 if needs exactly one test without parentheses, e.g. if header :contains "subject" "x" { … } (use allof or anyof to join tests)',
    ]);
    assert.equal(compileErrors('if (true) {}').length, 1, 'a test list is not a test (Pigeonhole agrees)');
    assert.equal(compileErrors('if not (true) {}').length, 1);
    assert.equal(compileErrors('if allof true {}').length, 1);
    assert.deepEqual(compileErrors('if true;'), ['1:1 if needs a block { … }']);
    assert.deepEqual(compileErrors('keep {}'), ["1:1 keep takes no block: end it with ';'"]);
    assert.deepEqual(compileErrors('if true {} else true {}'), ['1:17 else takes no test: use elsif for a condition']);
    assert.deepEqual(compileErrors('if not (true, false) {}'), [
      '1:4 not needs exactly one test without parentheses, e.g. not exists "x"',
    ]);
    assert.deepEqual(compileErrors('if allof {}'), [
      '1:4 allof needs a list of tests in parentheses, e.g. allof (true, false)',
    ]);
    assert.deepEqual(compileErrors('if true keep; {}').length, 1);
  });

  it('a missing semicolon before the next command is named as such', () => {
    assert.deepEqual(compileErrors('require "fileinto"\nif true { keep; }'), [
      "2:1 expected ';' after the command require, found the identifier 'if'",
    ]);
    assert.deepEqual(compileErrors('keep\ndiscard;'), [
      "2:1 expected ';' after the command keep, found the identifier 'discard'",
    ]);
  });

  it('reports independent errors together, sorted by position', () => {
    assert.deepEqual(compileErrors('fileinto "a";\nfrob;\nif nope {}'), [
      '1:1 the command fileinto needs the extension "fileinto": add require "fileinto"; at the top of the script',
      '2:1 unknown command "frob"',
      '3:4 unknown test "nope"',
    ]);
    assert.deepEqual(compileErrors('if anyof (nope, true, nada) {}'), [
      '1:11 unknown test "nope"',
      '1:23 unknown test "nada"',
    ]);
  });

  it('addresses of redirect and vacation are checked when constant', () => {
    assert.deepEqual(compileErrors('redirect "not an address";'), [
      '1:10 the redirect address "not an address" is not a valid mail address: expected local-part@domain',
    ]);
    ok('redirect "Bob <bob@example.com>";');
    ok('redirect "bob@example.com (comment)";'); // an RFC 5322 mailbox, as Pigeonhole reads it
    assert.deepEqual(compileErrors('redirect "a@example.com, b@example.com";'), [
      '1:10 the redirect address "a@example.com, b@example.com" is not a valid mail address: expected one address, local-part@domain',
    ]);
    assert.deepEqual(compileErrors('redirect "b\u00f6b@example.com";'), [
      '1:10 the redirect address "b\u00f6b@example.com" is not a valid mail address: non-ASCII (SMTPUTF8) addresses are not supported here',
    ]);
    assert.deepEqual(compileErrors('require "vacation";\nvacation :from "x" "away";'), [
      '2:16 the :from address "x" is not a valid mail address: expected local-part@domain',
    ]);
    ok('require ["variables"];\nset "a" "b@example.com";\nredirect "${a}";');
  });

  it('variables: names and modifiers', () => {
    assert.deepEqual(compileErrors('require "variables";\nset "1x" "v";'), [
      `2:5 "1x" is not a valid variable name: use letters, digits and '_', not starting with a digit`,
    ]);
    assert.deepEqual(compileErrors('require "variables";\nset :lower :upper "a" "v";'), [
      '2:12 the modifiers :lower and :upper cannot be used together',
    ]);
    ok('require "variables";\nset :lower :upperfirst :length "a" "v";');
    assert.deepEqual(compileErrors('require "variables";\nset "global.x" "v";').length, 1);
    ok('require ["variables", "include"];\nset "global.x" "v";');
  });

  it('at most 255 variables', () => {
    const sets = (n: number) => Array.from({ length: n }, (_, i) => `set "v${i}" "x";`).join('\n');
    ok(`require "variables";\n${sets(255)}\nset "v0" "again";`);
    assert.deepEqual(compileErrors(`require "variables";\n${sets(256)}`), [
      '257:5 the script uses more than 255 variables (the limit): reuse some of them',
    ]);
  });

  it('encoded-character: decoded when required, errors for invalid code points and invalid UTF-8', () => {
    assert.deepEqual(compileErrors('require ["encoded-character", "fileinto"];\nfileinto "${hex:c3}x";'), [
      '2:10 the ${hex:…} octets of this string are not valid UTF-8',
    ]);
    ok('require ["encoded-character", "fileinto"];\nfileinto "${hex:c3}${hex:a9}";');
    assert.deepEqual(compileErrors('require "encoded-character";\nkeep :flags "${unicode:D800}";').length, 1);
    assert.deepEqual(compileErrors('require ["encoded-character", "imap4flags"];\nkeep :flags "${unicode:D800}";'), [
      '2:13 ${unicode:D800} is not a Unicode character: use U+0000–U+D7FF or U+E000–U+10FFFF',
    ]);
  });

  it('index, date, envelope and include arguments', () => {
    assert.deepEqual(compileErrors('require "index";\nif header :last "to" "x" {}'), [
      '2:11 :last needs :index (e.g. :index 1 :last)',
    ]);
    assert.deepEqual(compileErrors('require "index";\nif header :index 0 "to" "x" {}'), ['2:18 :index counts from 1']);
    ok('require "date";\nif date "date" "century" "x" {}'); // false at run time, as in Pigeonhole
    assert.deepEqual(compileErrors('require "envelope";\nif envelope "bcc" "x" {}'), [
      '2:13 unknown envelope part "bcc" (use "from", "to" or "auth")',
    ]);
    assert.deepEqual(compileErrors('require "envelope";\nif envelope :all "auth" "x" {}'), [
      '2:13 the address part :all cannot be used with the envelope part "auth", which is not an address: leave the address part out',
    ]);
    assert.deepEqual(compileErrors('require "include";\ninclude "../etc/passwd";'), [
      `2:9 "../etc/passwd" is not a valid script name: it must be non-empty, without '/' or control characters`,
    ]);
    assert.deepEqual(compileErrors('require "include";\ninclude :personal :global "x";'), [
      '2:19 only one location is allowed: :personal and :global exclude each other',
    ]);
    assert.deepEqual(compileErrors('require "include";\nglobal "x";'), [
      '2:1 the command global needs the extension "variables": add require "variables"; at the top of the script',
    ]);
  });

  it('the script size limit', () => {
    assert.deepEqual(compileErrors('keep;', { limits: { maxScriptBytes: 4 } }), [
      '1:1 the script is 5 bytes long, more than the limit of 4 bytes: make it shorter',
    ]);
  });
});
