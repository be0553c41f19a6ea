/**
 * The ManageSieve side of the annotator (RFC 5804). Every command is answered by zero or more data
 * lines and one final line `OK`, `NO` or `BYE`, with an optional response code in parentheses (§1.3)
 * and a quoted text. Responses answer pending commands in order. The greeting is the capability list
 * and an OK (§1.7); after STARTTLS and its handshake the server sends the list again unasked (§2.2).
 * States: non-authenticated → authenticated (AUTHENTICATE) → non-authenticated again (UNAUTHENTICATE,
 * §2.14) or logout (LOGOUT, BYE). Strings are quoted or literals: `{n+}` from the client (§1.2, §4),
 * `{n}` from the server; a literal's lines are counted so they are not read as commands.
 */
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
      if (rest === null) return { summary: 'Literal data (part of the command above)', rfc: rfc(5804, '4') };
      this.#clientLiteral = null;
      this.#clientTail = rest === '';
      this.#watchLiteral('client', rest);
      return {
        summary: 'End of the literal (the octets the command announced with {n+})',
        rfc: rfc(5804, '4'),
      };
    }
    if (this.#clientTail) {
      this.#clientTail = false;
      if (text === '')
        return { summary: 'The line break that ends the command after its literal', rfc: rfc(5804, '4') };
    }
    if (this.#sasl) {
      const target = this.#sasl;
      this.#sasl = null;
      this.#watchLiteral('client', text);
      return {
        summary:
          text === '"*"' || text === '*'
            ? `Cancels ${target.verb} ("*"); the server answers NO`
            : 'SASL response (a base64 string), hidden here because it carries credentials',
        rfc: rfc(5804, '2.1'),
      };
    }
    if (/^<redacted>$/i.test(text)) {
      this.#pending.push({ seq, verb: '(hidden line)', arg: null });
      return {
        summary: 'A line the server hid: sent right after AUTHENTICATE, it may carry credentials',
        detail: 'A client that sends base64 credentials after a refused AUTHENTICATE would show its password here.',
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
        summary: verb ? `${verb.slice(0, 20)}: not a ManageSieve command` : 'An empty line: not a command',
        detail: 'RFC 5804 §2 lists the commands; strings are "quoted" or literals {n+}.',
        rfc: rfc(5804, '2'),
        command: true,
      };
    }
    return {
      summary: `${verb}: ${info.summary}`,
      detail: this.#commandDetail(verb, args, first),
      rfc: info.rfc,
      command: true,
    };
  }

  #commandDetail(verb: string, args: string, first: string | null): string | null {
    const literal = LITERAL_AT_END.exec(args);
    const follows = literal
      ? ` The ${literal[1]} octets of the script follow as a literal ({n+}: without waiting).`
      : '';
    switch (verb) {
      case 'AUTHENTICATE':
        return `Mechanism ${first ?? '?'}.${strings(args).length > 1 ? ' The initial response (base64 of the credentials for PLAIN) is hidden in the lab; on the wire it is readable by anyone without TLS.' : ''}`;
      case 'PUTSCRIPT':
        return `Script "${first ?? '?'}": stored only if it compiles; an error comes back as NO with its line.${follows}`;
      case 'CHECKSCRIPT':
        return `Nothing is stored.${follows}`;
      case 'HAVESPACE': {
        const size = /(\d+)\s*$/.exec(args)?.[1];
        return `Script "${first ?? '?'}" of ${size ?? '?'} octets: OK if it fits, NO (QUOTA/…) if not.`;
      }
      case 'SETACTIVE':
        return first === ''
          ? 'The empty name: no script is active afterwards (mail is only kept).'
          : `Script "${first ?? '?'}".`;
      case 'GETSCRIPT':
      case 'DELETESCRIPT':
        return first !== null ? `Script "${first}".` : null;
      case 'RENAMESCRIPT': {
        const names = strings(args);
        return `From "${names[0] ?? '?'}" to "${names[1] ?? '?'}".`;
      }
      case 'LOGOUT':
        return 'The server answers OK and closes the connection.';
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
          summary: `Error at line ${error[1]}, column ${error[2]}: ${error[3]}`,
          detail: 'Part of the response text above (a literal, since it has several lines).',
          answers,
          rfc: rfc(5804, of?.verb === 'CHECKSCRIPT' ? '2.12' : '2.6'),
        };
      }
      return {
        summary: ended ? 'End of the literal' : 'Literal data (part of the response above)',
        answers,
        rfc: rfc(5804, '4'),
      };
    }
    const target = this.#target();
    const answers = this.#answers(target);
    if (this.#serverTail) {
      this.#serverTail = false;
      if (text === '') return { summary: 'The line break after the literal', answers, rfc: rfc(5804, '4') };
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
        `Response code (${code[1].length > 60 ? `${code[1].slice(0, 60)}…` : code[1]}): ${known?.text ?? 'not a response code RFC 5804 defines'}.`,
      );
      if (known) ref = known.rfc;
    }
    const text2 = code ? rest.slice(code[0].length).trim() : rest;
    const literalText = LITERAL_AT_END.exec(text2);
    if (literalText) {
      // The response text is a literal (RFC 5804 §4 literal-s2c): its lines follow.
      this.#literalOf = { answers, verb: target?.verb ?? '' };
      this.#watchLiteral('server', text2);
      detail.push(`The text follows as a literal of ${literalText[1]} octets (it has several lines).`);
    }
    const message = literalText ? undefined : strings(text2)[0];
    const position = message ? /line (\d+)(?:, column (\d+)|:(\d+))?/i.exec(message) : null;
    if (!ok && position && target && (target.verb === 'PUTSCRIPT' || target.verb === 'CHECKSCRIPT')) {
      detail.push(
        `The script has an error at line ${position[1]}${position[2] || position[3] ? `, column ${position[2] ?? position[3]}` : ''}.`,
      );
    }
    let summary: string;
    if (kind === 'BYE') {
      this.state = 'logout';
      summary = 'BYE: the server closes the connection';
      if (target?.verb !== 'LOGOUT')
        detail.push('Sent without being asked, e.g. after an idle timeout or too many errors.');
    } else if (target) {
      summary = this.#transition(target, ok, codeName) ?? (ok ? `${target.verb} completed` : `${target.verb} failed`);
    } else {
      summary = ok ? 'An OK the client did not ask for' : 'An error not tied to a command';
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
        summary: 'SASL challenge (a base64 string): the client answers with a string, or "*" to cancel',
        detail: quoted ? (decoded ? `It decodes to "${decoded}".` : 'An empty challenge.') : null,
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
            ? `The script follows as a literal of ${literal[1]} octets`
            : `A literal of ${literal[1]} octets follows`,
        answers,
        rfc: rfc(5804, verb === 'GETSCRIPT' ? '2.9' : '4'),
      };
    }
    if (verb === 'CONNECT' || verb === 'CAPABILITY' || verb === 'STARTTLS-CAPABILITY') {
      const [name, value] = strings(text);
      const keyword = value !== undefined && value !== '' ? `${name} ${value}` : (name ?? text);
      const cap = lookupCapability('managesieve', keyword);
      return {
        summary: cap ? `Capability ${name}: ${cap.summary}` : `Capability ${name ?? text} (not known to the lab)`,
        detail: cap?.effect ?? null,
        answers,
        rfc: cap ? { doc: cap.rfc, section: null, url: cap.url } : rfc(5804, '1.7'),
      };
    }
    if (verb === 'LISTSCRIPTS') {
      const [name] = strings(text);
      const active = /\sACTIVE\s*$/i.test(text);
      return {
        summary: active ? `Script "${name}", the active one (run at delivery)` : `Script "${name}"`,
        answers,
        rfc: rfc(5804, '2.7'),
      };
    }
    return { summary: 'Data of the response', answers, rfc: rfc(5804, '1.1') };
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
        return ok
          ? 'The greeting: the capabilities above, then OK; log in with AUTHENTICATE (after STARTTLS)'
          : 'The server refuses the connection';
      case 'STARTTLS':
        if (ok) {
          this.#startedTls = p;
          return 'Start the TLS handshake now; the server then sends its capabilities again';
        }
        return 'TLS is not available';
      case 'STARTTLS-CAPABILITY':
        return 'The capabilities after TLS are complete (RFC 5804 §2.2: sent without being asked)';
      case 'AUTHENTICATE':
        if (ok) {
          this.state = 'authenticated';
          return 'Logged in: the script commands may be used now (authenticated state)';
        }
        return code === 'ENCRYPT-NEEDED'
          ? 'Login refused before TLS: send STARTTLS first'
          : 'Login failed; the session stays non-authenticated';
      case 'UNAUTHENTICATE':
        if (ok) this.state = 'non-authenticated';
        return ok ? 'Logged out; the connection stays open for a new AUTHENTICATE' : null;
      case 'LOGOUT':
        this.state = 'logout';
        return 'The session ends; the server closes the connection';
      case 'PUTSCRIPT':
        return ok
          ? `Script "${p.arg ?? '?'}" stored${code === 'WARNINGS' ? ', with warnings' : ''}; SETACTIVE makes it the one that runs`
          : code?.startsWith('QUOTA')
            ? 'Not stored: over a quota'
            : 'Not stored: the script has an error (the text says where) or the name is refused';
      case 'CHECKSCRIPT':
        return ok ? `The script compiles${code === 'WARNINGS' ? ', with warnings' : ''}` : 'The script has an error';
      case 'HAVESPACE':
        return ok ? 'It would fit: PUTSCRIPT may follow' : 'It would not fit';
      case 'SETACTIVE':
        if (!ok) return null;
        return p.arg === ''
          ? 'No script is active now: mail is kept in INBOX'
          : `"${p.arg ?? '?'}" is the active script now: it runs for every new message`;
      case 'LISTSCRIPTS':
        return ok ? 'End of the script list' : null;
      case 'GETSCRIPT':
        return ok ? 'The script above is complete' : null;
      case 'DELETESCRIPT':
        return ok ? `Script "${p.arg ?? '?'}" deleted` : code === 'ACTIVE' ? 'Refused: it is the active script' : null;
      case 'RENAMESCRIPT':
        return ok ? 'Renamed' : null;
      case 'CAPABILITY':
        return ok ? 'End of the capability list' : null;
      case 'NOOP':
        return ok ? 'Nothing done; the connection is alive' : null;
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
