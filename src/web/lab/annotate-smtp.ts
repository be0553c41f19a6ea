/**
 * The SMTP side of the annotator (RFC 5321, with STARTTLS RFC 3207, AUTH RFC 4954, CHUNKING RFC 3030).
 * Replies answer the oldest pending command (PIPELINING, RFC 2920 §3.1: replies come in command
 * order); the greeting answers the connection; a multi-line reply (`250-` … `250 `) completes at its
 * last line. After 354 the client's lines are message content up to the lone "." line, whose reply
 * answers the DATA command; after 334 the next client line is a SASL response of the AUTH command.
 */
import { type LabWords, labWords } from '../i18n/index.js';
import { labEn } from '../i18n/lab.en.js';
import type { LineNote, ProtocolTracker } from './annotate.js';
import { lookupCapability } from './capabilities.js';
import { explainEnhanced, SMTP_CATEGORY, SMTP_CLASS, SMTP_CODES, SMTP_IN_CONTEXT } from './codes.js';
import { SMTP_COMMANDS } from './commands.js';
import { rfc } from './rfc.js';

interface Pending {
  seq: number;
  /** The verb, `CONNECT` for the greeting, `END` for the end of the message data. */
  verb: string;
  args: string;
}

/** MAIL/RCPT parameters and the extension that defines them. */
const PARAMS: Record<string, string> = {
  SIZE: labEn['smtp.param.SIZE'],
  BODY: labEn['smtp.param.BODY'],
  SMTPUTF8: labEn['smtp.param.SMTPUTF8'],
  RET: labEn['smtp.param.RET'],
  ENVID: labEn['smtp.param.ENVID'],
  NOTIFY: labEn['smtp.param.NOTIFY'],
  ORCPT: labEn['smtp.param.ORCPT'],
  AUTH: labEn['smtp.param.AUTH'],
};

export class SmtpTracker implements ProtocolTracker {
  state = 'connected';
  #pending: Pending[] = [];
  #greeted = false;
  #authed = false;
  /** 'data': client lines are message content; 'sasl': the next client line is a SASL response. */
  #mode: 'command' | 'data' | 'sasl' = 'command';
  #inHeader = true;
  /** The reply being received (between its first and its last line). */
  #reply: { code: string; target: Pending | null } | null = null;
  /** The explanations' language (the lab catalogue, src/web/i18n). */
  readonly #w: LabWords;

  constructor(words: LabWords = labWords()) {
    this.#w = words;
  }

  tls(): void {
    this.#authed = false;
  }

  engineState(state: string): void {
    // Only used to catch up when the trace started in the middle of a session.
    if (this.#greeted) return;
    if (state === 'greeted' || state === 'authenticated') this.state = state;
  }

  stateAfter(engineState: string): string {
    // The SMTP engine reports a change after its reply, which the tracker has followed already.
    const words: Record<string, string> = { mail: 'mail transaction' };
    return this.#greeted ? this.state : (words[engineState] ?? engineState);
  }

  #idle(): string {
    return this.#authed ? 'authenticated' : 'greeted';
  }

