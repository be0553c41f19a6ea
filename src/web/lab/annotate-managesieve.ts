/**
 * The ManageSieve side of the annotator (RFC 5804). Every command is answered by zero or more data
 * lines and one final line `OK`, `NO` or `BYE`, with an optional response code in parentheses (§1.3)
 * and a quoted text. Responses answer pending commands in order. The greeting is the capability list
 * and an OK (§1.7); after STARTTLS and its handshake the server sends the list again unasked (§2.2).
 * States: non-authenticated → authenticated (AUTHENTICATE) → non-authenticated again (UNAUTHENTICATE,
 * §2.14) or logout (LOGOUT, BYE). Strings are quoted or literals: `{n+}` from the client (§1.2, §4),
 * `{n}` from the server; a literal's lines are counted so they are not read as commands.
 */
import { type LabWords, labWords } from '../i18n/index.js';
import { labEn } from '../i18n/lab.en.js';
import type { LineNote, ProtocolTracker } from './annotate.js';
import { consumeLiteral, type Literal } from './annotate-imap.js';
import { lookupCapability } from './capabilities.js';
import { MANAGESIEVE_RESP_CODES } from './codes.js';
import { MANAGESIEVE_COMMANDS } from './commands.js';
import { rfc } from './rfc.js';

interface Pending {
  seq: number;
  verb: string;
  /** The first argument (a script name), unquoted, for the summaries. */
  arg: string | null;
}

