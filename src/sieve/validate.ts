/**
 * Semantic checks of a parsed script (RFC 5228 §2.10.5, §3, and each extension's grammar) and the
 * translation into the checked tree of ast.ts that the interpreter runs.
 *
 * Invariants:
 * - Every problem is reported with the position of the argument, tag or command it is about, and the
 *   message says what was expected. Checking goes on after an error (within the same command it
 *   stops), so a user sees every independent mistake at once.
 * - `require` only at the top, before any other command; an unknown or disabled extension in it is an
 *   error at its string; a command, test, tag, comparator or match type of an extension that was not
 *   required is an error at its position.
 * - Signatures are data: the tags each command and test accepts (with the extension each needs and
 *   the type of its argument), then the positional arguments, checked by type. Tagged arguments come
 *   before positional ones (as Pigeonhole requires).
 * - Strings are turned into `Str`: `${hex:…}`/`${unicode:…}` decoded when encoded-character is
 *   required (RFC 5228 §2.4.2.4), and marked `dynamic` when variables is required and `${` appears.
 * - This file holds the framework (require, blocks, arguments) and the commands; the tests, with the
 *   comparator and match-type rules they share, are in validate-tests.ts, which uses the helpers
 *   here (`args`, `positional`, `str`, `need`, `fail`: public for that file only).
 */

import { parseAddressList } from '../mail/index.js';
import type {
  CheckedScript,
  Command,
  Pos,
  Str,
  StrList,
  SyntaxArgument,
  SyntaxCommand,
  SyntaxScript,
  SyntaxString,
  SyntaxTest,
  Test,
} from './ast.js';
import { decodeEncodedCharacters } from './ext/encoded-character.js';
import { isValidVariableName, MAX_VARIABLES, MODIFIER_PRECEDENCE } from './ext/variables.js';
import { IMPLIED, SUPPORTED_EXTENSIONS } from './extensions.js';
import { quoteLocalPart } from './message.js';
import type { SieveDiagnostic } from './types.js';
import { checkTest } from './validate-tests.js';

export type ArgType = 'string' | 'stringlist' | 'number';

export interface TagDef {
  /** The extension the tag needs, or null for the base language. */
  ext: string | null;
  /** The type of the argument that follows the tag, if it takes one. */
  arg?: ArgType;
  /** Tags of one group exclude each other (e.g. the match types). */
  group?: string;
}

export type TagTable = Record<string, TagDef>;

/** Thrown by `fail`: the current command or test is abandoned (the error is already recorded). */
export class Abort extends Error {}

/** The tags and positional arguments of one command or test, after the generic checks. */
export class Args {
  constructor(
    readonly what: string,
    readonly pos: Pos,
    readonly tags: Map<string, { pos: Pos; arg: SyntaxArgument | null }>,
    readonly positional: SyntaxArgument[],
  ) {}

  has(tag: string): boolean {
    return this.tags.has(tag);
  }
}

export interface ValidateOptions {
  extensions: readonly string[];
}

export class Validator {
  readonly errors: SieveDiagnostic[] = [];
  private readonly required = new Set<string>();
  private readonly requires: string[] = [];
  private readonly enabled: Set<string>;
  /** The variable names the script sets (each `set` of a new name), bounded by MAX_VARIABLES. */
  private readonly variables = new Set<string>();

  constructor(options: ValidateOptions) {
    this.enabled = new Set(options.extensions);
  }

  private error(pos: Pos, message: string): void {
    this.errors.push({ line: pos.line, column: pos.column, message });
  }

  /** Reports and abandons the current command or test. */
  fail(pos: Pos, message: string): never {
    this.error(pos, message);
    throw new Abort();
  }

  has(ext: string): boolean {
    return this.required.has(ext);
  }

  need(ext: string, pos: Pos, what: string): void {
    if (!this.has(ext))
      this.fail(pos, `${what} needs the extension "${ext}": add require "${ext}"; at the top of the script`);
  }

