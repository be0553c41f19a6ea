/**
 * The syntactic grammar of RFC 5228 §8.2 into the syntax tree of ast.ts:
 *
 *   commands = *command;  command = identifier arguments (";" / block);  block = "{" commands "}"
 *   arguments = *argument [ test / test-list ];  argument = string-list / number / tag
 *   string-list = "[" string *("," string) "]" / string;  test = identifier arguments
 *   test-list = "(" test *("," test) ")"
 *
 * Invariants:
 * - Knows no command: which commands exist and what they take is validate.ts's business. It only
 *   knows that `if`, `elsif` and `else` want a block, to say so when one is missing.
 * - Stops at the first error (a `SieveSyntaxError` with the position of the offending token and what
 *   was expected there); nesting is bounded (blocks and tests each 32 deep, as Pigeonhole) so no
 *   input can exhaust the stack.
 */

import type { Pos, SyntaxArgument, SyntaxCommand, SyntaxScript, SyntaxString, SyntaxTest } from './ast.js';
import { Lexer, SieveSyntaxError, type Token } from './lexer.js';

export const MAX_BLOCK_NESTING = 32;
export const MAX_TEST_NESTING = 32;

const BLOCK_COMMANDS = new Set(['if', 'elsif', 'else']);

/** A token as an error message names it. */
function describe(t: Token): string {
  switch (t.kind) {
    case 'identifier':
      return `the identifier '${t.text}'`;
    case 'tag':
      return `the tag ':${t.text}'`;
    case 'number':
      return `the number ${t.text}`;
    case 'string': {
      const v = t.text.length > 30 ? `${t.text.slice(0, 30)}…` : t.text;
      return `the string "${v.replace(/\r\n/g, '\\n')}"`;
    }
    case 'eof':
      return 'the end of the script';
    default:
      return `'${t.kind}'`;
  }
}

class Parser {
  private readonly lexer: Lexer;
  private tok: Token;
  private blockDepth = 0;
  private testDepth = 0;

  constructor(source: string) {
    this.lexer = new Lexer(source);
    this.tok = this.lexer.next();
  }

  /** The current token's kind (a method, so TypeScript does not keep a narrowing across shifts). */
  private kind(): Token['kind'] {
    return this.tok.kind;
  }

  private shift(): Token {
    const t = this.tok;
    this.tok = this.lexer.next();
    return t;
  }

  private fail(expected: string, at: Token = this.tok): never {
    throw new SieveSyntaxError(`${expected}, found ${describe(at)}`, at.pos);
  }

  script(): SyntaxScript {
    const commands = this.commands();
    if (this.tok.kind !== 'eof') {
      if (this.tok.kind === '}') this.fail("unexpected '}': there is no block to close");
      this.fail('expected a command');
    }
    return { commands };
  }

  private commands(): SyntaxCommand[] {
    const out: SyntaxCommand[] = [];
    while (this.tok.kind === 'identifier') out.push(this.command());
    return out;
  }

  private command(): SyntaxCommand {
    const id = this.shift();
    const name = id.text;
    const { args, tests, testList } = this.arguments(`the command ${name}`);
    if (this.tok.kind === ';') {
      this.shift();
      return { name, pos: id.pos, args, tests, testList, block: null };
    }
    if (this.tok.kind === '{') {
      const open = this.shift();
      if (++this.blockDepth > MAX_BLOCK_NESTING)
        throw new SieveSyntaxError(`blocks are nested more than ${MAX_BLOCK_NESTING} deep`, open.pos);
      const block = this.commands();
      if (this.kind() !== '}')
        this.fail(
          `expected '}' to close the block of ${name} opened at line ${open.pos.line}, column ${open.pos.column} (or a command)`,
        );
      this.shift();
      this.blockDepth--;
      return { name, pos: id.pos, args, tests, testList, block };
    }
    if (BLOCK_COMMANDS.has(name)) this.fail(`expected '{' to open the block of ${name}`);
    return this.fail(`expected ';' after the command ${name}`);
  }

  private arguments(what: string): { args: SyntaxArgument[]; tests: SyntaxTest[]; testList: boolean } {
    const args: SyntaxArgument[] = [];
    for (;;) {
      const t = this.tok;
      if (t.kind === 'string') {
        this.shift();
        args.push({ kind: 'string', value: t.text, pos: t.pos });
      } else if (t.kind === 'number') {
        this.shift();
        args.push({ kind: 'number', value: t.value, pos: t.pos });
      } else if (t.kind === 'tag') {
        this.shift();
        args.push({ kind: 'tag', name: t.text, pos: t.pos });
      } else if (t.kind === '[') {
        args.push(this.stringList(what));
      } else break;
    }
    if (this.tok.kind === 'identifier') return { args, tests: [this.test()], testList: false };
    if (this.tok.kind === '(') {
      const open = this.shift();
      const tests: SyntaxTest[] = [];
      for (;;) {
        if (this.kind() !== 'identifier') this.fail(`expected a test in the test list of ${what}`);
        tests.push(this.test());
        if (this.kind() === ',') {
          this.shift();
          continue;
        }
        if (this.kind() === ')') break;
        this.fail(`expected ',' or ')' in the test list opened at line ${open.pos.line}, column ${open.pos.column}`);
      }
      this.shift();
      return { args, tests, testList: true };
    }
    return { args, tests: [], testList: false };
  }

  private stringList(what: string): SyntaxArgument {
    const open = this.shift();
    const items: SyntaxString[] = [];
    for (;;) {
      const t = this.tok;
      if (t.kind !== 'string') this.fail(`expected a string in the string list of ${what}`);
      this.shift();
      items.push({ kind: 'string', value: t.text, pos: t.pos });
      if (this.tok.kind === ',') {
        this.shift();
        continue;
      }
      if (this.tok.kind === ']') break;
      this.fail(`expected ',' or ']' in the string list opened at line ${open.pos.line}, column ${open.pos.column}`);
    }
    this.shift();
    return { kind: 'list', items, pos: open.pos };
  }

  private test(): SyntaxTest {
    const id = this.shift();
    if (++this.testDepth > MAX_TEST_NESTING)
      throw new SieveSyntaxError(`tests are nested more than ${MAX_TEST_NESTING} deep`, id.pos);
    const { args, tests, testList } = this.arguments(`the test ${id.text}`);
    this.testDepth--;
    return { name: id.text, pos: id.pos, args, tests, testList };
  }
}

export type ParseResult = { ok: true; script: SyntaxScript } | { ok: false; message: string; pos: Pos };

/** Parses a script. Never throws: a syntax error comes back with its position. */
export function parse(source: string): ParseResult {
  try {
    return { ok: true, script: new Parser(source).script() };
  } catch (e) {
    if (e instanceof SieveSyntaxError) return { ok: false, message: e.message, pos: e.pos };
    throw e;
  }
}
