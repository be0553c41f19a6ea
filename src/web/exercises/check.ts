/**
 * Checks exercises against recorded sessions: a session's events become a list of exchanges (each
 * command the client sent, its arguments, its last reply's code, the untagged responses that came while
 * it ran), and a rule (definitions.ts) is a condition over that list. Pure: no I/O, no store.
 *
 * Invariants:
 * - Commands and replies are told apart and paired by the lab's own protocol trackers
 *   (lab/annotate-*.ts), so message content after DATA, literals, SASL responses and POP3 multi-line
 *   bodies never count as commands, and pipelined replies go to the right command.
 * - The model is built incrementally, one event at a time in seq order, and a rule's answer depends
 *   only on the events so far: a live session and the same session read back from the history give
 *   the same result.
 * - A rule's steps match exchanges in order (a later step, a later command; not necessarily adjacent);
 *   the members of an `all` step match in any order between the steps around it. A step's conditions
 *   on the reply look at the command's last reply so far (DATA: 354, then the 250 after the dot).
 * - A rule is done at the time of the latest event it needed (a reply, an untagged response, or the
 *   command itself when no reply is asked for; the login for an `after` rule without steps); download
 *   rules are done when the download happens, and whether the autoconfiguration came before the login
 *   of an `after` rule is decided by the caller (progress.ts), which knows what the web lab served.
 */
import type { Protocol, TraceEvent } from '../../trace/bus.js';
import { SILENT_WORDS } from '../i18n/index.js';
import { type ProtocolTracker, trackerFor } from '../lab/annotate.js';
import { type CommandStep, protocolsOf, type Rule } from './definitions.js';

/** One command of a session and what the server answered so far. */
export interface Exchange {
  seq: number;
  t: number;
  /** Upper-case verb; IMAP: the command name (`FETCH`, `UID FETCH`). */
  command: string;
  /** The rest of the command line (IMAP: after the tag and the name). */
  args: string;
  encrypted: boolean;
  /** The last complete reply to it so far. */
  reply: { code: string; enhanced: string | null; t: number } | null;
  /** IMAP: untagged response names that came while it ran, with the time of the first of each. */
  untagged: Map<string, number> | null;
}

/** A session as the rules see it. */
export class SessionModel {
  readonly exchanges: Exchange[] = [];
  /** The session used TLS at some point (implicit, or after STARTTLS/STLS). */
  tls = false;
  /** Someone logged in successfully. */
  login = false;
  /** When the first successful login happened (0: none yet). */
  loginAt = 0;
  /** Time of the last event. */
  lastT = 0;
  /** Grows with every change a rule can see (a command, a reply, an untagged response, TLS, a login). */
  version = 0;
  readonly #bySeq = new Map<number, Exchange>();
  readonly #tracker: ProtocolTracker;

  constructor(
    readonly proto: Protocol,
    readonly listener: string,
  ) {
    // The notes' texts are never read here: no catalogue lookups per line.
    this.#tracker = trackerFor(proto, SILENT_WORDS);
  }

  /** Feeds the next event of the session (`encrypted`: it travelled inside TLS). */
  push(e: TraceEvent, encrypted: boolean): void {
    this.lastT = Math.max(this.lastT, e.t);
    switch (e.type) {
      case 'open':
        if (e.tls) {
          this.tls = true;
          this.version++;
          this.#tracker.tls();
        }
        return;
      case 'tls':
        if (!this.tls) this.#tracker.tls();
        this.tls = true;
        this.version++;
        return;
      case 'auth':
        if (e.ok && !this.login) {
          this.login = true;
          this.loginAt = e.t;
        }
        this.version++;
        return;
      case 'state':
        this.#tracker.engineState(e.state);
        return;
      case 'in': {
        const note = this.#tracker.client(e.seq, e.text);
        if (!note.command) return;
        const { command, args } = this.#parseCommand(e.text);
        const ex: Exchange = { seq: e.seq, t: e.t, command, args, encrypted, reply: null, untagged: null };
        this.exchanges.push(ex);
        this.#bySeq.set(e.seq, ex);
        this.version++;
        return;
      }
      case 'out': {
        const note = this.#tracker.server(e.seq, e.text);
        if (!note.answers) return;
        const ex = this.#bySeq.get(note.answers.seq) ?? this.#lastOf(note.answers.command);
        if (!ex) return;
        this.#reply(ex, e.text, note.code ?? null, note.enhanced ?? null, e.t);
        this.version++;
        return;
      }
      default:
        return;
    }
  }