  validate(script: SyntaxScript): CheckedScript {
    let seenOther = false;
    const top: SyntaxCommand[] = [];
    for (const cmd of script.commands) {
      if (cmd.name === 'require') {
        if (seenOther)
          this.error(cmd.pos, 'require must come before any other command: move it to the top of the script');
        else this.require(cmd);
        continue;
      }
      seenOther = true;
      top.push(cmd);
    }
    return { commands: this.block(top), requires: this.requires };
  }

  private require(cmd: SyntaxCommand): void {
    try {
      this.noTest(cmd);
      if (cmd.block !== null) this.fail(cmd.pos, "require takes no block: end it with ';'");
      if (cmd.args.length !== 1 || cmd.args[0].kind === 'number' || cmd.args[0].kind === 'tag')
        this.fail(
          cmd.args[0]?.pos ?? cmd.pos,
          'require takes one string or string list: the extensions, e.g. require ["fileinto", "vacation"];',
        );
      const arg = cmd.args[0];
      const items = arg.kind === 'list' ? arg.items : arg.kind === 'string' ? [arg] : [];
      for (const item of items) {
        const name = item.value; // capability names are case-sensitive (as in Pigeonhole)
        if (!SUPPORTED_EXTENSIONS.includes(name)) {
          this.error(
            item.pos,
            `unknown extension "${item.value}" in require (supported: ${SUPPORTED_EXTENSIONS.join(', ')})`,
          );
          continue;
        }
        if (!this.enabled.has(name)) {
          this.error(item.pos, `the extension "${name}" is not enabled on this server`);
          continue;
        }
        for (const n of [name, ...(IMPLIED[name] ?? [])]) {
          if (!this.required.has(n)) {
            this.required.add(n);
            this.requires.push(n);
          }
        }
      }
    } catch (e) {
      if (!(e instanceof Abort)) throw e;
    }
  }

  /** A block: joins if/elsif/else, checks each command. */
  private block(cmds: readonly SyntaxCommand[]): Command[] {
    const out: Command[] = [];
    let openIf: Extract<Command, { kind: 'if' }> | null = null;
    for (const cmd of cmds) {
      try {
        if (cmd.name === 'require') {
          openIf = null;
          this.fail(cmd.pos, 'require is allowed only at the top of the script, before any other command');
        }
        if (cmd.name === 'elsif' || cmd.name === 'else') {
          const current = openIf;
          if (current === null) {
            openIf = null;
            this.fail(cmd.pos, `${cmd.name} must follow an if or elsif block`);
          }
          if (cmd.name === 'elsif') {
            const test = this.conditional(cmd);
            current.branches.push({ test, block: this.subBlock(cmd) });
          } else {
            this.noArgs(cmd);
            if (cmd.tests.length > 0) this.fail(cmd.tests[0].pos, 'else takes no test: use elsif for a condition');
            current.otherwise = this.subBlock(cmd);
            openIf = null;
          }
          continue;
        }
        openIf = null;
        if (cmd.name === 'if') {
          const test = this.conditional(cmd);
          const node: Extract<Command, { kind: 'if' }> = {
            kind: 'if',
            pos: cmd.pos,
            branches: [{ test, block: this.subBlock(cmd) }],
            otherwise: null,
          };
          out.push(node);
          openIf = node;
          continue;
        }
        out.push(this.command(cmd));
      } catch (e) {
        if (!(e instanceof Abort)) throw e;
      }
    }
    return out;
  }

  private subBlock(cmd: SyntaxCommand): Command[] {
    if (cmd.block === null) this.fail(cmd.pos, `${cmd.name} needs a block { … }`);
    return this.block(cmd.block);
  }

  /** A command that takes no test; `fileinto "a"` newline `keep;` parses as one with a test, so say what is missing. */
  private noTest(cmd: SyntaxCommand): void {
    if (cmd.tests.length === 0) return;
    const t = cmd.tests[0];
    if (!cmd.testList && isCommandName(t.name))
      this.fail(t.pos, `expected ';' after the command ${cmd.name}, found the identifier '${t.name}'`);
    this.fail(t.pos, `${cmd.name} takes no test`);
  }

