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
 */

import { mailboxError } from '../mail/index.js';
import type {
  AddressPart,
  BodyTransform,
  CheckedScript,
  Command,
  ComparatorName,
  DatePart,
  IndexSpec,
  MatchSpec,
  Pos,
  Relation,
  Str,
  StrList,
  SyntaxArgument,
  SyntaxCommand,
  SyntaxScript,
  SyntaxString,
  SyntaxTest,
  Test,
  ZoneSpec,
} from './ast.js';
import { decodeEncodedCharacters } from './ext/encoded-character.js';
import { isValidVariableName, MAX_VARIABLES, MODIFIER_PRECEDENCE } from './ext/variables.js';
import { IMPLIED, SUPPORTED_EXTENSIONS } from './extensions.js';
import type { SieveDiagnostic } from './types.js';

type ArgType = 'string' | 'stringlist' | 'number';

interface TagDef {
  /** The extension the tag needs, or null for the base language. */
  ext: string | null;
  /** The type of the argument that follows the tag, if it takes one. */
  arg?: ArgType;
  /** Tags of one group exclude each other (e.g. the match types). */
  group?: string;
}

type TagTable = Record<string, TagDef>;

const COMPARATOR_TAGS: TagTable = { comparator: { ext: null, arg: 'string', group: 'comparator' } };
const MATCH_TAGS: TagTable = {
  is: { ext: null, group: 'match type' },
  contains: { ext: null, group: 'match type' },
  matches: { ext: null, group: 'match type' },
  value: { ext: 'relational', arg: 'string', group: 'match type' },
  count: { ext: 'relational', arg: 'string', group: 'match type' },
};
const ADDRESS_PART_TAGS: TagTable = {
  all: { ext: null, group: 'address part' },
  localpart: { ext: null, group: 'address part' },
  domain: { ext: null, group: 'address part' },
  user: { ext: 'subaddress', group: 'address part' },
  detail: { ext: 'subaddress', group: 'address part' },
};
const INDEX_TAGS: TagTable = {
  index: { ext: 'index', arg: 'number' },
  last: { ext: 'index' },
};

/** The address test only reads headers that hold addresses (RFC 5228 §5.1; Pigeonhole's list). */
const ADDRESS_HEADERS = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'sender',
  'resent-from',
  'resent-to',
  'reply-to',
  'resent-reply-to',
  'resent-sender',
  'resent-cc',
  'resent-bcc',
  'for-approval',
  'for-handling',
  'for-comment',
  'apparently-to',
  'errors-to',
  'delivered-to',
  'return-receipt-to',
  'x-admin',
  'read-receipt-to',
  'x-confirm-reading-to',
  'return-receipt-requested',
  'registered-mail-reply-requested-by',
  'mail-followup-to',
  'mail-reply-to',
  'abuse-reports-to',
  'x-complaints-to',
  'x-report-abuse-to',
  'x-beenthere',
  'x-original-from',
  'x-original-to',
]);

export const DATE_PARTS: readonly DatePart[] = [
  'year',
  'month',
  'day',
  'date',
  'julian',
  'hour',
  'minute',
  'second',
  'time',
  'iso8601',
  'std11',
  'zone',
  'weekday',
];

const RELATIONS: readonly Relation[] = ['gt', 'ge', 'lt', 'le', 'eq', 'ne'];
const COMPARATORS: Record<string, string | null> = {
  'i;octet': null,
  'i;ascii-casemap': null,
  'i;ascii-numeric': 'comparator-i;ascii-numeric',
};

class Abort extends Error {}

/** The tags and positional arguments of one command or test, after the generic checks. */
class Args {
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
  private fail(pos: Pos, message: string): never {
    this.error(pos, message);
    throw new Abort();
  }

  private has(ext: string): boolean {
    return this.required.has(ext);
  }

