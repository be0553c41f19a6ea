/**
 * The IMAP side of the annotator (RFC 9051, and RFC 3501 for IMAP4rev1 leftovers). A tagged
 * OK/NO/BAD answers the command with the same tag; untagged `*` data belongs to the command in
 * progress (or is unsolicited); `+` asks for more (a literal, a SASL response, or: IDLE is running).
 * States (RFC 9051 §3): not authenticated → authenticated → selected → logout. Literals `{n}` (and
 * `{n+}`, `~{n}`) span lines; their bytes are counted so a literal's lines are not read as commands.
 */
import type { LineNote, ProtocolTracker } from './annotate.js';
import { lookupCapability } from './capabilities.js';
import { IMAP_RESP_CODES, IMAP_STATUS } from './codes.js';
import { IMAP_COMMANDS, IMAP_UNTAGGED } from './commands.js';
import { rfc } from './rfc.js';

interface Pending {
  seq: number;
  tag: string;
  /** `FETCH`, `UID FETCH`. */
  name: string;
}

/** A literal still being received: how many bytes are left. */
export interface Literal {
  left: number;
}

const LITERAL_AT_END = /~?\{(\d+)\+?\}$/;

export class ImapTracker implements ProtocolTracker {
  state = 'not authenticated';
  #pending: Pending[] = [];
  #greeted = false;
  #clientLiteral: Literal | null = null;
  #serverLiteral: Literal | null = null;
  /** The command whose `+` challenge the next client line answers (AUTHENTICATE). */
  #sasl: Pending | null = null;

  tls(): void {}