  noArgs(cmd: SyntaxCommand | SyntaxTest): void {
    if (cmd.args.length > 0) this.fail(cmd.args[0].pos, `${cmd.name} takes no arguments`);
  }

  private conditional(cmd: SyntaxCommand): Test {
    this.noArgs(cmd);
    if (cmd.tests.length !== 1 || cmd.testList)
      this.fail(
        cmd.tests[0]?.pos ?? cmd.pos,
        `${cmd.name} needs exactly one test without parentheses, e.g. ${cmd.name} header :contains "subject" "x" { … } (use allof or anyof to join tests)`,
      );
    return checkTest(this, cmd.tests[0]);
  }

  // ---- arguments ----

  /** Splits tags from positional arguments and checks the tags against `table`. */
  args(node: SyntaxCommand | SyntaxTest, what: string, table: TagTable): Args {
    const tags = new Map<string, { pos: Pos; arg: SyntaxArgument | null }>();
    const groups = new Map<string, string>();
    let i = 0;
    const list = node.args;
    while (i < list.length && list[i].kind === 'tag') {
      const tag = list[i] as Extract<SyntaxArgument, { kind: 'tag' }>;
      const def = Object.hasOwn(table, tag.name) ? table[tag.name] : undefined;
      if (def === undefined) {
        const known = Object.keys(table).map((t) => `:${t}`);
        this.fail(
          tag.pos,
          `unknown tag :${tag.name} for ${what}${known.length > 0 ? ` (it takes ${known.join(', ')})` : ' (it takes no tags)'}`,
        );
      }
      if (def.ext !== null) this.need(def.ext, tag.pos, `the tag :${tag.name}`);
      if (tags.has(tag.name)) this.fail(tag.pos, `the tag :${tag.name} is given twice`);
      if (def.group !== undefined) {
        const other = groups.get(def.group);
        if (other !== undefined)
          this.fail(tag.pos, `only one ${def.group} is allowed: :${other} and :${tag.name} exclude each other`);
        groups.set(def.group, tag.name);
      }
      i++;
      let arg: SyntaxArgument | null = null;
      if (def.arg !== undefined) {
        arg = list[i] ?? null;
        if (arg === null || !fits(arg, def.arg))
          this.fail(arg?.pos ?? tag.pos, `the tag :${tag.name} must be followed by ${typeName(def.arg)}`);
        i++;
      }
      tags.set(tag.name, { pos: tag.pos, arg });
    }
    const positional = list.slice(i);
    const stray = positional.find((a) => a.kind === 'tag');
    if (stray !== undefined && stray.kind === 'tag')
      this.fail(stray.pos, `unexpected tag :${stray.name} after the positional arguments of ${what}: tags come first`);
    return new Args(what, node.pos, tags, positional);
  }

  /** Checks the count and types of the positional arguments. */
  positional(a: Args, types: readonly [string, ArgType][]): SyntaxArgument[] {
    const got = a.positional;
    for (let i = 0; i < types.length; i++) {
      const [name, type] = types[i];
      const arg = got[i];
      if (arg === undefined)
        this.fail(
          a.pos,
          `${a.what} needs ${types.length} argument${types.length > 1 ? 's' : ''}: missing the ${name} (${typeName(type)})`,
        );
      if (!fits(arg, type)) this.fail(arg.pos, `the ${name} of ${a.what} must be ${typeName(type)}`);
    }
    if (got.length > types.length)
      this.fail(got[types.length].pos, `too many arguments for ${a.what}: it takes ${describeArgs(types)}`);
    return got;
  }

  str(arg: SyntaxArgument): Str {
    const s = arg as SyntaxString;
    let value = s.value;
    if (this.has('encoded-character')) {
      const decoded = decodeEncodedCharacters(value);
      if (!decoded.ok) this.fail(s.pos, decoded.error);
      value = decoded.value;
    }
    return { value, pos: s.pos, dynamic: this.has('variables') && value.includes('${') };
  }

  list(arg: SyntaxArgument): StrList {
    return arg.kind === 'list' ? arg.items.map((i) => this.str(i)) : [this.str(arg)];
  }

