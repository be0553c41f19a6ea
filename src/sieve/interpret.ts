/**
 * `run`: evaluates a compiled script for one message and one recipient (RFC 5228 §2.10).
 *
 * Invariants:
 * - The implicit keep stays unless fileinto, redirect (without :copy), discard, reject or ereject
 *   cancels it, or an explicit keep replaces it (§2.10.2); it carries the imap4flags internal
 *   variable as it is when the script ends.
 * - Actions are collected, not performed: duplicates collapse as Pigeonhole collapses them (keep
 *   twice, fileinto the same mailbox, redirect to the same address: once, with the flags of the last
 *   store), and the
 *   conflicts of RFC 5429 §2.1 are runtime errors (reject/ereject with keep, fileinto, redirect,
 *   vacation or another reject). A runtime error throws `SieveRuntimeError` and the caller keeps the
 *   message in INBOX (§2.10.6): no partial result escapes.
 * - Every run is bounded by `SieveLimits`: steps (each command and test evaluated), actions, redirects,
 *   include depth, variable size; and the bytes its match tests examine by `MAX_COMPARED_BYTES`
 *   plus 4 times the message's size (keys × value length, match.ts). The only waits are the context's own callbacks.
 * - Strings of scripts that require variables are expanded just before use; match variables change
 *   only when a :matches test succeeds (RFC 5229 §3.2), and never by body (as in Pigeonhole).
 */

import { createHash } from 'node:crypto';
import type { Command, DatePart, MatchSpec, Pos, Str, StrList, Test, VacationCommand } from './ast.js';
import { CompiledScript, compile, defaultSieveLimits, formatDiagnostic } from './compile.js';
import { datePart, localOffset, parseZone, parseZonedDate } from './ext/date.js';
import { defaultHandle, vacationMemoryKey, vacationPeriod, vacationRefusal } from './ext/vacation.js';
import { applyModifiers, MAX_VARIABLES, substitute, truncateUtf8 } from './ext/variables.js';
import {
  CompareBudgetExceeded,
  MAX_COMPARED_BYTES,
  type MatchBudget,
  MatchBudgetExceeded,
  matchBudget,
  matchValues,
} from './match.js';
import { MessageView } from './message.js';
import {
  type SieveAction,
  type SieveContext,
  type SieveLimits,
  type SieveResult,
  SieveRuntimeError,
  type SieveScript,
} from './types.js';
import { addressError, bareAddress } from './validate.js';
import { DATE_PARTS } from './validate-tests.js';

/** Most different scripts one run may include (Pigeonhole's sieve_include_max_includes). */
const MAX_INCLUDED_SCRIPTS = 255;
const MAX_WARNINGS = 100;

/** Pigeonhole's duplicate defaults: 12 hours, at most 2 days. */
const DUPLICATE_DEFAULT_SECONDS = 12 * 3600;
const DUPLICATE_MAX_SECONDS = 2 * 86400;