  engineState(state: string): void {
    if (this.#greeted) return;
    if (state === 'authenticated') this.state = 'authenticated';
    else if (state.startsWith('selected')) this.state = 'selected';
  }

  stateAfter(engineState: string): string {
    if (engineState.startsWith('selected')) return 'selected';
    if (engineState === 'authenticated' || engineState === 'not authenticated' || engineState === 'logout')
      return engineState;
    return this.state; // 'tls': STARTTLS does not change the IMAP state
  }

  client(seq: number, text: string): LineNote {
    if (this.#clientLiteral) {
      const rest = consumeLiteral(this.#clientLiteral, text);
      if (rest === null) return { summary: 'Literal data (part of the command above)', rfc: rfc(9051, '4.3') };
      this.#clientLiteral = null;
      this.#watchLiteral('client', rest);
      return { summary: 'End of the literal; the command continues', rfc: rfc(9051, '4.3') };
    }
    if (this.#sasl) {
      const target = this.#sasl;
      this.#sasl = null;
      return {
        summary:
          text === '*'
            ? `Cancels ${target.name} ("*")`
            : 'SASL response (base64), hidden here because it carries credentials',
        rfc: rfc(9051, '6.2.2'),
      };
    }
    const idle = this.#pending.find((p) => p.name === 'IDLE');
    if (idle && text.toUpperCase() === 'DONE') {
      return {
        summary: 'DONE ends IDLE; the server answers with the tagged OK of the IDLE command',
        rfc: rfc(9051, '6.3.13'),
      };
    }
    const m = /^(\S+)(?: (UID) (\S+)| (\S+))?/i.exec(text);
    const tag = m?.[1] ?? '';
    const name = (m?.[3] ? `UID ${m[3]}` : (m?.[4] ?? '')).toUpperCase();
    this.#pending.push({ seq, tag, name: name || '(none)' });
    this.#watchLiteral('client', text);
    const refused = /<refused: (.*)>$/.exec(text);
    if (refused) {
      return {
        summary: `The server could not read this command: ${refused[1]}`,
        rfc: rfc(9051, '2.2.1'),
        command: true,
      };
    }
    const base = name.startsWith('UID ') ? name.slice(4) : name;
    const info = IMAP_COMMANDS[base];
    if (!info) {
      return {
        summary: name ? `${name.slice(0, 40)}: not an IMAP command this lab knows` : 'A line without a command',
        detail: 'Every IMAP command is "tag NAME arguments", e.g. "a1 NOOP".',
        rfc: rfc(9051, '2.2.1'),
        command: true,
      };
    }
    const uid = name.startsWith('UID ')
      ? ' Numbers are UIDs, not message sequence numbers (UID, RFC 9051 §6.4.9).'
      : '';
    return {
      summary: `${name}: ${info.summary}`,
      detail: `Tag ${tag}: the server's final answer will start with "${tag}".${uid}${name === 'LOGIN' ? ' The password is hidden in the lab.' : ''}`,
      rfc: info.rfc,
      command: true,
    };
  }

  server(_seq: number, text: string): LineNote {
    if (this.#serverLiteral) {
      const rest = consumeLiteral(this.#serverLiteral, text);
      const answers = this.#current();
      if (rest === null)
        return { code: '*', summary: 'Literal data (part of the response above)', answers, rfc: rfc(9051, '4.3') };
      this.#serverLiteral = null;
      this.#watchLiteral('server', rest);
      return { code: '*', summary: 'Literal data, then the rest of the response', answers, rfc: rfc(9051, '4.3') };
    }
    if (text === '+' || text.startsWith('+ ')) return this.#continuation(text.slice(2));
    if (text.startsWith('* ')) return this.#untagged(text.slice(2));
    const m = /^(\S+) (OK|NO|BAD)\b ?(.*)$/i.exec(text);
    if (!m) return { summary: 'Not an IMAP response line', rfc: rfc(9051, '7') };
    const [, tag, statusRaw, rest] = m;
    const status = statusRaw.toUpperCase();
    const i = this.#pending.findIndex((p) => p.tag === tag);
    const target = i >= 0 ? this.#pending.splice(i, 1)[0] : null;
    if (target?.name === 'AUTHENTICATE' && this.#sasl === target) this.#sasl = null;
    const answers = target ? { seq: target.seq, command: target.name } : null;
    const rc = respCode(rest);
    const detail: string[] = [`${status}: ${IMAP_STATUS[status].text}.`];
    if (rc) detail.push(rc.explain);
    const summary = target
      ? this.#tagged(target, status, rc?.name ?? null)
      : `A tagged ${status} for tag ${tag}, which no pending command has`;
    return {
      code: status,
      summary,
      detail: detail.join(' '),
      answers,
      rfc: rc?.rfc ?? IMAP_STATUS[status].rfc,
      failure: status !== 'OK',
    };
  }

  #current(): { seq: number; command: string } | null {
    const p = this.#pending[0];
    return p ? { seq: p.seq, command: p.name } : null;
  }

  #continuation(data: string): LineNote {
    const last = this.#pending.at(-1);
    if (last?.name === 'IDLE') {
      return {
        code: '+',
        summary: 'IDLE is running: the server reports changes as they happen until the client sends DONE',
        answers: { seq: last.seq, command: 'IDLE' },
        rfc: rfc(9051, '6.3.13'),
      };
    }
    if (last?.name === 'AUTHENTICATE') {
      this.#sasl = last;
      const decoded = data ? Buffer.from(data, 'base64').toString('utf8') : '';
      return {
        code: '+',
        summary: 'SASL challenge: answer with one base64 line (or "*" to cancel)',
        detail: data ? `The challenge decodes to "${decoded}".` : 'An empty challenge.',
        answers: { seq: last.seq, command: 'AUTHENTICATE' },
        rfc: rfc(9051, '6.2.2'),
      };
    }
    // The engine reports a command once it is complete, so the literal's command is not known yet.
    return {
      code: '+',
      summary: 'Go ahead: the server is ready for the literal the client announced with {n}',
      detail: 'A synchronizing literal waits for this "+" (a non-synchronizing {n+} literal of LITERAL+ does not).',
      rfc: rfc(9051, '7.6'),
    };
  }

  #untagged(body: string): LineNote {
    const answers = this.#greeted ? this.#current() : { seq: 0, command: 'connection' };
    const first = !this.#greeted;
    this.#greeted = true;
    this.#watchLiteral('server', body);
    const status = /^(OK|NO|BAD|BYE|PREAUTH)\b ?(.*)$/i.exec(body);
    if (status) {
      const name = status[1].toUpperCase();
      const rc = respCode(status[2]);
      if (name === 'BYE') this.state = 'logout';
      if (name === 'PREAUTH') this.state = 'authenticated';
      let summary = IMAP_STATUS[name].text;
      if (first && name === 'OK') summary = 'The greeting: the server is ready; the client is not authenticated yet';
      else if (first && name === 'PREAUTH') summary = 'The greeting: the connection is already authenticated';
      else if (first && name === 'BYE') summary = 'The greeting refuses the connection';
      else if (rc) summary = `[${rc.name}] ${rc.text}`;
      return {
        code: name,
        summary,
        detail: [`Untagged ${name}: ${IMAP_STATUS[name].text}.`, rc?.explain].filter(Boolean).join(' '),
        answers,
        rfc: rc?.rfc ?? IMAP_STATUS[name].rfc,
        failure: name === 'NO' || name === 'BAD',
      };
    }
    const numbered = /^(\d+) (\S+)/.exec(body);
    const name = (numbered ? numbered[2] : (/^(\S+)/.exec(body)?.[1] ?? '')).toUpperCase();
    const info = IMAP_UNTAGGED[name];
    let summary = info?.summary ?? `Untagged ${name} data`;
    if (numbered && name === 'EXISTS') summary = `The mailbox now holds ${numbered[1]} messages`;
    if (numbered && name === 'EXPUNGE')
      summary = `Message ${numbered[1]} was removed; higher message numbers shift down by one`;
    if (numbered && name === 'FETCH') summary = `Data about message ${numbered[1]}`;
    if (numbered && name === 'RECENT')
      summary = `${numbered[1]} messages are \\Recent (new to this session; IMAP4rev1)`;
    if (name === 'CAPABILITY') {
      const names = body.split(' ').slice(1);
      const known = names.filter((n) => lookupCapability('imap', n)).length;
      return {
        code: '*',
        summary: `The server's capabilities (${names.length})`,
        detail: `${known} of them are explained in the capability explainer.`,
        answers,
        rfc: info.rfc,
      };
    }
    return {
      code: '*',
      summary,
      detail: 'Untagged data: part of the answer to the command in progress, or an unsolicited update.',
      answers,
      rfc: info?.rfc ?? rfc(9051, '7'),
    };
  }

  /** A tagged reply for a known command: moves the state and says what it means. */
  #tagged(p: Pending, status: string, code: string | null): string {
    const ok = status === 'OK';
    if (status === 'BAD')
      return `${p.name} was rejected as a protocol error (syntax, or not allowed in the ${this.state} state)`;
    switch (p.name) {
      case 'LOGIN':
      case 'AUTHENTICATE':
        if (ok) {
          this.state = 'authenticated';
          return 'Logged in: the session is now in the authenticated state';
        }
        return code === 'AUTHENTICATIONFAILED' ? 'Login failed: wrong user name or password' : 'Login failed';
      case 'SELECT':
      case 'EXAMINE':
        if (ok) {
          this.state = 'selected';
          return `The mailbox is selected ${code === 'READ-ONLY' ? 'read-only' : 'read-write'}: message commands work now`;
        }
        // RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected.
        if (this.state === 'selected') this.state = 'authenticated';
        return 'The mailbox could not be selected; no mailbox is selected now';
      case 'CLOSE':
      case 'UNSELECT':
        if (ok) this.state = 'authenticated';
        return ok ? 'The mailbox is closed; back in the authenticated state' : `${p.name} failed`;
      case 'LOGOUT':
        this.state = 'logout';
        return 'LOGOUT completed; the server closes the connection';
      case 'STARTTLS':
        return ok ? 'Start the TLS handshake now; capabilities must be asked again afterwards' : 'TLS is not available';
      case 'IDLE':
        return ok ? 'IDLE ended' : 'IDLE failed';
      default:
        return ok ? `${p.name} completed` : `${p.name} failed${code ? ` [${code}]` : ''}`;
    }
  }