  tagStr(a: Args, tag: string): Str | null {
    const t = a.tags.get(tag);
    return t?.arg ? this.str(t.arg) : null;
  }

  tagNum(a: Args, tag: string): number | null {
    const t = a.tags.get(tag);
    return t?.arg?.kind === 'number' ? t.arg.value : null;
  }

  private address(s: Str, what: string): Str {
    if (!s.dynamic && addressError(s.value) !== null)
      this.fail(s.pos, `the ${what} "${s.value}" is not a valid mail address: ${addressError(s.value)}`);
    return s;
  }

  private flagsTag(a: Args): StrList | null {
    const t = a.tags.get('flags');
    return t?.arg ? this.list(t.arg) : null;
  }

  // ---- commands ----

  private command(cmd: SyntaxCommand): Command {
    const what = `the command ${cmd.name}`;
    this.noTest(cmd);
    if (cmd.block !== null) this.fail(cmd.pos, `${cmd.name} takes no block: end it with ';'`);
    const pos = cmd.pos;
    switch (cmd.name) {
      case 'stop':
        this.positional(this.args(cmd, what, {}), []);
        return { kind: 'stop', pos };
      case 'keep': {
        const a = this.args(cmd, what, { flags: { ext: 'imap4flags', arg: 'stringlist' } });
        this.positional(a, []);
        return { kind: 'keep', pos, flags: this.flagsTag(a) };
      }
      case 'discard':
        this.positional(this.args(cmd, what, {}), []);
        return { kind: 'discard', pos };
      case 'fileinto': {
        this.need('fileinto', pos, what);
        const a = this.args(cmd, what, {
          copy: { ext: 'copy' },
          create: { ext: 'mailbox' },
          flags: { ext: 'imap4flags', arg: 'stringlist' },
        });
        const [mailbox] = this.positional(a, [['mailbox', 'string']]);
        const m = this.str(mailbox);
        if (!m.dynamic && m.value === '') this.fail(m.pos, 'the mailbox name of fileinto is empty');
        return {
          kind: 'fileinto',
          pos,
          mailbox: m,
          copy: a.has('copy'),
          create: a.has('create'),
          flags: this.flagsTag(a),
        };
      }
      case 'redirect': {
        const a = this.args(cmd, what, { copy: { ext: 'copy' } });
        const [address] = this.positional(a, [['address', 'string']]);
        return {
          kind: 'redirect',
          pos,
          address: this.address(this.str(address), 'redirect address'),
          copy: a.has('copy'),
        };
      }
      case 'reject':
      case 'ereject': {
        this.need(cmd.name, pos, what);
        const a = this.args(cmd, what, {});
        const [reason] = this.positional(a, [['reason', 'string']]);
        return { kind: 'reject', pos, reason: this.str(reason), ereject: cmd.name === 'ereject' };
      }
      case 'vacation':
        return this.vacation(cmd, what);
      case 'setflag':
      case 'addflag':
      case 'removeflag': {
        this.need('imap4flags', pos, what);
        const a = this.args(cmd, what, {});
        let variable: Str | null = null;
        let flags: SyntaxArgument;
        if (a.positional.length === 2) {
          const [v, f] = this.positional(a, [
            ['variable name', 'string'],
            ['flags', 'stringlist'],
          ]);
          this.need('variables', v.pos, `the variable name argument of ${cmd.name}`);
          variable = this.str(v);
          if (!variable.dynamic && !isValidVariableName(variable.value, this.has('include')))
            this.fail(v.pos, `"${variable.value}" is not a valid variable name`);
          flags = f;
        } else {
          [flags] = this.positional(a, [['flags', 'stringlist']]);
        }
        return { kind: cmd.name, pos, variable, flags: this.list(flags) };
      }
      case 'set':
        return this.set(cmd, what);
      case 'include': {
        this.need('include', pos, what);
        const a = this.args(cmd, what, {
          personal: { ext: 'include', group: 'location' },
          global: { ext: 'include', group: 'location' },
          once: { ext: 'include' },
          optional: { ext: 'include' },
        });
        const [name] = this.positional(a, [['script name', 'string']]);
        const s = name as SyntaxString;
        if (s.value === '' || s.value.includes('/') || /[\0-\x1f\x7f]/.test(s.value))
          this.fail(
            s.pos,
            `"${s.value}" is not a valid script name: it must be non-empty, without '/' or control characters`,
          );
        return {
          kind: 'include',
          pos,
          name: s.value,
          location: a.has('global') ? 'global' : 'personal',
          once: a.has('once'),
          optional: a.has('optional'),
        };
      }
      case 'return':
        this.need('include', pos, what);
        this.positional(this.args(cmd, what, {}), []);
        return { kind: 'return', pos };
      case 'global': {
        this.need('include', pos, what);
        this.need('variables', pos, what);
        const a = this.args(cmd, what, {});
        const [names] = this.positional(a, [['variable names', 'stringlist']]);
        const list = names.kind === 'list' ? names.items : [names as SyntaxString];
        for (const n of list) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n.value))
            this.fail(n.pos, `"${n.value}" is not a valid global variable name`);
        }
        return { kind: 'global', pos, names: list.map((n) => n.value.toLowerCase()) };
      }
      case 'if':
      case 'elsif':
      case 'else':
        return this.fail(pos, `${cmd.name} needs a block`); // unreachable: block() handles them
      default:
        if (isTestName(cmd.name))
          this.fail(pos, `${cmd.name} is a test, not a command: use it in if, e.g. if ${cmd.name} … { … }`);
        return this.fail(pos, `unknown command "${cmd.name}"`);
    }
  }

  private vacation(cmd: SyntaxCommand, what: string): Command {
    this.need('vacation', cmd.pos, what);
    const a = this.args(cmd, what, {
      days: { ext: 'vacation', arg: 'number', group: 'period' },
      seconds: { ext: 'vacation-seconds', arg: 'number', group: 'period' },
      subject: { ext: 'vacation', arg: 'string' },
      from: { ext: 'vacation', arg: 'string' },
      addresses: { ext: 'vacation', arg: 'stringlist' },
      mime: { ext: 'vacation' },
      handle: { ext: 'vacation', arg: 'string' },
    });
    const [reason] = this.positional(a, [['reason', 'string']]);
    const days = this.tagNum(a, 'days');
    const seconds = this.tagNum(a, 'seconds');
    const from = this.tagStr(a, 'from');
    const addressesTag = a.tags.get('addresses');
    const addresses = addressesTag?.arg ? this.list(addressesTag.arg) : [];
    return {
      kind: 'vacation',
      pos: cmd.pos,
      seconds: days !== null ? days * 86400 : seconds,
      subject: this.tagStr(a, 'subject'),
      from: from === null ? null : this.address(from, ':from address'),
      addresses,
      mime: a.has('mime'),
      handle: this.tagStr(a, 'handle'),
      reason: this.str(reason),
    };
  }

  private set(cmd: SyntaxCommand, what: string): Command {
    this.need('variables', cmd.pos, what);
    const table: TagTable = {};
    for (const m of Object.keys(MODIFIER_PRECEDENCE)) table[m] = { ext: 'variables' };
    const a = this.args(cmd, what, table);
    const [name, value] = this.positional(a, [
      ['variable name', 'string'],
      ['value', 'string'],
    ]);
    const n = (name as SyntaxString).value;
    if (!isValidVariableName(n, this.has('include')))
      this.fail(
        name.pos,
        `"${n}" is not a valid variable name: use letters, digits and '_', not starting with a digit`,
      );
    const modifiers = [...a.tags.keys()];
    const byPrecedence = new Map<number, string>();
    for (const m of modifiers) {
      const p = MODIFIER_PRECEDENCE[m];
      const other = byPrecedence.get(p);
      if (other !== undefined)
        this.fail(a.tags.get(m)?.pos ?? cmd.pos, `the modifiers :${other} and :${m} cannot be used together`);
      byPrecedence.set(p, m);
    }
    modifiers.sort((x, y) => MODIFIER_PRECEDENCE[y] - MODIFIER_PRECEDENCE[x]);
    this.declare(n.toLowerCase(), name.pos);
    return { kind: 'set', pos: cmd.pos, name: n.toLowerCase(), value: this.str(value), modifiers };
  }

  /** Counts a variable the script sets; more than MAX_VARIABLES is an error (each holds up to 4 KB). */
  private declare(name: string, pos: Pos): void {
    if (this.variables.has(name)) return;
    if (this.variables.size >= MAX_VARIABLES)
      this.fail(pos, `the script uses more than ${MAX_VARIABLES} variables (the limit): reuse some of them`);
    this.variables.add(name);
  }
}

