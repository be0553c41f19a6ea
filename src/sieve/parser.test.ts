/**
 * The lexer and parser (RFC 5228 §8): every corner of the grammar, and errors that name the line, the
 * column and what was expected.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SyntaxArgument, SyntaxCommand } from './ast.js';
import { compile } from './compile.js';
import { MAX_BLOCK_NESTING, parse } from './parser.js';

function commands(source: string): SyntaxCommand[] {
  const r = parse(source);
  if (!r.ok) assert.fail(`line ${r.pos.line}, column ${r.pos.column}: ${r.message}`);
  return r.script.commands;
}

function parseError(source: string): string {
  const r = parse(source);
  assert.equal(r.ok, false, 'expected a syntax error');
  return r.ok ? '' : `${r.pos.line}:${r.pos.column} ${r.message}`;
}

function str(arg: SyntaxArgument | undefined): string {
  assert.equal(arg?.kind, 'string');
  return arg?.kind === 'string' ? arg.value : '';
}

describe('sieve lexer and parser', () => {
  it('reads commands, arguments, tests, test lists and blocks with positions', () => {
    const [cmd] = commands('if anyof (header :contains "Subject" ["a", "b"], size :over 10K) {\n  fileinto "x";\n}\n');
    assert.equal(cmd.name, 'if');
    assert.deepEqual(cmd.pos, { line: 1, column: 1 });
    assert.equal(cmd.tests.length, 1);
    const anyof = cmd.tests[0];
    assert.equal(anyof.name, 'anyof');
    assert.equal(anyof.testList, true);
    assert.equal(anyof.tests.length, 2);
    const [header, size] = anyof.tests;
    assert.deepEqual(
      header.args.map((a) => a.kind),
      ['tag', 'string', 'list'],
    );
    assert.deepEqual(header.pos, { line: 1, column: 11 });
    assert.equal(size.args[1].kind === 'number' ? size.args[1].value : -1, 10 * 1024);
    assert.equal(cmd.block?.[0].name, 'fileinto');
    assert.deepEqual(cmd.block?.[0].pos, { line: 2, column: 3 });
  });

  it('numbers take K, M and G (either case)', () => {
    const [cmd] = commands('x 1 2k 3M 4g;');
    assert.deepEqual(
      cmd.args.map((a) => (a.kind === 'number' ? a.value : null)),
      [1, 2048, 3 * 1024 * 1024, 4 * 1024 ** 3],
    );
    assert.match(parseError('x 12kb;'), /^1:6 .*K, M or G/);
    assert.equal(commands('x 18446744073709551615;')[0].args[0].kind, 'number', 'up to 2^64 - 1, as Pigeonhole');
    assert.match(
      parseError('x 18446744073709551616;'),
      /^1:3 the number is too large \(the largest is 18446744073709551615\)/,
    );
    assert.match(parseError('x 17179869184G;'), /^1:3 the number is too large/);
  });

  it('quoted strings: \\\\ and \\" escapes, other backslashes dropped, line ends as CRLF', () => {
    const [cmd] = commands('x "a\\\\b\\"c\\d" "line1\nline2" "";');
    assert.equal(str(cmd.args[0]), 'a\\b"cd');
    assert.equal(str(cmd.args[1]), 'line1\r\nline2');
    assert.equal(str(cmd.args[2]), '');
  });

  it('multi-line strings: text:, dot-stuffing, the lone dot, a comment after text:', () => {
    const [a, b] = commands('x text:\r\nline one\r\n..dot\r\n.x\r\n.\r\n;\ny text: # note\nbody\n.\n;');
    assert.equal(str(a.args[0]), 'line one\r\n.dot\r\n.x\r\n');
    assert.equal(str(b.args[0]), 'body\r\n');
    assert.equal(str(commands('x text:\n.\n;')[0].args[0]), '');
    assert.match(parseError('x text: junk\n.\n;'), /^1:9 expected a line end .* after 'text:'/);
    assert.match(parseError('x text:\nno end\n'), /^1:3 the multi-line string .* not closed/);
  });

  it('comments: hash to the end of the line, bracket comments across lines', () => {
    const cmds = commands('# first\nkeep; /* a\n * b */ discard; # last');
    assert.deepEqual(
      cmds.map((c) => c.name),
      ['keep', 'discard'],
    );
    assert.deepEqual(cmds[1].pos, { line: 3, column: 9 });
    assert.match(parseError('keep; /* open'), /^1:7 the comment .* not closed: expected '\*\/'/);
  });

  it('identifiers and tags are case-insensitive', () => {
    const [cmd] = commands('FileInto :COPY "x";');
    assert.equal(cmd.name, 'fileinto');
    assert.deepEqual(cmd.args[0], { kind: 'tag', name: 'copy', pos: { line: 1, column: 10 } });
  });

  it('string lists of one and many strings', () => {
    const [cmd] = commands('x ["a"] ["a", "b" , "c"];');
    assert.deepEqual(
      cmd.args.map((a) => (a.kind === 'list' ? a.items.map((i) => i.value) : null)),
      [['a'], ['a', 'b', 'c']],
    );
  });

  it('errors name the line, the column and what was expected', () => {
    assert.equal(
      parseError('require "fileinto";\nif true {\n  fileinto "a"\n}\n'),
      "4:1 expected ';' after the command fileinto, found '}'",
    );
    assert.equal(parseError('keep'), "1:5 expected ';' after the command keep, found the end of the script");
    assert.equal(parseError('if true ]'), "1:9 expected '{' to open the block of if, found ']'");
    assert.match(
      parseError('if true { keep;'),
      /^1:16 expected '}' to close the block of if opened at line 1, column 9/,
    );
    assert.match(parseError('x ["a" "b"];'), /^1:8 expected ',' or '\]' in the string list opened at line 1, column 3/);
    assert.match(parseError('x [];'), /^1:4 expected a string in the string list/);
    assert.match(
      parseError('if anyof (true; false) {}'),
      /^1:15 expected ',' or '\)' in the test list opened at line 1, column 10/,
    );
    assert.match(parseError('if anyof () {}'), /^1:11 expected a test in the test list of the test anyof/);
    assert.match(parseError('keep; }'), /^1:7 unexpected '}': there is no block to close/);
    assert.match(parseError('x "abc'), /^1:3 the quoted string .* not closed: expected '"'/);
    assert.match(parseError('x : ;'), /^1:4 expected a tag name after ':'/);
    assert.match(parseError('x @;'), /^1:3 unexpected '@'/);
    assert.match(parseError('x "a\rb";'), /carriage return/);
    assert.match(parseError('keep;\n\n   ~'), /^3:4 /);
  });

  it('columns count characters, not bytes', () => {
    assert.match(parseError('x "été" ~'), /^1:9 /);
  });

  it('nesting is bounded', () => {
    const deep = `${'if true {'.repeat(MAX_BLOCK_NESTING + 1)}${'}'.repeat(MAX_BLOCK_NESTING + 1)}`;
    assert.match(parseError(deep), /nested more than 32 deep/);
    const ok = `${'if true {'.repeat(MAX_BLOCK_NESTING)}${'}'.repeat(MAX_BLOCK_NESTING)}`;
    assert.equal(parse(ok).ok, true);
    const tests = `if ${'not '.repeat(40)}true {}`;
    assert.match(parseError(tests), /tests are nested more than 32 deep/);
  });

  it('compile reports a syntax error as a positioned diagnostic', () => {
    const r = compile('require "fileinto";\nfileinto "a"\nkeep;');
    assert.equal(r.ok, false);
    if (!r.ok)
      assert.deepEqual(r.errors, [
        { line: 3, column: 1, message: "expected ';' after the command fileinto, found the identifier 'keep'" },
      ]);
  });

  it('an empty script and a script of comments are valid', () => {
    assert.deepEqual(commands(''), []);
    assert.deepEqual(commands('# nothing\n/* at all */\n'), []);
  });
});