  /** When a line ends with a literal announcement, the following bytes are literal data. */
  #watchLiteral(side: 'client' | 'server', text: string): void {
    const m = LITERAL_AT_END.exec(text);
    if (!m) return;
    const lit = { left: Number(m[1]) };
    if (lit.left === 0) return;
    if (side === 'client') this.#clientLiteral = lit;
    else this.#serverLiteral = lit;
  }
}

/**
 * Consumes a line of literal data. Returns null while the literal goes on after this line, or the
 * text that follows the literal on this line (the command or response continues there). The trace
 * shows big literals as `<n bytes>`.
 */
export function consumeLiteral(lit: Literal, text: string): string | null {
  const placeholder = /^<(\d+) bytes>/.exec(text);
  if (placeholder && Number(placeholder[1]) === lit.left) {
    lit.left = 0;
    return text.slice(placeholder[0].length);
  }
  const bytes = Buffer.from(text, 'utf8');
  if (lit.left >= bytes.length + 2) {
    lit.left -= bytes.length + 2;
    if (lit.left === 0) return '';
    return null;
  }
  const rest = bytes.subarray(Math.min(lit.left, bytes.length)).toString('utf8');
  lit.left = 0;
  return rest;
}

function respCode(text: string): { name: string; text: string; explain: string; rfc: ReturnType<typeof rfc> } | null {
  const m = /^\[([A-Za-z0-9.-]+)(?: ([^\]]*))?\]/.exec(text);
  if (!m) return null;
  const name = m[1].toUpperCase();
  const known = IMAP_RESP_CODES[name];
  const value = m[2] ? ` ${m[2].length > 60 ? `${m[2].slice(0, 60)}…` : m[2]}` : '';
  const meaning = known?.text ?? 'a response code this lab does not know';
  return {
    name,
    text: meaning,
    explain: `Response code [${name}${value}]: ${meaning}.`,
    rfc: known?.rfc ?? rfc(9051, '7.1'),
  };
}