const TEST_NAMES = new Set([
  'address',
  'allof',
  'anyof',
  'body',
  'currentdate',
  'date',
  'duplicate',
  'envelope',
  'environment',
  'exists',
  'false',
  'hasflag',
  'header',
  'mailboxexists',
  'not',
  'size',
  'string',
  'true',
]);
const COMMAND_NAMES = new Set([
  'addflag',
  'discard',
  'else',
  'elsif',
  'ereject',
  'fileinto',
  'global',
  'if',
  'include',
  'keep',
  'redirect',
  'reject',
  'removeflag',
  'require',
  'return',
  'set',
  'setflag',
  'stop',
  'vacation',
]);

function isTestName(name: string): boolean {
  return TEST_NAMES.has(name);
}

export function isCommandName(name: string): boolean {
  return COMMAND_NAMES.has(name);
}

function fits(arg: SyntaxArgument, type: ArgType): boolean {
  if (type === 'number') return arg.kind === 'number';
  if (type === 'string') return arg.kind === 'string';
  return arg.kind === 'string' || arg.kind === 'list';
}

function typeName(type: ArgType): string {
  return type === 'number' ? 'a number' : type === 'string' ? 'a string' : 'a string or a string list';
}

function describeArgs(types: readonly [string, ArgType][]): string {
  if (types.length === 0) return 'no positional arguments';
  return types.map(([n, t]) => `the ${n} (${typeName(t)})`).join(' and ');
}

