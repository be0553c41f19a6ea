/**
 * The SMTP side of the annotator (RFC 5321, with STARTTLS RFC 3207, AUTH RFC 4954, CHUNKING RFC 3030).
 * Replies answer the oldest pending command (PIPELINING, RFC 2920 §3.1: replies come in command
 * order); the greeting answers the connection; a multi-line reply (`250-` … `250 `) completes at its
 * last line. After 354 the client's lines are message content up to the lone "." line, whose reply
 * answers the DATA command; after 334 the next client line is a SASL response of the AUTH command.
 */
import { labEn } from '../i18n/lab.en.js';
import type { LineNote, ProtocolTracker } from './annotate.js';
import { lookupCapability } from './capabilities.js';
import { explainEnhanced, SMTP_CATEGORY, SMTP_CLASS, SMTP_CODES, SMTP_IN_CONTEXT } from './codes.js';
import { SMTP_COMMANDS } from './commands.js';
import { rfc } from './rfc.js';

/** English explanations come from the lab catalogue; routes turn them into the viewer's language (localize.ts). */
const EN: Readonly<Record<keyof typeof labEn, string>> = labEn;

interface Pending {
  seq: number;
  /** The verb, `CONNECT` for the greeting, `END` for the end of the message data. */
  verb: string;
  args: string;
}

/** MAIL/RCPT parameters and the extension that defines them. */
const PARAMS: Record<string, string> = {
  SIZE: 'the declared message size in bytes (SIZE, RFC 1870)',
  BODY: 'the body type, 7BIT, 8BITMIME (RFC 6152) or BINARYMIME (RFC 3030)',
  SMTPUTF8: 'the message uses UTF-8 addresses and headers (RFC 6531)',
  RET: 'how much of the message a bounce should return, FULL or HDRS (DSN, RFC 3461)',
  ENVID: 'an envelope id quoted back in delivery reports (DSN, RFC 3461)',
  NOTIFY: 'when to send a delivery report: SUCCESS, FAILURE, DELAY or NEVER (DSN, RFC 3461)',
  ORCPT: 'the original recipient address, for delivery reports (DSN, RFC 3461)',
  AUTH: 'the identity that submitted the message originally (RFC 4954 §5)',
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
    if (this.#mode === 'data') return this.#content(seq, text);
    if (this.#mode === 'sasl') {
      return {
        summary:
          text === '*'
            ? 'Cancels the AUTH exchange ("*")'
            : 'SASL response to the 334 challenge: base64, hidden here because it carries credentials',
        rfc: rfc(4954, '4'),
      };
    }
    const chunk = /^<chunk: (\d+) bytes(, last)?>$/.exec(text);
    if (chunk) {
      return {
        summary: `BDAT chunk: ${chunk[1]} bytes of message data${chunk[2] ? ', the last chunk' : ''} (not shown)`,
        rfc: rfc(3030, '2'),
      };
    }
    if (/^<line longer than \d+ bytes>$/.test(text)) {
      this.#pending.push({ seq, verb: 'LINE', args: '' });
      return {
        summary: 'A command line over the length limit (not shown)',
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
        summary: verb ? `${verb.slice(0, 32)}: not an SMTP command` : 'An empty line: not a command',
        detail: 'RFC 5321 §4.1 lists the commands; the server answers 500 to anything else.',
        rfc: rfc(5321, '4.1'),
        command: true,
      };
    }
    return { summary: `${verb}: ${info.summary}`, detail: this.#argsDetail(verb, args), rfc: info.rfc, command: true };
  }

  #argsDetail(verb: string, args: string): string | null {
    if (verb === 'MAIL' || verb === 'RCPT') {
      const m = /^(?:FROM|TO):\s*(<[^>]*>|\S+)\s*(.*)$/i.exec(args);
      if (!m) return `Expected ${verb === 'MAIL' ? 'MAIL FROM:<address>' : 'RCPT TO:<address>'}`;
      const parts = [`${verb === 'MAIL' ? 'Sender' : 'Recipient'} ${m[1]}.`];
      for (const param of m[2].split(/\s+/).filter(Boolean)) {
        const name = param.split('=')[0].toUpperCase();
        parts.push(`${param}: ${PARAMS[name] ?? 'a parameter of an SMTP extension'}.`);
      }
      return parts.join(' ');
    }
    if (verb === 'EHLO' || verb === 'HELO') return args ? `The client calls itself ${args}.` : null;
    if (verb === 'AUTH') {
      const [mech = '', initial] = args.split(/\s+/);
      return `Mechanism ${mech.toUpperCase()}${initial ? ', with an initial response (hidden)' : ''}.`;
    }
    return null;
  }

  #content(seq: number, text: string): LineNote {
    const r5322 = rfc(5322, '2.1');
    if (text === '.') {
      this.#mode = 'command';
      this.#pending.push({ seq, verb: 'END', args: '' });
      return {
        summary: EN['smtp.endOfData'],
        detail: 'The server now stores the message and answers the DATA command.',
        rfc: rfc(5321, '4.1.1.4'),
      };
    }
    if (this.#inHeader) {
      if (text === '') {
        this.#inHeader = false;
        return { summary: EN['smtp.headerEnd'], rfc: r5322 };
      }
      if (/^[ \t]/.test(text)) return { summary: EN['smtp.folded'], rfc: rfc(5322, '2.2.3') };
      const field = /^([!-9;-~]+):/.exec(text);
      if (field) return { summary: `Header field ${field[1]}`, rfc: rfc(5322, '3.6') };
      this.#inHeader = false;
    }
    if (text.startsWith('..')) {
      return {
        summary: EN['smtp.dotStuffed'],
        rfc: rfc(5321, '4.5.2'),
      };
    }
    return { summary: EN['smtp.bodyLine'], rfc: r5322 };
  }

  server(_seq: number, text: string): LineNote {
    const m = /^(\d)(\d)(\d)([ -]?)(.*)$/.exec(text);
    if (!m) {
      return {
        summary: 'Not an SMTP reply line (a reply starts with a three-digit code)',
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
      const cap = lookupCapability('smtp', rest);
      return {
        code,
        summary: cap ? `Extension ${rest}: ${cap.summary}` : `Extension ${rest} (not known to the lab)`,
        detail: cap?.effect ?? null,
        answers,
        rfc: cap ? { doc: cap.rfc, section: null, url: cap.url } : null,
      };
    }
    if (continuation) return { code, enhanced, summary: EN['smtp.continuation'], answers };

    const info = SMTP_CODES[Number(code)];
    const verb = target?.verb ?? 'NONE';
    const specific = SMTP_IN_CONTEXT[`${verb} ${code}`];
    const generic = info?.text ?? `Code ${code} is not defined by RFC 5321`;
    let summary = specific ?? generic;
    if (!target) summary = `${generic} (not an answer to a command: the server speaks on its own)`;
    const detail = [
      `Basic code ${code}: ${m[1]}yz = ${SMTP_CLASS[m[1]] ?? 'not a valid class'}; x${m[2]}z = ${SMTP_CATEGORY[m[2]] ?? 'unknown category'}; ${code} = ${generic} (RFC 5321 §4.2).`,
    ];
    if (enhanced) {
      const e = explainEnhanced(enhanced);
      if (e) detail.push(`Enhanced status ${enhanced}: ${e.text} (${e.source}).`);
    }
    if (code === '334' && rest) detail.push(`The challenge decodes to "${decodeChallenge(rest)}".`);
    if (!last) detail.push('More lines of this reply follow (a hyphen after the code means "continued").');
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