  #parseCommand(text: string): { command: string; args: string } {
    if (this.proto === 'imap') {
      const m = /^\S+ (?:(UID) (\S+)|(\S+))(?: (.*))?$/i.exec(text);
      if (!m) return { command: '', args: '' };
      return { command: (m[1] ? `UID ${m[2]}` : m[3]).toUpperCase(), args: m[4] ?? '' };
    }
    const sp = text.search(/[ \t]/);
    return {
      command: (sp < 0 ? text : text.slice(0, sp)).toUpperCase(),
      args: sp < 0 ? '' : text.slice(sp + 1).trim(),
    };
  }

  /** SMTP answers the end of DATA with the "." line's seq: the reply belongs to the last DATA. */
  #lastOf(command: string): Exchange | undefined {
    for (let i = this.exchanges.length - 1; i >= 0; i--) {
      if (this.exchanges[i].command === command) return this.exchanges[i];
    }
    return undefined;
  }

  #reply(ex: Exchange, text: string, code: string | null, enhanced: string | null, t: number): void {
    switch (this.proto) {
      case 'smtp': {
        // A multi-line reply is complete at its last line (`250 ` rather than `250-`).
        const last = /^(\d{3})(?: |$)/.exec(text);
        if (last) ex.reply = { code: last[1], enhanced, t };
        return;
      }
      case 'pop3':
        if (code === '+OK' || code === '-ERR' || code === '+') ex.reply = { code, enhanced: null, t };
        return;
      case 'managesieve':
        // RFC 5804 §1.1: data lines, then one OK, NO or BYE.
        if (code === 'OK' || code === 'NO' || code === 'BYE') ex.reply = { code, enhanced: null, t };
        return;
      case 'imap': {
        if (text.startsWith('* ')) {
          const body = text.slice(2);
          const name = (/^\d+ (\S+)/.exec(body)?.[1] ?? /^(\S+)/.exec(body)?.[1] ?? '').toUpperCase();
          if (!name) return;
          ex.untagged ??= new Map();
          if (!ex.untagged.has(name)) ex.untagged.set(name, t);
          return;
        }
        if (text === '+' || text.startsWith('+ ')) ex.reply = { code: '+', enhanced: null, t };
        else if (code) ex.reply = { code, enhanced: null, t };
        return;
      }
    }
  }
}

/** Whether a reply code fits a pattern: the same, case-insensitive, `x` standing for any digit. */
export function codeMatches(pattern: string, value: string): boolean {
  if (pattern.length !== value.length) return false;
  const p = pattern.toLowerCase();
  const v = value.toLowerCase();
  for (let i = 0; i < p.length; i++) {
    if (p[i] === v[i]) continue;
    if (p[i] === 'x' && v[i] >= '0' && v[i] <= '9') continue;
    return false;
  }
  return true;
}

const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
const patterns = new WeakMap<CommandStep, RegExp>();

function argsPattern(step: CommandStep): RegExp | null {
  if (step.args === undefined) return null;
  let re = patterns.get(step);
  if (!re) {
    re = new RegExp(step.args, 'i');
    patterns.set(step, re);
  }
  return re;
}

/** The time at which `ex` fulfils `step`, or null when it does not (yet). */
function stepTime(step: CommandStep, ex: Exchange): number | null {
  if (!list(step.command).some((c) => c.toUpperCase() === ex.command)) return null;
  if (step.encrypted !== undefined && step.encrypted !== ex.encrypted) return null;
  const re = argsPattern(step);
  if (re && !re.test(ex.args)) return null;
  let t = ex.t;
  if (step.reply !== undefined || step.enhanced !== undefined) {
    if (!ex.reply) return null;
    if (step.reply !== undefined && !list(step.reply).some((c) => codeMatches(c, ex.reply?.code ?? ''))) return null;
    if (step.enhanced !== undefined && !codeMatches(step.enhanced, ex.reply.enhanced ?? '')) return null;
    t = Math.max(t, ex.reply.t);
  }
  if (step.untagged !== undefined) {
    const seen = ex.untagged?.get(step.untagged.toUpperCase());
    if (seen === undefined) return null;
    t = Math.max(t, seen);
  }
  return t;
}

/** The first exchange at or after `from` that fulfils `step`. */
function find(step: CommandStep, exchanges: readonly Exchange[], from: number): { index: number; t: number } | null {
  for (let i = from; i < exchanges.length; i++) {
    const t = stepTime(step, exchanges[i]);
    if (t !== null) return { index: i, t };
  }
  return null;
}

/** Whether the session is one the rule is about (protocol, listener, TLS, login), its steps aside. */
export function sessionFits(rule: Rule, m: SessionModel): boolean {
  if (!protocolsOf(rule).includes(m.proto)) return false;
  if (rule.listener !== undefined && !list(rule.listener).includes(m.listener)) return false;
  if (rule.tls !== undefined && rule.tls !== m.tls) return false;
  if (rule.login !== undefined && rule.login !== m.login) return false;
  return true;
}

/**
 * When the session fulfilled the rule's conditions and steps, or null when it has not (yet). A rule
 * without steps is fulfilled at the session's last event. Download rules are decided by the caller.
 */
export function fulfilledAt(rule: Rule, m: SessionModel): number | null {
  if (!sessionFits(rule, m)) return null;
  if (rule.after === 'autoconfig' && !m.login) return null;
  if (rule.steps.length === 0) return rule.after === 'autoconfig' ? m.loginAt : m.lastT;
  let next = 0;
  let at = 0;
  for (const step of rule.steps) {
    if ('all' in step) {
      // Each member's earliest match after the previous step; the next step comes after all of them.
      let end = next - 1;
      for (const member of step.all) {
        const found = find(member, m.exchanges, next);
        if (!found) return null;
        end = Math.max(end, found.index);
        at = Math.max(at, found.t);
      }
      next = end + 1;
    } else {
      const found = find(step, m.exchanges, next);
      if (!found) return null;
      next = found.index + 1;
      at = Math.max(at, found.t);
    }
  }
  return at;
}

/** A session's events replayed into a model (the history, a download). */
export function modelOf(
  proto: Protocol,
  listener: string,
  events: readonly TraceEvent[],
  encrypted: readonly boolean[],
): SessionModel {
  const m = new SessionModel(proto, listener);
  for (let i = 0; i < events.length; i++) m.push(events[i], encrypted[i] ?? false);
  return m;
}