/** The one address of `value` as an RFC 5322 mailbox (display name, comments, quoting allowed), or why not. */
function parseOneAddress(value: string): { address: string } | { error: string } {
  const list = parseAddressList(value).filter(
    ([name, , mailbox, host]) => !(name === null && mailbox === null && host === null),
  );
  if (list.length !== 1 || list[0][3] === null) return { error: 'expected one address, local-part@domain' };
  const [, , mailbox, host] = list[0];
  const broken = ['MISSING_MAILBOX', 'MISSING_DOMAIN', 'SYNTAX_ERROR', 'INVALID_ROUTE', ''];
  if (mailbox === null || broken.includes(mailbox) || broken.includes(host))
    return { error: 'expected local-part@domain' };
  if (/[^\x00-\x7f]/.test(mailbox + host)) return { error: 'non-ASCII (SMTPUTF8) addresses are not supported here' };
  if (!/^(\[[^[\]\\]*\]|[^.\s()<>@,;:\\"[\]]+(\.[^.\s()<>@,;:\\"[\]]+)*)$/.test(host))
    return { error: `"${host}" is not a domain` };
  return { address: `${quoteLocalPart(mailbox)}@${host}` };
}

/**
 * Why a mail address given to redirect, vacation :from or :addresses is not valid, or null. An RFC
 * 5322 mailbox is accepted (`local@domain`, `Name <local@domain>`, comments), as Pigeonhole accepts it;
 * a list of several, a missing part or a non-ASCII address is not.
 */
export function addressError(value: string): string | null {
  const r = parseOneAddress(value);
  return 'error' in r ? r.error : null;
}

/** The address itself, `local@domain`, of a value `addressError` accepts (else the value trimmed). */
export function bareAddress(value: string): string {
  const r = parseOneAddress(value);
  return 'address' in r ? r.address : value.trim();
}