  private need(ext: string, pos: Pos, what: string): void {
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

  private noArgs(cmd: SyntaxCommand | SyntaxTest): void {
    if (cmd.args.length > 0) this.fail(cmd.args[0].pos, `${cmd.name} takes no arguments`);
  }

  private conditional(cmd: SyntaxCommand): Test {
    this.noArgs(cmd);
    if (cmd.tests.length !== 1 || cmd.testList)
      this.fail(
        cmd.tests[0]?.pos ?? cmd.pos,
        `${cmd.name} needs exactly one test without parentheses, e.g. ${cmd.name} header :contains "subject" "x" { … } (use allof or anyof to join tests)`,
      );
    return this.test(cmd.tests[0]);
  }

  // ---- arguments ----

  /** Splits tags from positional arguments and checks the tags against `table`. */
  private args(node: SyntaxCommand | SyntaxTest, what: string, table: TagTable): Args {
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
  private positional(a: Args, types: readonly [string, ArgType][]): SyntaxArgument[] {
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

  private str(arg: SyntaxArgument): Str {
    const s = arg as SyntaxString;
    let value = s.value;
    if (this.has('encoded-character')) {
      const decoded = decodeEncodedCharacters(value);
      if (!decoded.ok) this.fail(s.pos, decoded.error);
      value = decoded.value;
    }
    return { value, pos: s.pos, dynamic: this.has('variables') && value.includes('${') };
  }

  private list(arg: SyntaxArgument): StrList {
    return arg.kind === 'list' ? arg.items.map((i) => this.str(i)) : [this.str(arg)];
  }

  private tagStr(a: Args, tag: string): Str | null {
    const t = a.tags.get(tag);
    return t?.arg ? this.str(t.arg) : null;
  }

  private tagNum(a: Args, tag: string): number | null {
    const t = a.tags.get(tag);
    return t?.arg?.kind === 'number' ? t.arg.value : null;
  }

  private match(a: Args): MatchSpec {
    let comparator: ComparatorName = 'i;ascii-casemap';
    const c = a.tags.get('comparator');
    if (c?.arg) {
      const name = (c.arg as SyntaxString).value.toLowerCase();
      if (!Object.hasOwn(COMPARATORS, name))
        this.fail(c.arg.pos, `unknown comparator "${name}" (available: ${Object.keys(COMPARATORS).join(', ')})`);
      const ext = COMPARATORS[name];
      if (ext !== null) this.need(ext, c.arg.pos, `the comparator ${name}`);
      comparator = name as ComparatorName;
    }
    let type: MatchSpec['type'] = 'is';
    let relation: Relation | null = null;
    for (const t of ['is', 'contains', 'matches', 'value', 'count'] as const) {
      const tag = a.tags.get(t);
      if (tag === undefined) continue;
      type = t;
      if (tag.arg) {
        const r = (tag.arg as SyntaxString).value; // "gt", not "GT" (RFC 5231 §5 lists them in lower case)
        if (!RELATIONS.includes(r as Relation))
          this.fail(
            tag.arg.pos,
            `unknown relation "${r}" for :${t}: use one of ${RELATIONS.map((x) => `"${x}"`).join(', ')}`,
          );
        relation = r as Relation;
      }
      if (comparator === 'i;ascii-numeric' && (t === 'contains' || t === 'matches'))
        this.fail(tag.pos, `the comparator i;ascii-numeric supports :is, :value and :count only, not :${t}`);
    }
    return { comparator, type, relation };
  }

  private addressPart(a: Args): AddressPart {
    for (const p of ['localpart', 'domain', 'user', 'detail'] as const) if (a.has(p)) return p;
    return 'all';
  }

  private index(a: Args): IndexSpec | null {
    const n = this.tagNum(a, 'index');
    if (n === null) {
      if (a.has('last')) this.fail(a.tags.get('last')?.pos ?? a.pos, ':last needs :index (e.g. :index 1 :last)');
      return null;
    }
    if (n < 1) this.fail(a.tags.get('index')?.arg?.pos ?? a.pos, ':index counts from 1');
    return { index: n, last: a.has('last') };
  }

  private zone(a: Args, original: boolean): ZoneSpec {
    const z = this.tagStr(a, 'zone');
    if (z !== null) return { kind: 'zone', zone: z };
    if (original && a.has('originalzone')) return { kind: 'original' };
    return { kind: 'local' };
  }

  /**
   * Header names. One that is not a field name (e.g. with a ':') names no field, so the test is
   * false; Pigeonhole only warns about it, and so the script is not refused here either.
   */
  private headerNames(list: StrList): StrList {
    return list;
  }

  private address(s: Str, what: string): Str {
    if (!s.dynamic && addressError(s.value) !== null)
      this.fail(s.pos, `the ${what} "${s.value}" is not a valid mail address: ${addressError(s.value)}`);
    return s;
  }

  /** A date part; an unknown one makes the test false at run time (Pigeonhole accepts it too). */
  private datePart(s: Str): Str {
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

  // ---- tests ----

  private test(t: SyntaxTest): Test {
    const what = `the test ${t.name}`;
    const pos = t.pos;
    if (t.name !== 'not' && t.name !== 'allof' && t.name !== 'anyof' && t.tests.length > 0)
      this.fail(t.tests[0].pos, `${t.name} takes no test as argument`);
    switch (t.name) {
      case 'true':
      case 'false':
        this.noArgs(t);
        return { kind: t.name, pos };
      case 'not':
        this.noArgs(t);
        if (t.tests.length !== 1 || t.testList)
          this.fail(pos, 'not needs exactly one test without parentheses, e.g. not exists "x"');
        return { kind: 'not', pos, test: this.test(t.tests[0]) };
      case 'allof':
      case 'anyof':
        this.noArgs(t);
        if (t.tests.length === 0 || !t.testList)
          this.fail(pos, `${t.name} needs a list of tests in parentheses, e.g. ${t.name} (true, false)`);
        return { kind: t.name, pos, tests: this.testList(t.tests) };
      case 'exists': {
        const a = this.args(t, what, {});
        const [h] = this.positional(a, [['header names', 'stringlist']]);
        return { kind: 'exists', pos, headers: this.headerNames(this.list(h)) };
      }
      case 'size': {
        const a = this.args(t, what, {
          over: { ext: null, group: 'comparison' },
          under: { ext: null, group: 'comparison' },
        });
        if (!a.has('over') && !a.has('under')) this.fail(pos, 'size needs :over or :under, e.g. size :over 100K');
        const [n] = this.positional(a, [['limit', 'number']]);
        return {
          kind: 'size',
          pos,
          over: a.has('over'),
          limit: (n as Extract<SyntaxArgument, { kind: 'number' }>).value,
        };
      }
      case 'header': {
        const a = this.args(t, what, { ...COMPARATOR_TAGS, ...MATCH_TAGS, ...INDEX_TAGS });
        const [h, k] = this.positional(a, [
          ['header names', 'stringlist'],
          ['key list', 'stringlist'],
        ]);
        return {
          kind: 'header',
          pos,
          match: this.match(a),
          index: this.index(a),
          headers: this.headerNames(this.list(h)),
          keys: this.list(k),
        };
      }
      case 'address': {
        const a = this.args(t, what, { ...COMPARATOR_TAGS, ...MATCH_TAGS, ...ADDRESS_PART_TAGS, ...INDEX_TAGS });
        const [h, k] = this.positional(a, [
          ['header names', 'stringlist'],
          ['key list', 'stringlist'],
        ]);
        const headers = this.headerNames(this.list(h));
        for (const name of headers) {
          if (!name.dynamic && !ADDRESS_HEADERS.has(name.value.toLowerCase()))
            this.fail(
              name.pos,
              `the header "${name.value}" holds no addresses, so the address test cannot read it: use header instead`,
            );
        }
        return {
          kind: 'address',
          pos,
          match: this.match(a),
          part: this.addressPart(a),
          index: this.index(a),
          headers,
          keys: this.list(k),
        };
      }
      case 'envelope': {
        this.need('envelope', pos, what);
        const a = this.args(t, what, { ...COMPARATOR_TAGS, ...MATCH_TAGS, ...ADDRESS_PART_TAGS });
        const [p, k] = this.positional(a, [
          ['envelope parts', 'stringlist'],
          ['key list', 'stringlist'],
        ]);
        const parts = this.list(p);
        for (const part of parts) {
          if (!part.dynamic && !['from', 'to', 'auth'].includes(part.value.toLowerCase()))
            this.fail(part.pos, `unknown envelope part "${part.value}" (use "from", "to" or "auth")`);
          const partTag = ['all', 'localpart', 'domain', 'user', 'detail'].find((x) => a.has(x));
          if (!part.dynamic && part.value.toLowerCase() === 'auth' && partTag !== undefined)
            this.fail(
              a.tags.get(partTag)?.pos ?? part.pos,
              `the address part :${partTag} cannot be used with the envelope part "auth", which is not an address: leave the address part out`,
            );
        }
        return { kind: 'envelope', pos, match: this.match(a), part: this.addressPart(a), parts, keys: this.list(k) };
      }
      case 'string': {
        this.need('variables', pos, what);
        const a = this.args(t, what, { ...COMPARATOR_TAGS, ...MATCH_TAGS });
        const [s, k] = this.positional(a, [
          ['source', 'stringlist'],
          ['key list', 'stringlist'],
        ]);
        return { kind: 'string', pos, match: this.match(a), sources: this.list(s), keys: this.list(k) };
      }
      case 'body': {
        this.need('body', pos, what);
        const a = this.args(t, what, {
          ...COMPARATOR_TAGS,
          ...MATCH_TAGS,
          raw: { ext: 'body', group: 'body transform' },
          text: { ext: 'body', group: 'body transform' },
          content: { ext: 'body', arg: 'stringlist', group: 'body transform' },
        });
        const [k] = this.positional(a, [['key list', 'stringlist']]);
        const content = a.tags.get('content');
        const transform: BodyTransform = a.has('raw')
          ? { kind: 'raw' }
          : content?.arg
            ? { kind: 'content', types: this.list(content.arg) }
            : { kind: 'text' };
        return { kind: 'body', pos, match: this.match(a), transform, keys: this.list(k) };
      }
      case 'date': {
        this.need('date', pos, what);
        const a = this.args(t, what, {
          ...COMPARATOR_TAGS,
          ...MATCH_TAGS,
          ...INDEX_TAGS,
          zone: { ext: 'date', arg: 'string', group: 'zone' },
          originalzone: { ext: 'date', group: 'zone' },
        });
        const [h, p, k] = this.positional(a, [
          ['header name', 'string'],
          ['date part', 'string'],
          ['key list', 'stringlist'],
        ]);
        return {
          kind: 'date',
          pos,
          match: this.match(a),
          zone: this.zone(a, true),
          index: this.index(a),
          header: this.headerNames([this.str(h)])[0],
          part: this.datePart(this.str(p)),
          keys: this.list(k),
        };
      }
      case 'currentdate': {
        this.need('date', pos, what);
        const a = this.args(t, what, { ...COMPARATOR_TAGS, ...MATCH_TAGS, zone: { ext: 'date', arg: 'string' } });
        const [p, k] = this.positional(a, [
          ['date part', 'string'],
          ['key list', 'stringlist'],
        ]);
        return {
          kind: 'currentdate',
          pos,
          match: this.match(a),
          zone: this.zone(a, false),
          part: this.datePart(this.str(p)),
          keys: this.list(k),
        };
      }
      case 'hasflag': {
        this.need('imap4flags', pos, what);
        const a = this.args(t, what, { ...COMPARATOR_TAGS, ...MATCH_TAGS });
        let variables: StrList | null = null;
        let keys: SyntaxArgument;
        if (a.positional.length === 2) {
          const [v, k] = this.positional(a, [
            ['variable list', 'stringlist'],
            ['flags', 'stringlist'],
          ]);
          this.need('variables', v.pos, 'the variable list argument of hasflag');
          variables = this.list(v);
          keys = k;
        } else {
          [keys] = this.positional(a, [['flags', 'stringlist']]);
        }
        return { kind: 'hasflag', pos, match: this.match(a), variables, keys: this.list(keys) };
      }
      case 'mailboxexists': {
        this.need('mailbox', pos, what);
        const a = this.args(t, what, {});
        const [n] = this.positional(a, [['mailbox names', 'stringlist']]);
        return { kind: 'mailboxexists', pos, names: this.list(n) };
      }
      case 'environment': {
        this.need('environment', pos, what);
        const a = this.args(t, what, { ...COMPARATOR_TAGS, ...MATCH_TAGS });
        const [n, k] = this.positional(a, [
          ['item name', 'string'],
          ['key list', 'stringlist'],
        ]);
        return { kind: 'environment', pos, match: this.match(a), name: this.str(n), keys: this.list(k) };
      }
      case 'duplicate': {
        this.need('duplicate', pos, what);
        const a = this.args(t, what, {
          handle: { ext: 'duplicate', arg: 'string' },
          header: { ext: 'duplicate', arg: 'string', group: 'source' },
          uniqueid: { ext: 'duplicate', arg: 'string', group: 'source' },
          seconds: { ext: 'duplicate', arg: 'number' },
          last: { ext: 'duplicate' },
        });
        this.positional(a, []);
        const header = this.tagStr(a, 'header');
        const uniqueid = this.tagStr(a, 'uniqueid');
        if (header !== null) this.headerNames([header]);
        return {
          kind: 'duplicate',
          pos,
          handle: this.tagStr(a, 'handle'),
          source:
            header !== null
              ? { kind: 'header', name: header }
              : uniqueid !== null
                ? { kind: 'uniqueid', value: uniqueid }
                : { kind: 'message-id' },
          seconds: this.tagNum(a, 'seconds'),
          last: a.has('last'),
        };
      }
      default:
        if (isCommandName(t.name)) this.fail(pos, `${t.name} is a command, not a test`);
        return this.fail(pos, `unknown test "${t.name}"`);
    }
  }

  /** The tests of allof/anyof: each checked on its own, so one wrong test does not hide the others. */
  private testList(tests: readonly SyntaxTest[]): Test[] {
    const out: Test[] = [];
    let failed = false;
    for (const t of tests) {
      try {
        out.push(this.test(t));
      } catch (e) {
        if (!(e instanceof Abort)) throw e;
        failed = true;
      }
    }
    if (failed) throw new Abort();
    return out;
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

function isCommandName(name: string): boolean {
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

/**
 * Why a mail address given to redirect, vacation :from or :addresses is not valid, or null. Both
 * `local@domain` and `Name <local@domain>` are accepted.
 */
export function addressError(value: string): string | null {
  const addr = bareAddress(value);
  return mailboxError(addr, true);
}

/** `Name <a@b>` → `a@b`; anything else trimmed. */
export function bareAddress(value: string): string {
  const m = /<([^<>]*)>\s*$/.exec(value);
  return (m ? m[1] : value).trim();
}