const SYSTEM_FLAGS = ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'];
/** An IMAP atom (RFC 9051 §9 flag-keyword): no space, control, ( ) { % * " \ ]. */
const KEYWORD = /^[^\s\x00-\x1f\x7f(){%*"\\\]]+$/;

class Stop {}
class Return {}

/** The variables of one script (an include has its own; globals are shared, RFC 6609 §3.4). */
class Frame {
  readonly vars = new Map<string, string>();
  match: string[] = [];
  readonly globalNames = new Set<string>();

  constructor(
    readonly script: CompiledScript,
    readonly name: string | null,
    readonly variables: boolean,
  ) {}
}

type Stored = Extract<SieveAction, { type: 'keep' } | { type: 'fileinto' }>;

/** Space-separated flag strings → a list without duplicates (case-insensitive), RFC 5232 §3. */
export function splitFlags(values: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const v of values) {
    for (const f of v.split(/[ \t\r\n]+/)) {
      if (f === '' || seen.has(f.toLowerCase())) continue;
      seen.add(f.toLowerCase());
      out.push(f);
    }
  }
  return out;
}

/** The flags a store action can set: system flags in their usual case, valid keywords; others go. */
function storableFlags(flags: readonly string[]): string[] {
  const out: string[] = [];
  for (const f of flags) {
    if (f.startsWith('\\')) {
      const sys = SYSTEM_FLAGS.find((s) => s.toLowerCase() === f.toLowerCase());
      if (sys !== undefined) out.push(sys);
    } else if (KEYWORD.test(f)) out.push(f);
  }
  return out;
}

/** The flags that fit in `maxBytes` when written space-separated (the first ones). */
function boundFlags(flags: string[], maxBytes: number): string[] {
  let bytes = -1;
  for (let i = 0; i < flags.length; i++) {
    bytes += 1 + Buffer.byteLength(flags[i]);
    if (bytes > maxBytes) return flags.slice(0, i);
  }
  return flags;
}

function unionFlags(a: readonly string[], b: readonly string[]): string[] {
  return splitFlags([...a, ...b]);
}

class Interpreter {
  private steps = 0;
  private readonly actions: SieveAction[] = [];
  private implicitKeep = true;
  private flags: string[] = [];
  private readonly globals = new Map<string, string>();
  private readonly duplicates = new Map<string, number>();
  private readonly duplicateSeen = new Map<string, boolean>();
  private readonly warnings: string[] = [];
  private readonly included = new Set<string>();
  private readonly chain: string[] = [];
  private readonly cache = new Map<string, CompiledScript>();
  /**
   * The octets :matches may examine in this run (1,000 per step of `maxSteps`), and the bytes all
   * match tests may examine (`MAX_COMPARED_BYTES` plus 4 times the message's size).
   */
  private readonly budget: MatchBudget;
  /** The bytes all match tests of this run may examine (see the constructor). */
  private readonly compareLimit: number;
  /** The command or test being evaluated, for errors found below it. */
  private at: Pos | null = null;
  private vacationSeen = false;
  private rejectSeen = false;
  readonly message: MessageView;

  constructor(
    private readonly ctx: SieveContext,
    private readonly limits: SieveLimits,
  ) {
    this.message = new MessageView(ctx.message.raw);
    // A big message may be compared a few times over (e.g. body :contains with a few keys) before the
    // limit: it grows by 4 times the message's size (a 25 MiB message: 164 MiB, ~1 s of CPU at worst).
    this.compareLimit = MAX_COMPARED_BYTES + 4 * ctx.message.raw.length;
    this.budget = matchBudget(limits.maxSteps * 1000, this.compareLimit);
  }

  async run(script: CompiledScript): Promise<SieveResult> {
    const frame = new Frame(script, null, script.requires.includes('variables'));
    try {
      await this.block(script.checked.commands, frame);
    } catch (e) {
      if (!(e instanceof Stop) && !(e instanceof Return)) throw e;
    }
    const actions = [...this.actions];
    if (this.implicitKeep) {
      // An explicit keep, or a fileinto :copy "INBOX", already stores the message where the implicit keep would.
      const inbox = actions.find(
        (a) => a.type === 'keep' || (a.type === 'fileinto' && a.mailbox.toUpperCase() === 'INBOX'),
      );
      if (inbox === undefined) actions.push({ type: 'keep', flags: storableFlags(this.flags), implicit: true });
    }
    return {
      actions,
      duplicates: [...this.duplicates].map(([key, seconds]) => ({ key, seconds })),
      warnings: this.warnings,
    };
  }

  /** A note for the log; at most MAX_WARNINGS of them, then one that says more were left out. */
  private warn(message: string): void {
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push(message);
    else if (this.warnings.length === MAX_WARNINGS) this.warnings.push('(more warnings left out)');
  }

  private fail(message: string, pos: Pos | null, frame: Frame): never {
    const where = frame.name === null ? '' : `in the included script "${frame.name}": `;
    throw new SieveRuntimeError(`${where}${message}`, pos);
  }

  private step(pos: Pos, frame: Frame): void {
    this.at = pos;
    if (++this.steps > this.limits.maxSteps)
      this.fail(`the script ran more than ${this.limits.maxSteps} commands and tests (the limit)`, pos, frame);
  }

  // ---- strings and variables ----

  private lookup(frame: Frame, name: string): string {
    if (/^\d+$/.test(name)) return frame.match[Number(name)] ?? '';
    if (name.startsWith('global.')) return this.globals.get(name.slice(7)) ?? '';
    if (frame.globalNames.has(name)) return this.globals.get(name) ?? '';
    return frame.vars.get(name) ?? '';
  }

  private setVariable(frame: Frame, name: string, value: string, pos: Pos): void {
    const v = truncateUtf8(value, this.limits.maxVariableBytes);
    const global = name.startsWith('global.') ? name.slice(7) : frame.globalNames.has(name) ? name : null;
    const scope = global === null ? frame.vars : this.globals;
    const key = global ?? name;
    if (!scope.has(key) && scope.size >= MAX_VARIABLES)
      this.fail(`more than ${MAX_VARIABLES} variables are set (the limit)`, pos, frame);
    scope.set(key, v);
  }

  private s(str: Str, frame: Frame): string {
    // A string grows by its variables up to 16 variables' worth (ample for any mailbox, address or text).
    const max = str.value.length + 16 * this.limits.maxVariableBytes;
    return str.dynamic ? substitute(str.value, (n) => this.lookup(frame, n), max) : str.value;
  }

  private l(list: StrList, frame: Frame): string[] {
    return list.map((x) => this.s(x, frame));
  }

  /** Runs a match and sets the match variables when a :matches succeeded. */
  private matched(spec: MatchSpec, values: readonly string[], keys: StrList, frame: Frame, count?: number): boolean {
    const r = this.match(spec, values, this.l(keys, frame), frame, count);
    if (r.matched && r.captures !== null && frame.variables) frame.match = r.captures;
    return r.matched;
  }

  /** matchValues within the run's budget of work. */
  private match(spec: MatchSpec, values: readonly string[], keys: readonly string[], frame: Frame, count?: number) {
    try {
      return matchValues(spec, values, keys, count, this.budget);
    } catch (e) {
      if (e instanceof CompareBudgetExceeded)
        return this.fail(
          `the script's tests compared more than ${this.compareLimit} bytes (the limit): use fewer keys, or fewer tests of the body`,
          this.at,
          frame,
        );
      if (!(e instanceof MatchBudgetExceeded)) throw e;
      return this.fail(
        `the script's :matches tests examined more than ${this.limits.maxSteps * 1000} characters (the limit): use shorter patterns`,
        this.at,
        frame,
      );
    }
  }

  // ---- commands ----

  private async block(cmds: readonly Command[], frame: Frame): Promise<void> {
    for (const cmd of cmds) await this.command(cmd, frame);
  }

  private async command(cmd: Command, frame: Frame): Promise<void> {
    this.step(cmd.pos, frame);
    switch (cmd.kind) {
      case 'if': {
        for (const branch of cmd.branches) {
          if (await this.test(branch.test, frame)) {
            await this.block(branch.block, frame);
            return;
          }
        }
        if (cmd.otherwise !== null) await this.block(cmd.otherwise, frame);
        return;
      }
      case 'stop':
        throw new Stop();
      case 'return':
        throw new Return();
      case 'keep':
        this.store({ type: 'keep', flags: this.actionFlags(cmd.flags, frame), implicit: false }, cmd.pos, frame);
        return;
      case 'discard':
        this.implicitKeep = false;
        if (!this.actions.some((a) => a.type === 'discard')) this.add({ type: 'discard' }, cmd.pos, frame);
        return;
      case 'fileinto': {
        const named = this.s(cmd.mailbox, frame);
        const mailbox = named.toUpperCase() === 'INBOX' ? 'INBOX' : named; // INBOX in any case (RFC 9051 §5.1)
        if (mailbox === '') this.fail('fileinto: the mailbox name is empty', cmd.mailbox.pos, frame);
        this.store(
          { type: 'fileinto', mailbox, flags: this.actionFlags(cmd.flags, frame), copy: cmd.copy, create: cmd.create },
          cmd.pos,
          frame,
        );
        if (!cmd.copy) this.implicitKeep = false;
        return;
      }
      case 'redirect': {
        const value = this.s(cmd.address, frame);
        const problem = addressError(value);
        if (problem !== null)
          this.fail(`redirect: "${value}" is not a valid mail address: ${problem}`, cmd.address.pos, frame);
        const address = bareAddress(value);
        this.checkReject('redirect', cmd.pos, frame);
        const same = this.actions.find((a) => a.type === 'redirect' && sameMailbox(a.address, address));
        if (same !== undefined && same.type === 'redirect') {
          if (!cmd.copy) same.copy = false;
        } else {
          if (this.actions.filter((a) => a.type === 'redirect').length >= this.limits.maxRedirects)
            this.fail(
              `the script redirects to more than ${this.limits.maxRedirects} addresses (the limit)`,
              cmd.pos,
              frame,
            );
          this.add({ type: 'redirect', address, copy: cmd.copy }, cmd.pos, frame);
        }
        if (!cmd.copy) this.implicitKeep = false;
        return;
      }
      case 'reject': {
        const name = cmd.ereject ? 'ereject' : 'reject';
        if (this.rejectSeen)
          this.fail(`${name}: the script already rejects the message; a message is rejected once`, cmd.pos, frame);
        const other = this.actions.find((a) => a.type === 'keep' || a.type === 'fileinto' || a.type === 'redirect');
        if (other !== undefined)
          this.fail(
            `${name} conflicts with the earlier ${other.type}: a rejected message cannot also be delivered`,
            cmd.pos,
            frame,
          );
        if (this.vacationSeen)
          this.fail(`${name} conflicts with the earlier vacation: both would answer the sender`, cmd.pos, frame);
        this.rejectSeen = true;
        this.implicitKeep = false;
        this.add({ type: 'reject', reason: this.s(cmd.reason, frame), ereject: cmd.ereject }, cmd.pos, frame);
        return;
      }
      case 'vacation':
        this.vacation(cmd, frame);
        return;
      case 'setflag':
      case 'addflag':
      case 'removeflag': {
        const given = splitFlags(this.l(cmd.flags, frame));
        const varName = cmd.variable === null ? null : this.s(cmd.variable, frame).toLowerCase();
        const current = varName === null ? this.flags : splitFlags([this.lookup(frame, varName)]);
        let next: string[];
        if (cmd.kind === 'setflag') next = given;
        else if (cmd.kind === 'addflag') next = unionFlags(current, given);
        else {
          const drop = new Set(given.map((f) => f.toLowerCase()));
          next = current.filter((f) => !drop.has(f.toLowerCase()));
        }
        // The internal variable is bounded like any other (RFC 5232 §3: it is a variable).
        next = boundFlags(next, this.limits.maxVariableBytes);
        if (varName === null) this.flags = next;
        else this.setVariable(frame, varName, next.join(' '), cmd.pos);
        return;
      }
      case 'set':
        this.setVariable(frame, cmd.name, applyModifiers(this.s(cmd.value, frame), cmd.modifiers), cmd.pos);
        return;
      case 'global':
        for (const n of cmd.names) frame.globalNames.add(n);
        return;
      case 'include':
        await this.include(cmd, frame);
        return;
    }
  }

  /** The flags of keep/fileinto: its :flags, else the internal variable (RFC 5232 §5). */
  private actionFlags(list: StrList | null, frame: Frame): string[] {
    return storableFlags(list === null ? this.flags : splitFlags(this.l(list, frame)));
  }

  private checkReject(what: string, pos: Pos, frame: Frame): void {
    if (this.rejectSeen)
      this.fail(`${what} conflicts with the earlier reject: a rejected message cannot also be delivered`, pos, frame);
  }

  private add(action: SieveAction, pos: Pos, frame: Frame): void {
    if (this.actions.length >= this.limits.maxActions)
      this.fail(`the script takes more than ${this.limits.maxActions} actions (the limit)`, pos, frame);
    this.actions.push(action);
  }

  /** keep and fileinto: the same mailbox twice is one store with the flags of both. */
  private store(action: Stored, pos: Pos, frame: Frame): void {
    this.checkReject(action.type, pos, frame);
    const target = action.type === 'keep' ? 'INBOX' : action.mailbox;
    const same = this.actions.find(
      (a): a is Stored =>
        (a.type === 'keep' && target.toUpperCase() === 'INBOX') ||
        (a.type === 'fileinto' &&
          (a.mailbox === target || (target.toUpperCase() === 'INBOX' && a.mailbox.toUpperCase() === 'INBOX'))),
    );
    if (same !== undefined) {
      // The later store's flags replace the earlier ones (Pigeonhole keeps one store with the last flags).
      same.flags = action.flags;
      if (same.type === 'fileinto' && action.type === 'fileinto') {
        same.copy = same.copy && action.copy;
        same.create = same.create || action.create;
      }
      return;
    }
    this.add(action, pos, frame);
  }

  private vacation(cmd: VacationCommand, frame: Frame): void {
    if (this.vacationSeen)
      this.fail(
        'vacation: the script already answers with vacation; there can be one vacation per message',
        cmd.pos,
        frame,
      );
    this.checkReject('vacation', cmd.pos, frame);
    this.vacationSeen = true;
    const reason = this.s(cmd.reason, frame);
    const subject = cmd.subject === null ? null : this.s(cmd.subject, frame);
    const from = cmd.from === null ? null : this.s(cmd.from, frame);
    const addresses: string[] = [];
    for (const a of this.l(cmd.addresses, frame)) {
      // An invalid :addresses item is left out, as Pigeonhole does (with a warning, not an error).
      if (addressError(a) === null) addresses.push(bareAddress(a));
      else this.warn(`vacation: the :addresses item "${a}" is not a mail address and is ignored`);
    }
    const handle = cmd.handle === null ? defaultHandle(reason, subject, from, cmd.mime) : this.s(cmd.handle, frame);
    // A :from that a variable made invalid is passed on as it is (Pigeonhole checks only a constant
    // one); the caller must check it before it writes a From header.
    if (from !== null && addressError(from) !== null)
      this.warn(`vacation: the :from address "${from}" is not a valid mail address`);
    const m = this.ctx.message;
    const refusal = vacationRefusal({
      message: this.message,
      envelopeFrom: m.envelopeFrom,
      envelopeTo: m.envelopeTo,
      userAddresses: this.ctx.userAddresses,
      addresses,
    });
    if (refusal !== null) {
      this.warn(refusal);
      return;
    }
    const messageId = this.message.rawValues('message-id')[0]?.trim();
    this.add(
      {
        type: 'vacation',
        to: m.envelopeFrom,
        from,
        subject,
        reason,
        mime: cmd.mime,
        periodSeconds: vacationPeriod(cmd.seconds, this.limits.vacationMinSeconds, this.limits.vacationMaxSeconds),
        memoryKey: vacationMemoryKey(m.envelopeFrom, handle),
        inReplyTo: messageId === undefined || messageId === '' ? null : messageId,
      },
      cmd.pos,
      frame,
    );
  }

  private async include(cmd: Extract<Command, { kind: 'include' }>, frame: Frame): Promise<void> {
    const key = `${cmd.location}:${cmd.name}`;
    if (cmd.once && this.included.has(key)) return;
    if (this.chain.includes(key)) {
      this.fail(`include: "${cmd.name}" includes itself (${[...this.chain, key].join(' → ')})`, cmd.pos, frame);
    }
    if (this.chain.length + 1 > this.limits.maxIncludeDepth)
      this.fail(
        `include: scripts are included more than ${this.limits.maxIncludeDepth} deep (the limit)`,
        cmd.pos,
        frame,
      );
    let script = this.cache.get(key);
    if (script === undefined) {
      if (this.cache.size >= MAX_INCLUDED_SCRIPTS)
        this.fail(
          `include: more than ${MAX_INCLUDED_SCRIPTS} different scripts are included (the limit)`,
          cmd.pos,
          frame,
        );
      const source = await this.ctx.loadScript(cmd.name, cmd.location);
      if (source === null) {
        if (cmd.optional) return;
        this.fail(
          `include: there is no ${cmd.location} script "${cmd.name}" (use :optional to skip a missing one)`,
          cmd.pos,
          frame,
        );
      }
      const compiled = compile(source, frame.script.options);
      if (!compiled.ok)
        this.fail(
          `include: the script "${cmd.name}" has errors: ${compiled.errors.map(formatDiagnostic).join('; ')}`,
          cmd.pos,
          frame,
        );
      script = compiled.script as CompiledScript;
      this.cache.set(key, script);
    }
    this.included.add(key);
    const child = new Frame(script, cmd.name, script.requires.includes('variables'));
    this.chain.push(key);
    try {
      await this.block(script.checked.commands, child);
    } catch (e) {
      if (!(e instanceof Return)) throw e;
    } finally {
      this.chain.pop();
    }
  }

  // ---- tests ----

  private async test(t: Test, frame: Frame): Promise<boolean> {
    this.step(t.pos, frame);
    const msg = this.message;
    switch (t.kind) {
      case 'true':
        return true;
      case 'false':
        return false;
      case 'not':
        return !(await this.test(t.test, frame));
      case 'allof':
        for (const x of t.tests) if (!(await this.test(x, frame))) return false;
        return true;
      case 'anyof':
        for (const x of t.tests) if (await this.test(x, frame)) return true;
        return false;
      case 'exists':
        return this.l(t.headers, frame).every((h) => msg.has(h));
      case 'size':
        return t.over ? msg.size > t.limit : msg.size < t.limit;
      case 'header': {
        const values: string[] = [];
        for (const h of this.l(t.headers, frame)) for (const v of pickIndex(msg.values(h), t.index)) values.push(v);
        return this.matched(t.match, values, t.keys, frame);
      }
      case 'address': {
        const values: string[] = [];
        for (const h of this.l(t.headers, frame)) {
          for (const raw of pickIndex(msg.rawValues(h), t.index)) {
            for (const a of MessageView.addresses(raw)) {
              const v = addressPart(a.local, a.domain, a.raw, t.part);
              if (v !== null) values.push(v);
            }
          }
        }
        return this.matched(t.match, values, t.keys, frame);
      }
      case 'envelope': {
        const values: string[] = [];
        const env = this.ctx.message;
        for (const part of this.l(t.parts, frame)) {
          const p = part.toLowerCase();
          if (p === 'auth') {
            if (env.auth) values.push(env.auth); // not an address: compared as it is
            continue;
          }
          const addr = p === 'from' ? env.envelopeFrom : p === 'to' ? env.envelopeTo : null;
          if (addr === null) continue;
          if (addr === '') {
            if (t.part === 'all') values.push('');
            continue;
          }
          const at = addr.lastIndexOf('@');
          const v =
            at < 0
              ? addressPart(addr, null, addr, t.part)
              : addressPart(addr.slice(0, at), addr.slice(at + 1), addr, t.part);
          if (v !== null) values.push(v);
        }
        return this.matched(t.match, values, t.keys, frame);
      }
      case 'string': {
        const values = this.l(t.sources, frame);
        return this.matched(t.match, values, t.keys, frame, values.filter((v) => v !== '').length);
      }
      case 'body':
        // body sets no match variables (as in Pigeonhole: a body is no value to keep in a variable).
        return this.match(t.match, this.bodyValues(t.transform, frame), this.l(t.keys, frame), frame).matched;
      case 'date': {
        const values: string[] = [];
        const part = this.s(t.part, frame).toLowerCase() as DatePart;
        const zone = t.zone.kind === 'zone' ? this.zone(t.zone.zone, frame) : null;
        const header = this.s(t.header, frame);
        // Only one field is read: the one :index names, else the first (as Pigeonhole does).
        const v = pickIndex(msg.values(header), t.index)[0];
        // A date after a ';' (Received, RFC 5322 §3.6.7) is read from after the last one.
        const d = v === undefined ? null : parseZonedDate(v.slice(v.lastIndexOf(';') + 1));
        if (d !== null) {
          const offset = t.zone.kind === 'original' ? d.offset : (zone ?? localOffset(d.ms));
          const value = safeDatePart(d.ms, offset, part);
          if (value !== null) values.push(value);
        }
        return this.matched(t.match, values, t.keys, frame);
      }
      case 'currentdate': {
        const ms = this.ctx.now.getTime();
        const part = this.s(t.part, frame).toLowerCase() as DatePart;
        const zone = (t.zone.kind === 'zone' ? this.zone(t.zone.zone, frame) : null) ?? localOffset(ms);
        const value = safeDatePart(ms, zone, part);
        return this.matched(t.match, value === null ? [] : [value], t.keys, frame);
      }
      case 'hasflag': {
        const source =
          t.variables === null
            ? this.flags
            : splitFlags(this.l(t.variables, frame).map((n) => this.lookup(frame, n.toLowerCase())));
        const keys = splitFlags(this.l(t.keys, frame)).map((k): Str => ({ value: k, pos: t.pos, dynamic: false }));
        return this.matched(t.match, source, keys, frame);
      }
      case 'mailboxexists':
        for (const name of this.l(t.names, frame)) if (!(await this.ctx.mailboxExists(name))) return false;
        return true;
      case 'environment': {
        const env = this.ctx.environment;
        const name = this.s(t.name, frame).toLowerCase();
        const value = Object.hasOwn(env, name) ? env[name] : undefined;
        return this.matched(t.match, typeof value === 'string' ? [value] : [], t.keys, frame);
      }
      case 'duplicate':
        return this.duplicate(t, frame);
    }
  }

  /** A :zone value; an invalid one is ignored (the local zone is used) with a warning, as Pigeonhole does. */
  private zone(value: Str, frame: Frame): number | null {
    const text = this.s(value, frame);
    const zone = parseZone(text);
    if (zone === null) this.warn(`date: the :zone "${text}" is not a zone like +0100 and is ignored`);
    return zone;
  }

  private bodyValues(transform: Extract<Test, { kind: 'body' }>['transform'], frame: Frame): string[] {
    const msg = this.message;
    if (transform.kind === 'raw') {
      const raw = msg.rawBody();
      return raw === '' ? [] : [raw]; // an empty body is nothing to compare (as in Pigeonhole)
    }
    if (transform.kind === 'text') return msg.texts();
    const types = this.l(transform.types, frame).map((x) => x.toLowerCase());
    return msg
      .parts()
      .filter((p) =>
        types.some((ty) => {
          if (ty === '') return true;
          const slash = ty.indexOf('/');
          return slash < 0 ? p.type === ty : `${p.type}/${p.subtype}` === ty;
        }),
      )
      .map((p) => p.text);
  }

  private async duplicate(t: Extract<Test, { kind: 'duplicate' }>, frame: Frame): Promise<boolean> {
    let id: string | null;
    if (t.source.kind === 'uniqueid') id = this.s(t.source.value, frame);
    else {
      const name = t.source.kind === 'header' ? this.s(t.source.name, frame) : 'message-id';
      id = this.message.values(name)[0] ?? null;
    }
    if (id === null) return false;
    const handle = t.handle === null ? '' : this.s(t.handle, frame);
    const key = createHash('sha256').update(`duplicate\0${handle}\0${id}`).digest('hex');
    let seen = this.duplicateSeen.get(key);
    if (seen === undefined) {
      seen = await this.ctx.duplicateSeen(key);
      this.duplicateSeen.set(key, seen);
    }
    const seconds = Math.min(t.seconds ?? DUPLICATE_DEFAULT_SECONDS, DUPLICATE_MAX_SECONDS);
    if (!seen || t.last) this.duplicates.set(key, seconds);
    return seen;
  }
}

/** A date part, or null for a part name (from a variable) that is not one. */
function safeDatePart(ms: number, offset: number, part: DatePart): string | null {
  return DATE_PARTS.includes(part) ? datePart(ms, offset, part) : null;
}

/** Two addresses name the same mailbox: the local part compared as written, the domain without case. */
function sameMailbox(a: string, b: string): boolean {
  const i = a.lastIndexOf('@');
  const j = b.lastIndexOf('@');
  return a.slice(0, i) === b.slice(0, j) && a.slice(i).toLowerCase() === b.slice(j).toLowerCase();
}

/** The :index field of a list (1-based, :last counts from the end), or all of them. */
function pickIndex<T>(values: T[], index: { index: number; last: boolean } | null): T[] {
  if (index === null) return values;
  const i = index.last ? values.length - index.index : index.index - 1;
  return i >= 0 && i < values.length ? [values[i]] : [];
}

/** RFC 5228 §2.7.4 and RFC 5233: the part of an address a test compares, or null when it has none. */
function addressPart(local: string | null, domain: string | null, raw: string, part: string): string | null {
  if (part === 'all') return raw; // the address as written (a local part that needs it quoted), or the unparsed value
  if (local === null) return raw === '' ? '' : null; // an empty value is compared as it is, whatever the part
  if (part === 'localpart') return local;
  if (part === 'domain') return domain;
  const plus = local.indexOf('+');
  if (part === 'user') return plus < 0 ? local : local.slice(0, plus);
  return plus < 0 ? null : local.slice(plus + 1);
}

export async function run(
  script: SieveScript,
  context: SieveContext,
  limits?: Partial<SieveLimits>,
): Promise<SieveResult> {
  if (!(script instanceof CompiledScript)) throw new TypeError('run: the script must come from compile()');
  return new Interpreter(context, { ...defaultSieveLimits, ...script.options.limits, ...limits }).run(script);
}