  client(seq: number, text: string): LineNote {
    const w = this.#w;
    if (this.#mode === 'data') return this.#content(seq, text);
    if (this.#mode === 'sasl') {
      return {
        summary: text === '*' ? w.t('common.cancelAuth') : w.t('smtp.saslHidden'),
        rfc: rfc(4954, '4'),
      };
    }
    const chunk = /^<chunk: (\d+) bytes(, last)?>$/.exec(text);
    if (chunk) {
      return {
        summary: w.t(chunk[2] ? 'smtp.bdatLast' : 'smtp.bdat', { n: chunk[1] }),
        rfc: rfc(3030, '2'),
      };
    }
    if (/^<line longer than \d+ bytes>$/.test(text)) {
      this.#pending.push({ seq, verb: 'LINE', args: '' });
      return {
        summary: w.t('smtp.lineTooLong'),
        rfc: rfc(5321, '4.5.3.1.4'),
        command: true,
      };
    }
    const sp = text.search(/[ \t]/);
    const verb = (sp < 0 ? text : text.slice(0, sp)).toUpperCase();
    const args = sp < 0 ? '' : text.slice(sp + 1).trim();
    this.#pending.push({ seq, verb: verb || '(empty line)', args });
    const info = SMTP_COMMANDS[verb];
    if (!info) {
      return {
        summary: verb ? w.t('smtp.notCommand', { verb: verb.slice(0, 32) }) : w.t('common.emptyLine'),
        detail: w.t('smtp.commandsListed'),
        rfc: rfc(5321, '4.1'),
        command: true,
      };
    }
    return {
      summary: w.t('common.command', { verb, summary: w.tr(info.summary) }),
      detail: this.#argsDetail(verb, args),
      rfc: info.rfc,
      command: true,
    };
  }

  #argsDetail(verb: string, args: string): string | null {
    const w = this.#w;
    if (verb === 'MAIL' || verb === 'RCPT') {
      const m = /^(?:FROM|TO):\s*(<[^>]*>|\S+)\s*(.*)$/i.exec(args);
      if (!m) return w.t(verb === 'MAIL' ? 'smtp.expectedMail' : 'smtp.expectedRcpt');
      const parts = [w.t(verb === 'MAIL' ? 'smtp.sender' : 'smtp.recipient', { address: m[1] })];
      for (const param of m[2].split(/\s+/).filter(Boolean)) {
        const name = param.split('=')[0].toUpperCase();
        parts.push(w.t('smtp.paramMeans', { param, meaning: w.tr(PARAMS[name] ?? labEn['smtp.param.other']) }));
      }
      return parts.join(' ');
    }
    if (verb === 'EHLO' || verb === 'HELO') return args ? w.t('smtp.clientName', { name: args }) : null;
    if (verb === 'AUTH') {
      const [mech = '', initial] = args.split(/\s+/);
      return w.t(initial ? 'smtp.mechanismInitial' : 'smtp.mechanism', { mechanism: mech.toUpperCase() });
    }
    return null;
  }