const LITERAL_AT_END = /\{(\d+)\+?\}$/;
const FINAL = /^(OK|NO|BYE)(?=$|[ (])\s*(.*)$/i;

export class ManageSieveTracker implements ProtocolTracker {
  state = 'non-authenticated';
  #pending: Pending[] = [];
  #greeted = false;
  #clientLiteral: Literal | null = null;
  #serverLiteral: Literal | null = null;
  /** A literal ended at the end of a line: the next line, when empty, is the rest of that line. */
  #clientTail = false;
  #serverTail = false;
  /** The AUTHENTICATE whose challenge the next client line answers. */
  #sasl: Pending | null = null;
  /** The STARTTLS that was answered OK: its handshake is followed by the capabilities again. */
  #startedTls: Pending | null = null;
  /** A final response whose text is a literal (several lines of errors): the command it answered. */
  #literalOf: { answers: LineNote['answers']; verb: string } | null = null;
  /** The explanations' language (the lab catalogue, src/web/i18n). */
  readonly #w: LabWords;

  constructor(words: LabWords = labWords()) {
    this.#w = words;
  }

  tls(): void {
    if (this.#startedTls) {
      // RFC 5804 §2.2: after the handshake the server sends its capabilities and an OK, unasked.
      this.#pending.unshift({ ...this.#startedTls, verb: 'STARTTLS-CAPABILITY' });
      this.#startedTls = null;
    }
  }

  engineState(state: string): void {
    if (this.#greeted) return;
    const s = this.stateAfter(state);
    if (s === 'authenticated') this.state = s;
  }

  stateAfter(engineState: string): string {
    const s = engineState.toLowerCase();
    if (s === 'logout' || s === 'closed') return 'logout';
    if (/^(non|not|un)[- ]?auth/.test(s)) return 'non-authenticated';
    if (s.startsWith('auth')) return 'authenticated';
    return this.state; // 'tls': STARTTLS does not change the state
  }

  client(seq: number, text: string): LineNote {
    if (this.#clientLiteral) {
      const rest = consumeLiteral(this.#clientLiteral, text);
      if (rest === null) return { summary: this.#w.t('managesieve.literal'), rfc: rfc(5804, '4') };
      this.#clientLiteral = null;
      this.#clientTail = rest === '';
      this.#watchLiteral('client', rest);
      return {
        summary: this.#w.t('managesieve.literalEnd'),
        rfc: rfc(5804, '4'),
      };
    }
    if (this.#clientTail) {
      this.#clientTail = false;
      if (text === '') return { summary: this.#w.t('managesieve.lineBreak'), rfc: rfc(5804, '4') };
    }
    if (this.#sasl) {
      const target = this.#sasl;
      this.#sasl = null;
      this.#watchLiteral('client', text);
      return {
        summary:
          text === '"*"' || text === '*'
            ? this.#w.t('managesieve.cancel', { command: target.verb })
            : this.#w.t('managesieve.saslHidden'),
        rfc: rfc(5804, '2.1'),
      };
    }
    if (/^<redacted>$/i.test(text)) {
      this.#pending.push({ seq, verb: '(hidden line)', arg: null });
      return {
        summary: this.#w.t('managesieve.hidden'),
        detail: this.#w.t('managesieve.hiddenDetail'),
        rfc: rfc(5804, '2.1'),
        command: true,
      };
    }
    const sp = text.indexOf(' ');
    const verb = (sp < 0 ? text : text.slice(0, sp)).toUpperCase();
    const args = sp < 0 ? '' : text.slice(sp + 1).trim();
    const first = strings(args)[0] ?? null;
    const pending: Pending = { seq, verb: verb || '(empty line)', arg: first };
    this.#pending.push(pending);
    this.#watchLiteral('client', text);
    const info = MANAGESIEVE_COMMANDS[verb];
    if (!info) {
      return {
        summary: verb
          ? this.#w.t('managesieve.notCommand', { verb: verb.slice(0, 20) })
          : this.#w.t('common.emptyLine'),
        detail: this.#w.t('managesieve.commandsListed'),
        rfc: rfc(5804, '2'),
        command: true,
      };
    }
    return {
      summary: this.#w.t('common.command', { verb, summary: this.#w.tr(info.summary) }),
      detail: this.#commandDetail(verb, args, first),
      rfc: info.rfc,
      command: true,
    };
  }

  #commandDetail(verb: string, args: string, first: string | null): string | null {
    const w = this.#w;
    const literal = LITERAL_AT_END.exec(args);
    const follows = literal ? ` ${w.t('managesieve.scriptFollows', { n: literal[1] })}` : '';
    const script = first ?? '?';
    switch (verb) {
      case 'AUTHENTICATE':
        return strings(args).length > 1
          ? `${w.t('smtp.mechanism', { mechanism: script })} ${w.t('managesieve.initialHidden')}`
          : w.t('smtp.mechanism', { mechanism: script });
      case 'PUTSCRIPT':
        return `${w.t('managesieve.putscript', { script })}${follows}`;
      case 'CHECKSCRIPT':
        return `${w.t('managesieve.nothingStored')}${follows}`;
      case 'HAVESPACE': {
        const size = /(\d+)\s*$/.exec(args)?.[1];
        return w.t('managesieve.havespace', { script, size: size ?? '?' });
      }
      case 'SETACTIVE':
        return first === '' ? w.t('managesieve.setactiveEmpty') : w.t('managesieve.script', { script });
      case 'GETSCRIPT':
      case 'DELETESCRIPT':
        return first !== null ? w.t('managesieve.script', { script: first }) : null;
      case 'RENAMESCRIPT': {
        const names = strings(args);
        return w.t('managesieve.rename', { from: names[0] ?? '?', to: names[1] ?? '?' });
      }
      case 'LOGOUT':
        return this.#w.t('managesieve.logoutDetail');
      default:
        return null;
    }
  }

  server(_seq: number, text: string): LineNote {
    if (this.#serverLiteral) {
      const of = this.#literalOf;
      const answers = of ? of.answers : this.#answers(this.#target());
      const rest = consumeLiteral(this.#serverLiteral, text);
      const ended = rest !== null;
      if (ended) {
        this.#serverLiteral = null;
        this.#literalOf = null;
        this.#serverTail = rest === '';
      }
      const error = of ? /^line (\d+), column (\d+): (.*)$/.exec(text) : null;
      if (error) {
        return {
          summary: this.#w.t('managesieve.errorAt', { line: error[1], column: error[2], error: error[3] }),
          detail: this.#w.t('managesieve.errorPart'),
          answers,
          rfc: rfc(5804, of?.verb === 'CHECKSCRIPT' ? '2.12' : '2.6'),
        };
      }
      return {
        summary: ended ? this.#w.t('managesieve.literalEndServer') : this.#w.t('imap.literalResponse'),
        answers,
        rfc: rfc(5804, '4'),
      };
    }
    const target = this.#target();
    const answers = this.#answers(target);
    if (this.#serverTail) {
      this.#serverTail = false;
      if (text === '') return { summary: this.#w.t('managesieve.lineBreakServer'), answers, rfc: rfc(5804, '4') };
    }
    const m = FINAL.exec(text);
    if (!m) return this.#data(target, text, answers);

    const kind = m[1].toUpperCase() as 'OK' | 'NO' | 'BYE';
    const rest = m[2];
    const ok = kind === 'OK';
    if (target && target.verb !== 'CONNECT') this.#pending.shift();
    if (target?.verb === 'CONNECT') this.#greeted = true;
    if (this.#sasl === target) this.#sasl = null;
    const detail: string[] = [];
    let ref = rfc(5804, '1.1');
    const code = /^\(([^)]*)\)/.exec(rest);
    let codeName: string | null = null;
    if (code) {
      codeName = (/^[^\s"]+/.exec(code[1])?.[0] ?? '').toUpperCase();
      const known = MANAGESIEVE_RESP_CODES[codeName] ?? MANAGESIEVE_RESP_CODES[codeName.split('/')[0]];
      detail.push(
        this.#w.t('managesieve.responseCode', {
          code: code[1].length > 60 ? `${code[1].slice(0, 60)}…` : code[1],
          meaning: this.#w.tr(known?.text ?? labEn['managesieve.code.unknown']),
        }),
      );
      if (known) ref = known.rfc;
    }
    const text2 = code ? rest.slice(code[0].length).trim() : rest;
    const literalText = LITERAL_AT_END.exec(text2);
    if (literalText) {
      // The response text is a literal (RFC 5804 §4 literal-s2c): its lines follow.
      this.#literalOf = { answers, verb: target?.verb ?? '' };
      this.#watchLiteral('server', text2);
      detail.push(this.#w.t('managesieve.textLiteral', { n: literalText[1] }));
    }
    const message = literalText ? undefined : strings(text2)[0];
    const position = message ? /line (\d+)(?:, column (\d+)|:(\d+))?/i.exec(message) : null;
    if (!ok && position && target && (target.verb === 'PUTSCRIPT' || target.verb === 'CHECKSCRIPT')) {
      const column = position[2] ?? position[3];
      detail.push(
        column
          ? this.#w.t('managesieve.errorAtColumn', { line: position[1], column })
          : this.#w.t('managesieve.errorAtLine', { line: position[1] }),
      );
    }
    let summary: string;
    if (kind === 'BYE') {
      this.state = 'logout';
      summary = this.#w.t('managesieve.bye');
      if (target?.verb !== 'LOGOUT') detail.push(this.#w.t('managesieve.byeUnasked'));
    } else if (target) {
      summary =
        this.#transition(target, ok, codeName) ??
        this.#w.t(ok ? 'imap.completed' : 'imap.failed', { command: target.verb });
    } else {
      summary = ok ? this.#w.t('managesieve.unaskedOk') : this.#w.t('pop3.untiedError');
    }
    return { code: kind, summary, detail: detail.length ? detail.join(' ') : null, answers, rfc: ref, failure: !ok };
  }

  /** A line before the final OK/NO/BYE: capabilities, a script name, a literal, a SASL challenge. */
  #data(target: Pending | null, text: string, answers: LineNote['answers']): LineNote {
    const verb = target?.verb ?? '';
    if (verb === 'AUTHENTICATE') {
      this.#sasl = target;
      this.#watchLiteral('server', text);
      const quoted = /^"([A-Za-z0-9+/=]*)"$/.exec(text);
      const decoded = quoted?.[1] ? Buffer.from(quoted[1], 'base64').toString('utf8') : null;
      return {
        code: 'challenge',
        summary: this.#w.t('managesieve.saslChallenge'),
        detail: quoted
          ? decoded
            ? this.#w.t('managesieve.decodes', { text: decoded })
            : this.#w.t('common.emptyChallenge')
          : null,
        answers,
        rfc: rfc(5804, '2.1'),
      };
    }
    const literal = LITERAL_AT_END.exec(text);
    if (literal) {
      this.#watchLiteral('server', text);
      return {
        summary:
          verb === 'GETSCRIPT'
            ? this.#w.t('managesieve.scriptLiteral', { n: literal[1] })
            : this.#w.t('managesieve.literalFollows', { n: literal[1] }),
        answers,
        rfc: rfc(5804, verb === 'GETSCRIPT' ? '2.9' : '4'),
      };
    }
    if (verb === 'CONNECT' || verb === 'CAPABILITY' || verb === 'STARTTLS-CAPABILITY') {
      const [name, value] = strings(text);
      const keyword = value !== undefined && value !== '' ? `${name} ${value}` : (name ?? text);
      const cap = lookupCapability('managesieve', keyword, this.#w.lang);
      return {
        summary: cap
          ? this.#w.t('common.capability', { keyword: name, summary: cap.summary })
          : this.#w.t('common.capabilityUnknown', { keyword: name ?? text }),
        detail: cap?.effect ?? null,
        answers,
        rfc: cap ? { doc: cap.rfc, section: null, url: cap.url } : rfc(5804, '1.7'),
      };
    }
    if (verb === 'LISTSCRIPTS') {
      const [name] = strings(text);
      const active = /\sACTIVE\s*$/i.test(text);
      return {
        summary: this.#w.t(active ? 'managesieve.listActive' : 'managesieve.listScript', { script: name }),
        answers,
        rfc: rfc(5804, '2.7'),
      };
    }
    return { summary: this.#w.t('managesieve.data'), answers, rfc: rfc(5804, '1.1') };
  }

  /** The command a server line belongs to: the oldest unanswered one, else the greeting. */
  #target(): Pending | null {
    const first = this.#pending[0];
    if (first) return first;
    return this.#greeted ? null : { seq: 0, verb: 'CONNECT', arg: null };
  }

  #answers(target: Pending | null): LineNote['answers'] {
    if (!target) return null;
    if (target.verb === 'CONNECT') return { seq: 0, command: 'connection' };
    if (target.verb === 'STARTTLS-CAPABILITY') return { seq: target.seq, command: 'STARTTLS' };
    return { seq: target.seq, command: target.verb };
  }

  /** Moves the state for an answered command; returns a summary specific to it. */
  #transition(p: Pending, ok: boolean, code: string | null): string | null {
    switch (p.verb) {
      case 'CONNECT':
        return ok ? this.#w.t('managesieve.greeting') : this.#w.t('pop3.refused');
      case 'STARTTLS':
        if (ok) {
          this.#startedTls = p;
          return this.#w.t('managesieve.starttls');
        }
        return this.#w.t('imap.noTls');
      case 'STARTTLS-CAPABILITY':
        return this.#w.t('managesieve.capsAfterTls');
      case 'AUTHENTICATE':
        if (ok) {
          this.state = 'authenticated';
          return this.#w.t('managesieve.loggedIn');
        }
        return code === 'ENCRYPT-NEEDED'
          ? this.#w.t('managesieve.encryptNeeded')
          : this.#w.t('managesieve.loginFailed');
      case 'UNAUTHENTICATE':
        if (ok) this.state = 'non-authenticated';
        return ok ? this.#w.t('managesieve.unauthenticated') : null;
      case 'LOGOUT':
        this.state = 'logout';
        return this.#w.t('managesieve.logout');
      case 'PUTSCRIPT':
        return ok
          ? this.#w.t(code === 'WARNINGS' ? 'managesieve.storedWarnings' : 'managesieve.stored', {
              script: p.arg ?? '?',
            })
          : code?.startsWith('QUOTA')
            ? this.#w.t('managesieve.overQuota')
            : this.#w.t('managesieve.notStored');
      case 'CHECKSCRIPT':
        if (!ok) return this.#w.t('managesieve.scriptError');
        return this.#w.t(code === 'WARNINGS' ? 'managesieve.compilesWarnings' : 'managesieve.compiles');
      case 'HAVESPACE':
        return ok ? this.#w.t('managesieve.fits') : this.#w.t('managesieve.fitsNot');
      case 'SETACTIVE':
        if (!ok) return null;
        return p.arg === ''
          ? this.#w.t('managesieve.noneActive')
          : this.#w.t('managesieve.active', { script: p.arg ?? '?' });
      case 'LISTSCRIPTS':
        return ok ? this.#w.t('managesieve.listEnd') : null;
      case 'GETSCRIPT':
        return ok ? this.#w.t('managesieve.getscriptEnd') : null;
      case 'DELETESCRIPT':
        return ok
          ? this.#w.t('managesieve.deleted', { script: p.arg ?? '?' })
          : code === 'ACTIVE'
            ? this.#w.t('managesieve.deleteActive')
            : null;
      case 'RENAMESCRIPT':
        return ok ? this.#w.t('managesieve.renamed') : null;
      case 'CAPABILITY':
        return ok ? this.#w.t('managesieve.capabilityEnd') : null;
      case 'NOOP':
        return ok ? this.#w.t('managesieve.noop') : null;
      default:
        return null;
    }
  }

  #watchLiteral(side: 'client' | 'server', text: string): void {
    const m = LITERAL_AT_END.exec(text);
    if (!m) return;
    const lit = { left: Number(m[1]) };
    if (lit.left === 0) {
      if (side === 'client') this.#clientTail = true;
      else this.#serverTail = true;
      return;
    }
    if (side === 'client') this.#clientLiteral = lit;
    else this.#serverLiteral = lit;
  }
}

/** The quoted strings and atoms of a line, unquoted (RFC 5804 §4: `\` escapes `"` and `\`). */
export function strings(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === ' ') {
      i++;
    } else if (ch === '"') {
      let s = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        s += text[i];
        i++;
      }
      out.push(s);
      i++;
    } else {
      const end = text.indexOf(' ', i);
      out.push(text.slice(i, end < 0 ? text.length : end));
      i = end < 0 ? text.length : end;
    }
  }
  return out;
}
