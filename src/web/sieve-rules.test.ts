import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compile } from '../sieve/index.js';
import { quote, rulesSchema, rulesToScript, type SieveRules, scriptToRules } from './sieve-rules.js';

const rules = (r: unknown): SieveRules => rulesSchema.parse(r);

const SAMPLE = rules({
  filters: [
    { field: 'header', header: 'List-Id', value: 'lab.example.test', fileinto: 'Lists/Lab', markRead: true },
    { field: 'from', value: 'boss@example.test', flag: true },
    { field: 'subject', match: 'is', value: 'SPAM "now" \\o/', discard: true },
    { field: 'to', value: 'team', fileinto: 'Team', stop: true },
  ],
  vacation: { start: '2026-12-20', end: '2027-01-05', subject: 'Away', text: 'Back in January.\n"Quoted" \\ text' },
});

function assertCompiles(source: string): void {
  const result = compile(source);
  assert.ok(result.ok, `${source}\n${result.ok ? '' : JSON.stringify(result.errors)}`);
}

describe('sieve rules of the web form', () => {
  it('quotes strings as RFC 5228 §2.4.2 wants', () => {
    assert.equal(quote('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(quote('\\Seen'), '"\\\\Seen"');
  });

  it('writes a vacation reply for a period with currentdate and :days 1 by default', () => {
    const source = rulesToScript(rules({ vacation: { start: '2026-12-20', end: '2027-01-05', text: 'Away.' } }));
    assert.match(source, /^require \["date", "relational", "vacation"\];$/m);
    assert.match(source, /currentdate :value "ge" "date" "2026-12-20"/);
    assert.match(source, /currentdate :value "le" "date" "2027-01-05"/);
    assert.match(source, /vacation :days 1 "Away\.";/);
    assertCompiles(source);
  });

  it('writes an open-ended vacation without date tests and requires only vacation', () => {
    const source = rulesToScript(rules({ vacation: { text: 'Away.', days: 3, subject: 'Out' } }));
    assert.match(source, /^require \["vacation"\];$/m);
    assert.doesNotMatch(source, /currentdate/);
    assert.match(source, /^vacation :days 3 :subject "Out" "Away\.";$/m);
    assertCompiles(source);
  });

  it('writes the filters in order, then the vacation reply, and the script compiles', () => {
    const source = rulesToScript(SAMPLE);
    assert.match(source, /^require \["date", "fileinto", "imap4flags", "mailbox", "relational", "vacation"\];$/m);
    const at = (s: string) => source.indexOf(s);
    assert.ok(at('header :contains "list-id" "lab.example.test"') > 0);
    assert.ok(at('fileinto :flags ["\\\\Seen"] :create "Lists/Lab";') > at('list-id'));
    assert.ok(at('addflag ["\\\\Flagged"];') > at('"boss@example.test"'));
    assert.ok(at('header :is "subject" "SPAM \\"now\\" \\\\o/"') > at('addflag'));
    assert.ok(at('header :contains ["to", "cc"] "team"') > at('discard;'));
    assert.ok(at('vacation :days 1 :subject "Away"') > at('fileinto :create "Team";'));
    assertCompiles(source);
  });

  it('reads back the rules it wrote (also with CRLF line endings)', () => {
    const source = rulesToScript(SAMPLE);
    const back = scriptToRules(source);
    assert.equal(back.kind, 'form');
    assert.equal(back.kind === 'form' && rulesToScript(back.rules), source);
    assert.equal(scriptToRules(source.replace(/\n/g, '\r\n')).kind, 'form');
    const empty = rulesToScript(rules({}));
    assert.equal(scriptToRules(empty).kind, 'form');
    assertCompiles(empty);
  });

  it('tells a hand-edited script and a foreign one from its own', () => {
    const source = rulesToScript(SAMPLE);
    const edited = source.replace('"Team"', '"Team/2026"');
    const back = scriptToRules(edited);
    assert.equal(back.kind, 'edited');
    assert.equal(back.kind === 'edited' && back.rules?.filters.length, 4);
    assert.equal(scriptToRules('require "fileinto";\nfileinto "x";\n').kind, 'foreign');
    // The rules comment only counts in the leading comment block.
    assert.equal(scriptToRules(`keep;\n${source}`).kind, 'foreign');
    assert.equal(scriptToRules('# postbode-rules: {not json\nkeep;\n').kind, 'edited');
  });

  it('keeps what the user typed inside quoted strings: no command can be added', () => {
    const evil = 'x"; discard; if true { redirect "a@b.test'; // as typed, on one line
    const source = rulesToScript(rules({ filters: [{ field: 'from', value: evil, fileinto: `F"; discard; "` }] }));
    assert.doesNotMatch(source, /^\s*discard;/m);
    assert.doesNotMatch(source, /^\s*redirect/m);
    assertCompiles(source);
    assert.equal(scriptToRules(source).kind, 'form');
  });

  it('refuses rules that make no sense, saying which field', () => {
    const problems = (r: unknown) =>
      rulesSchema.safeParse(r).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    assert.match(problems({ filters: [{ field: 'from', value: 'x' }] }).join(), /needs an action/);
    assert.match(
      problems({ filters: [{ field: 'from', value: 'x', fileinto: 'A', discard: true }] }).join(),
      /not both/,
    );
    assert.match(problems({ filters: [{ field: 'header', value: 'x', stop: true }] }).join(), /filters\.0\.header/);
    assert.match(
      problems({ filters: [{ field: 'header', header: 'X:Y', value: 'x', stop: true }] }).join(),
      /no colon/,
    );
    assert.match(problems({ filters: [{ field: 'from', value: 'a\nb', stop: true }] }).join(), /line breaks/);
    assert.match(
      problems({ vacation: { start: '2027-01-02', end: '2027-01-01', text: 'x' } }).join(),
      /before the start/,
    );
    assert.match(problems({ vacation: { start: '2027-13-01', text: 'x' } }).join(), /vacation\.start/);
    assert.match(problems({ vacation: { text: '  ' } }).join(), /write the text/);
    assert.match(problems({ vacation: { text: 'x', days: 0 } }).join(), /vacation\.days/);
  });

  it('writes nothing for a disabled vacation reply, but keeps it in the rules', () => {
    const r = rules({ vacation: { enabled: false, text: 'Away.' } });
    const source = rulesToScript(r);
    assert.doesNotMatch(source, /vacation :days/);
    const back = scriptToRules(source);
    assert.equal(back.kind === 'form' && back.rules.vacation?.text, 'Away.');
  });
});