  #content(seq: number, text: string): LineNote {
    const w = this.#w;
    const r5322 = rfc(5322, '2.1');
    if (text === '.') {
      this.#mode = 'command';
      this.#pending.push({ seq, verb: 'END', args: '' });
      return {
        summary: w.t('smtp.endOfData'),
        detail: w.t('smtp.storesNow'),
        rfc: rfc(5321, '4.1.1.4'),
      };
    }
    if (this.#inHeader) {
      if (text === '') {
        this.#inHeader = false;
        return { summary: w.t('smtp.headerEnd'), rfc: r5322 };
      }
      if (/^[ \t]/.test(text)) return { summary: w.t('smtp.folded'), rfc: rfc(5322, '2.2.3') };
      const field = /^([!-9;-~]+):/.exec(text);
      if (field) return { summary: w.t('smtp.headerField', { name: field[1] }), rfc: rfc(5322, '3.6') };
      this.#inHeader = false;
    }
    if (text.startsWith('..')) {
      return {
        summary: w.t('smtp.dotStuffed'),
        rfc: rfc(5321, '4.5.2'),
      };
    }
    return { summary: w.t('smtp.bodyLine'), rfc: r5322 };
  }

  server(_seq: number, text: string): LineNote {
    const w = this.#w;
    const m = /^(\d)(\d)(\d)([ -]?)(.*)$/.exec(text);
    if (!m) {
      return {
        summary: w.t('smtp.notReply'),
        rfc: rfc(5321, '4.2'),
        failure: false,
      };
    }
    const code = `${m[1]}${m[2]}${m[3]}`;
    const last = m[4] !== '-';
    let rest = m[5];
    const continuation = this.#reply !== null && this.#reply.code === code;
    if (!continuation) {
      let target: Pending | null = this.#pending[0] ?? null;
      if (!target && !this.#greeted) target = { seq: 0, verb: 'CONNECT', args: '' };
      this.#reply = { code, target };
    }
    const target = this.#reply?.target ?? null;
    const answers = target ? { seq: target.seq, command: target.verb === 'END' ? 'DATA' : target.verb } : null;
    const enhancedMatch = /^([245]\.\d{1,3}\.\d{1,3})(?: |$)/.exec(rest);
    const enhanced = enhancedMatch ? enhancedMatch[1] : null;
    if (enhanced) rest = rest.slice(enhanced.length).trimStart();
    if (last) this.#complete(code, target);

    const failure = m[1] === '4' || m[1] === '5';
    if (continuation && target?.verb === 'EHLO') {
      const cap = lookupCapability('smtp', rest, w.lang);
      return {
        code,
        summary: cap
          ? w.t('smtp.extension', { keyword: rest, summary: cap.summary })
          : w.t('smtp.extensionUnknown', { keyword: rest }),
        detail: cap?.effect ?? null,
        answers,
        rfc: cap ? { doc: cap.rfc, section: null, url: cap.url } : null,
      };
    }
    if (continuation) return { code, enhanced, summary: w.t('smtp.continuation'), answers };

    const info = SMTP_CODES[Number(code)];
    const verb = target?.verb ?? 'NONE';
    const specific = SMTP_IN_CONTEXT[`${verb} ${code}`];
    const generic = info ? w.tr(info.text) : w.t('smtp.codeUndefined', { code });
    let summary = specific ? w.tr(specific) : generic;
    if (!target) summary = w.t('smtp.unsolicited', { meaning: generic });
    const detail = [
      w.t('smtp.basicCode', {
        code,
        class: m[1],
        category: m[2],
        classMeaning: w.tr(SMTP_CLASS[m[1]] ?? labEn['smtp.class.invalid']),
        categoryMeaning: w.tr(SMTP_CATEGORY[m[2]] ?? labEn['smtp.category.unknown']),
        meaning: generic,
      }),
    ];
    if (enhanced) {
      const e = explainEnhanced(enhanced, w.lang);
      if (e) detail.push(w.t('smtp.enhancedCode', { code: enhanced, meaning: e.text, source: e.source }));
    }
    if (code === '334' && rest) detail.push(w.t('common.challengeDecodes', { text: decodeChallenge(rest) }));
    if (!last) detail.push(w.t('smtp.moreLines'));
    return {
      code,
      enhanced,
      summary,
      detail: detail.join(' '),
      answers,
      rfc: verb === 'CONNECT' ? rfc(5321, '3.1') : (info?.rfc ?? rfc(5321, '4.2')),
      failure,
    };
  }

  /** The last line of a reply: the command is answered; the state moves. */
  #complete(code: string, target: Pending | null): void {
    this.#reply = null;
    if (!target) {
      if (code === '421') this.state = 'closed';
      return;
    }
    if (target.verb === 'CONNECT') {
      this.#greeted = true;
      if (code !== '220') this.state = code === '554' ? 'refused' : 'closed';
      return;
    }
    if (code === '334') {
      this.#mode = 'sasl';
      return; // AUTH goes on
    }
    this.#pending.shift();
    if (this.#mode === 'sasl') this.#mode = 'command';
    const ok = code[0] === '2' || code[0] === '3';
    if (code === '421') {
      this.state = 'closed';
      return;
    }
    switch (target.verb) {
      case 'EHLO':
      case 'HELO':
        if (ok) this.state = this.#idle();
        break;
      case 'MAIL':
        if (ok) this.state = 'mail transaction';
        break;
      case 'RCPT':
        if (ok) this.state = 'recipients';
        break;
      case 'DATA':
        if (code === '354') {
          this.#mode = 'data';
          this.#inHeader = true;
          this.state = 'data';
        }
        break;
      case 'END':
        // Accepted or not, the transaction is over (RFC 5321 §4.1.1.4).
        this.state = this.#idle();
        break;
      case 'BDAT':
        if (/\bLAST\b/i.test(target.args) || code[0] === '5') this.state = this.#idle();
        else if (ok) this.state = 'data';
        break;
      case 'RSET':
        if (ok && this.state !== 'connected') this.state = this.#idle();
        break;
      case 'STARTTLS':
        // RFC 3207 §4.2: everything known before TLS is forgotten; the client must EHLO again.
        if (code === '220') this.state = 'connected';
        break;
      case 'AUTH':
        if (code === '235') {
          this.#authed = true;
          this.state = 'authenticated';
        }
        break;
      case 'QUIT':
        if (code === '221') this.state = 'closed';
        break;
    }
  }
}

function decodeChallenge(b64: string): string {
  const text = Buffer.from(b64, 'base64').toString('utf8');
  return text.replace(/[\x00-\x1f\x7f]/g, '.');
}
