/**
 * The POP3 side of the annotator (RFC 1939; CAPA and response codes RFC 2449; STLS RFC 2595; AUTH
 * RFC 5034; RFC 3206 codes). States: AUTHORIZATION → TRANSACTION (after a login) → UPDATE (QUIT in
 * TRANSACTION). Responses answer pending commands in order (CAPA PIPELINING, RFC 2449 §6.6); a
 * multi-line response (CAPA, LIST and UIDL without argument, RETR, TOP) ends with a "." line.
 */
import { type LabWords, labWords } from '../i18n/index.js';
import type { LineNote, ProtocolTracker } from './annotate.js';
import { lookupCapability } from './capabilities.js';
import { POP3_RESP_CODES } from './codes.js';
import { POP3_COMMANDS } from './commands.js';
import { rfc } from './rfc.js';

interface Pending {
  seq: number;
  verb: string;
  args: string;
}

export class Pop3Tracker implements ProtocolTracker {
  state = 'AUTHORIZATION';
  #pending: Pending[] = [];
  #greeted = false;
  /** Set while the lines of a multi-line response arrive. */
  #multi: Pending | null = null;
  #sasl = false;
  /** The explanations' language (the lab catalogue, src/web/i18n). */
  readonly #w: LabWords;

  constructor(words: LabWords = labWords()) {
    this.#w = words;
  }

  tls(): void {}

  engineState(state: string): void {
    if (this.#greeted) return;
    const s = state.toUpperCase();
    if (s === 'TRANSACTION' || s === 'UPDATE') this.state = s;
  }

  stateAfter(engineState: string): string {
    const s = engineState.toUpperCase();
    return s === 'AUTHORIZATION' || s === 'TRANSACTION' || s === 'UPDATE' ? s : this.state;
  }

  client(seq: number, text: string): LineNote {
    if (this.#sasl) {
      return {
        summary: text === '*' ? this.#w.t('common.cancelAuth') : this.#w.t('pop3.saslHidden'),
        rfc: rfc(5034, '4'),
      };
    }
    const sp = text.indexOf(' ');
    const verb = (sp < 0 ? text : text.slice(0, sp)).toUpperCase();
    const args = sp < 0 ? '' : text.slice(sp + 1).trim();
    this.#pending.push({ seq, verb: verb || '(empty line)', args });
    const info = POP3_COMMANDS[verb];
    if (!info) {
      return {
        summary: verb.startsWith('<')
          ? this.#w.t('pop3.unreadable')
          : this.#w.t('pop3.notCommand', { verb: verb.slice(0, 20) }),
        detail: this.#w.t('pop3.commandsListed'),
        rfc: rfc(1939, '8'),
        command: true,
      };
    }
    let detail: string | null = null;
    if (verb === 'PASS' || verb === 'APOP') detail = this.#w.t('pop3.secretHidden');
    if (verb === 'LIST' || verb === 'UIDL')
      detail = args ? this.#w.t('pop3.forMessage', { n: args }) : this.#w.t('pop3.forEvery');
    if (verb === 'TOP') detail = this.#w.t('pop3.topArgs');
    if (verb === 'QUIT' && this.state === 'TRANSACTION') detail = this.#w.t('pop3.quitDeletes');
    return {
      summary: this.#w.t('common.command', { verb, summary: this.#w.tr(info.summary) }),
      detail,
      rfc: info.rfc,
      command: true,
    };
  }

  server(_seq: number, text: string): LineNote {
    if (this.#multi) return this.#multiLine(text);
    const target = this.#pending[0] ?? (this.#greeted ? null : { seq: 0, verb: 'CONNECT', args: '' });
    const answers = target
      ? { seq: target.seq, command: target.verb === 'CONNECT' ? 'connection' : target.verb }
      : null;

    if (text === '+' || text.startsWith('+ ')) {
      this.#sasl = true;
      const data = text.slice(2);
      return {
        code: '+',
        summary: this.#w.t('pop3.saslChallenge'),
        detail: data
          ? this.#w.t('common.challengeDecodes', { text: Buffer.from(data, 'base64').toString('utf8') })
          : this.#w.t('common.emptyChallenge'),
        answers,
        rfc: rfc(5034, '4'),
      };
    }
    const m = /^([+-])(OK|ERR)\b ?(.*)$/i.exec(text);
    if (!m) {
      return { summary: this.#w.t('pop3.notStatus'), answers, rfc: rfc(1939, '3') };
    }
    this.#sasl = false;
    const ok = m[1] === '+';
    const rest = m[3];
    if (target && target.verb !== 'CONNECT') this.#pending.shift();
    if (target?.verb === 'CONNECT') this.#greeted = true;
    const detail: string[] = [];
    const rc = /^\[([^\]]+)\]/.exec(rest);
    let summary = ok ? this.#w.t('pop3.success') : this.#w.t('pop3.failed');
    let ref = rfc(1939, '3');
    if (rc) {
      const name = rc[1].toUpperCase();
      const known = POP3_RESP_CODES[name] ?? POP3_RESP_CODES[name.split('/')[0]];
      detail.push(
        this.#w.t('pop3.responseCode', {
          code: rc[1],
          meaning: known ? this.#w.tr(known.text) : this.#w.t('pop3.code.unknown'),
        }),
      );
      if (known) ref = known.rfc;
    }
    if (target) {
      const s = this.#transition(target, ok);
      if (s) summary = s;
    } else {
      summary = ok ? this.#w.t('pop3.unasked') : this.#w.t('pop3.untiedError');
    }
    if (ok && target && this.#multiLineAnswer(target)) {
      this.#multi = target;
      this.#pending.unshift(target); // answered at the "." line
      detail.push(this.#w.t('pop3.multiLine'));
    }
    return {
      code: ok ? '+OK' : '-ERR',
      summary,
      detail: detail.length ? detail.join(' ') : null,
      answers,
      rfc: ref,
      failure: !ok,
    };
  }

  #multiLineAnswer(p: Pending): boolean {
    if (p.verb === 'CAPA' || p.verb === 'RETR' || p.verb === 'TOP') return true;
    return (p.verb === 'LIST' || p.verb === 'UIDL') && p.args === '';
  }

