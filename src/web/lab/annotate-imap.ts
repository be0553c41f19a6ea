/**
 * The IMAP side of the annotator (RFC 9051, and RFC 3501 for IMAP4rev1 leftovers). A tagged
 * OK/NO/BAD answers the command with the same tag; untagged `*` data belongs to the command in
 * progress (or is unsolicited); `+` asks for more (a literal, a SASL response, or: IDLE is running).
 * States (RFC 9051 §3): not authenticated → authenticated → selected → logout. Literals `{n}` (and
 * `{n+}`, `~{n}`) span lines; their bytes are counted so a literal's lines are not read as commands.
 */
import { type LabWords, labWords } from '../i18n/index.js';
import { labEn } from '../i18n/lab.en.js';
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
  /** The explanations' language (the lab catalogue, src/web/i18n). */
  readonly #w: LabWords;

  constructor(words: LabWords = labWords()) {
    this.#w = words;
  }

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
      if (rest === null) return { summary: this.#w.t('imap.literal'), rfc: rfc(9051, '4.3') };
      this.#clientLiteral = null;
      this.#watchLiteral('client', rest);
      return { summary: this.#w.t('imap.literalEnd'), rfc: rfc(9051, '4.3') };
    }
    if (this.#sasl) {
      const target = this.#sasl;
      this.#sasl = null;
      return {
        summary: text === '*' ? this.#w.t('imap.cancel', { command: target.name }) : this.#w.t('imap.saslHidden'),
        rfc: rfc(9051, '6.2.2'),
      };
    }
    const idle = this.#pending.find((p) => p.name === 'IDLE');
    if (idle && text.toUpperCase() === 'DONE') {
      return {
        summary: this.#w.t('imap.done'),
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
        summary: this.#w.t('imap.refused', { reason: refused[1] }),
        rfc: rfc(9051, '2.2.1'),
        command: true,
      };
    }
    const base = name.startsWith('UID ') ? name.slice(4) : name;
    const info = IMAP_COMMANDS[base];
    if (!info) {
      return {
        summary: name ? this.#w.t('imap.notCommand', { name: name.slice(0, 40) }) : this.#w.t('imap.noCommand'),
        detail: this.#w.t('imap.commandForm'),
        rfc: rfc(9051, '2.2.1'),
        command: true,
      };
    }
    const detail = [this.#w.t('imap.tag', { tag })];
    if (name.startsWith('UID ')) detail.push(this.#w.t('imap.uidNumbers'));
    if (name === 'LOGIN') detail.push(this.#w.t('imap.passwordHidden'));
    return {
      summary: this.#w.t('common.command', { verb: name, summary: this.#w.tr(info.summary) }),
      detail: detail.join(' '),
      rfc: info.rfc,
      command: true,
    };
  }

  server(_seq: number, text: string): LineNote {
    if (this.#serverLiteral) {
      const rest = consumeLiteral(this.#serverLiteral, text);
      const answers = this.#current();
      if (rest === null)
        return { code: '*', summary: this.#w.t('imap.literalResponse'), answers, rfc: rfc(9051, '4.3') };
      this.#serverLiteral = null;
      this.#watchLiteral('server', rest);
      return { code: '*', summary: this.#w.t('imap.literalThenRest'), answers, rfc: rfc(9051, '4.3') };
    }
    if (text === '+' || text.startsWith('+ ')) return this.#continuation(text.slice(2));
    if (text.startsWith('* ')) return this.#untagged(text.slice(2));
    const m = /^(\S+) (OK|NO|BAD)\b ?(.*)$/i.exec(text);
    if (!m) return { summary: this.#w.t('imap.notResponse'), rfc: rfc(9051, '7') };
    const [, tag, statusRaw, rest] = m;
    const status = statusRaw.toUpperCase();
    const i = this.#pending.findIndex((p) => p.tag === tag);
    const target = i >= 0 ? this.#pending.splice(i, 1)[0] : null;
    if (target?.name === 'AUTHENTICATE' && this.#sasl === target) this.#sasl = null;
    const answers = target ? { seq: target.seq, command: target.name } : null;
    const rc = respCode(rest, this.#w);
    const detail: string[] = [this.#w.t('imap.statusMeans', { status, meaning: this.#w.tr(IMAP_STATUS[status].text) })];
    if (rc) detail.push(rc.explain);
    const summary = target
      ? this.#tagged(target, status, rc?.name ?? null)
      : this.#w.t('imap.taggedUnknown', { status, tag });
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
        summary: this.#w.t('imap.idling'),
        answers: { seq: last.seq, command: 'IDLE' },
        rfc: rfc(9051, '6.3.13'),
      };
    }
    if (last?.name === 'AUTHENTICATE') {
      this.#sasl = last;
      const decoded = data ? Buffer.from(data, 'base64').toString('utf8') : '';
      return {
        code: '+',
        summary: this.#w.t('imap.saslChallenge'),
        detail: data ? this.#w.t('common.challengeDecodes', { text: decoded }) : this.#w.t('common.emptyChallenge'),
        answers: { seq: last.seq, command: 'AUTHENTICATE' },
        rfc: rfc(9051, '6.2.2'),
      };
    }
    // The engine reports a command once it is complete, so the literal's command is not known yet.
    return {
      code: '+',
      summary: this.#w.t('imap.goAhead'),
      detail: this.#w.t('imap.syncLiteral'),
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
      const rc = respCode(status[2], this.#w);
      if (name === 'BYE') this.state = 'logout';
      if (name === 'PREAUTH') this.state = 'authenticated';
      let summary = this.#w.tr(IMAP_STATUS[name].text);
      if (first && name === 'OK') summary = this.#w.t('imap.greetingOk');
      else if (first && name === 'PREAUTH') summary = this.#w.t('imap.greetingPreauth');
      else if (first && name === 'BYE') summary = this.#w.t('imap.greetingBye');
      else if (rc) summary = `[${rc.name}] ${rc.text}`;
      return {
        code: name,
        summary,
        detail: [
          this.#w.t('imap.untaggedStatus', { status: name, meaning: this.#w.tr(IMAP_STATUS[name].text) }),
          rc?.explain,
        ]
          .filter(Boolean)
          .join(' '),
        answers,
        rfc: rc?.rfc ?? IMAP_STATUS[name].rfc,
        failure: name === 'NO' || name === 'BAD',
      };
    }
    const numbered = /^(\d+) (\S+)/.exec(body);
    const name = (numbered ? numbered[2] : (/^(\S+)/.exec(body)?.[1] ?? '')).toUpperCase();
    const info = IMAP_UNTAGGED[name];
    let summary = info ? this.#w.tr(info.summary) : this.#w.t('imap.untaggedData', { name });
    const n = numbered?.[1] ?? '';
    if (numbered && name === 'EXISTS') summary = this.#w.t('imap.exists', { n });
    if (numbered && name === 'EXPUNGE') summary = this.#w.t('imap.expunge', { n });
    if (numbered && name === 'FETCH') summary = this.#w.t('imap.fetch', { n });
    if (numbered && name === 'RECENT') summary = this.#w.t('imap.recent', { n });
    if (name === 'CAPABILITY') {
      const names = body.split(' ').slice(1);
      const known = names.filter((k) => lookupCapability('imap', k)).length;
      return {
        code: '*',
        summary: this.#w.t('imap.capabilities', { n: names.length }),
        detail: this.#w.t('imap.capabilitiesKnown', { n: known }),
        answers,
        rfc: info.rfc,
      };
    }
    return {
      code: '*',
      summary,
      detail: this.#w.t('imap.untagged'),
      answers,
      rfc: info?.rfc ?? rfc(9051, '7'),
    };
  }

  /** A tagged reply for a known command: moves the state and says what it means. */
  #tagged(p: Pending, status: string, code: string | null): string {
    const ok = status === 'OK';
    if (status === 'BAD') return this.#w.t('imap.bad', { command: p.name, state: this.state });
    switch (p.name) {
      case 'LOGIN':
      case 'AUTHENTICATE':
        if (ok) {
          this.state = 'authenticated';
          return this.#w.t('imap.loggedIn');
        }
        return code === 'AUTHENTICATIONFAILED' ? this.#w.t('imap.loginWrong') : this.#w.t('imap.loginFailed');
      case 'SELECT':
      case 'EXAMINE':
        if (ok) {
          this.state = 'selected';
          return this.#w.t(code === 'READ-ONLY' ? 'imap.selectedReadOnly' : 'imap.selectedReadWrite');
        }
        // RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected.
        if (this.state === 'selected') this.state = 'authenticated';
        return this.#w.t('imap.selectFailed');
      case 'CLOSE':
      case 'UNSELECT':
        if (ok) this.state = 'authenticated';
        return ok ? this.#w.t('imap.closed') : this.#w.t('imap.failed', { command: p.name });
      case 'LOGOUT':
        this.state = 'logout';
        return this.#w.t('imap.logout');
      case 'STARTTLS':
        return ok ? this.#w.t('imap.starttls') : this.#w.t('imap.noTls');
      case 'IDLE':
        return this.#w.t(ok ? 'imap.idleEnded' : 'imap.idleFailed');
      default:
        if (ok) return this.#w.t('imap.completed', { command: p.name });
        return code
          ? this.#w.t('imap.failedCode', { command: p.name, code })
          : this.#w.t('imap.failed', { command: p.name });
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

function respCode(
  text: string,
  w: LabWords,
): { name: string; text: string; explain: string; rfc: ReturnType<typeof rfc> } | null {
  const m = /^\[([A-Za-z0-9.-]+)(?: ([^\]]*))?\]/.exec(text);
  if (!m) return null;
  const name = m[1].toUpperCase();
  const known = IMAP_RESP_CODES[name];
  const value = m[2] ? ` ${m[2].length > 60 ? `${m[2].slice(0, 60)}…` : m[2]}` : '';
  const meaning = w.tr(known?.text ?? labEn['imap.code.unknown']);
  return {
    name,
    text: meaning,
    explain: w.t('imap.responseCode', { code: `${name}${value}`, meaning }),
    rfc: known?.rfc ?? rfc(9051, '7.1'),
  };
}