  #multiLine(text: string): LineNote {
    const target = this.#multi!;
    const answers = { seq: target.seq, command: target.verb };
    if (text === '.') {
      this.#multi = null;
      this.#pending.shift();
      return { summary: this.#w.t('pop3.endMulti'), answers, rfc: rfc(1939, '3') };
    }
    switch (target.verb) {
      case 'CAPA': {
        const cap = lookupCapability('pop3', text, this.#w.lang);
        return {
          summary: cap
            ? this.#w.t('common.capability', { keyword: text, summary: cap.summary })
            : this.#w.t('common.capabilityUnknown', { keyword: text }),
          detail: cap?.effect ?? null,
          answers,
          rfc: cap ? { doc: cap.rfc, section: null, url: cap.url } : rfc(2449, '5'),
        };
      }
      case 'LIST': {
        const [n, size] = text.split(' ');
        return { summary: this.#w.t('pop3.listLine', { n, size }), answers, rfc: rfc(1939, '5') };
      }
      case 'UIDL': {
        const [n, uid] = text.split(' ');
        return { summary: this.#w.t('pop3.uidlLine', { n, uid }), answers, rfc: rfc(1939, '7') };
      }
      default: {
        const octets = /^<message: (\d+) octets>$/.exec(text);
        if (octets)
          return {
            summary: this.#w.t('pop3.messageItself', { n: octets[1] }),
            answers,
            rfc: rfc(1939, '5'),
          };
        return {
          summary: text.startsWith('..') ? this.#w.t('pop3.messageLineDot') : this.#w.t('pop3.messageLine'),
          answers,
          rfc: rfc(1939, '3'),
        };
      }
    }
  }

  /** Moves the state for an answered command; returns a summary specific to it. */
  #transition(p: Pending, ok: boolean): string | null {
    switch (p.verb) {
      case 'CONNECT':
        return ok ? this.#w.t('pop3.greeting') : this.#w.t('pop3.refused');
      case 'USER':
        return ok ? this.#w.t('pop3.userOk') : this.#w.t('pop3.userBad');
      case 'PASS':
      case 'APOP':
      case 'AUTH':
        if (ok) {
          this.state = 'TRANSACTION';
          return this.#w.t('pop3.loggedIn');
        }
        return this.#w.t('pop3.loginFailed');
      case 'STLS':
        return ok ? this.#w.t('pop3.stlsOk') : this.#w.t('pop3.stlsBad');
      case 'STAT':
        if (!ok) return null;
        return this.#w.t('pop3.stat');
      case 'RETR':
      case 'TOP':
        return ok ? this.#w.t('pop3.follows') : null;
      case 'DELE':
        return ok ? this.#w.t('pop3.dele') : null;
      case 'RSET':
        return ok ? this.#w.t('pop3.rset') : null;
      case 'QUIT':
        if (this.state === 'TRANSACTION') {
          this.state = 'UPDATE';
          return ok ? this.#w.t('pop3.quitUpdate') : this.#w.t('pop3.quitPartial');
        }
        return this.#w.t('pop3.quitNoUpdate');
      case 'CAPA':
        return ok ? this.#w.t('pop3.capa') : null;
      default:
        return null;
    }
  }
}
