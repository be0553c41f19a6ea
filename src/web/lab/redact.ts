/**
 * Credentials in the bytes of a session (the trace bus's wire channel), found and masked before the
 * lab recorder keeps anything: the capture's redacted form keeps every byte of the conversation, with
 * the same length and framing, and only the secrets replaced.
 *
 * Invariants:
 * - Length and syntax are kept: a mask has the length of what it hides, so TCP sequence numbers,
 *   IMAP literal sizes and base64 lengths stay right and tshark parses the redacted form as it would
 *   the real one. Passwords become `*` (IMAP atoms `x`, since `*` is no ATOM-CHAR, RFC 9051 §9);
 *   SASL responses (base64) become the base64 of their bytes with every one but NUL turned to `*`
 *   (PLAIN keeps its shape), or `Kioq` repeated (base64 for `***`) with the `=` padding kept when
 *   they are no canonical base64.
 * - What counts as a secret: POP3 `PASS` arguments and `APOP` digests (RFC 1939 §7); the initial
 *   response and every client line of a SASL exchange (POP3 `AUTH`, RFC 5034; SMTP `AUTH`, RFC 4954;
 *   IMAP `AUTHENTICATE`, RFC 9051 §6.2.2; ManageSieve `AUTHENTICATE`, RFC 5804 §2.1, as quoted strings
 *   or literals) until the server's final answer; the password of IMAP `LOGIN` (RFC 9051 §6.2.3), as
 *   an atom, a quoted string or a literal.
 * - As the engines' transcripts do (docs/security.md), the first client line after an AUTH or
 *   AUTHENTICATE command, refused or not, is masked too unless it starts with a known command: a
 *   careless client sends its base64 credentials after a 503, 504, -ERR or NO.
 * - Message content is never masked: SMTP DATA (after 354, to the lone `.`), BDAT chunks, IMAP
 *   literals and ManageSieve scripts (PUTSCRIPT, CHECKSCRIPT literals) are passed through as they are,
 *   whatever lines they hold.
 * - Client bytes are examined by whole lines: an unfinished line is held back (up to `MAX_HELD`
 *   bytes, then masked from its first space on if it may hold a secret) until its end arrives, so a
 *   password typed one key per segment is masked too. Server bytes pass through unchanged.
 */
import type { Protocol } from '../../trace/bus.js';

/** Client bytes of one unfinished line held back at most; more are judged as they are. */
const MAX_HELD = 16 * 1024;
const STAR = 0x2a;
const X = 0x78;
/** base64 of `***`: a SASL response masked with it still decodes, to stars. */
const B64_MASK = Buffer.from('Kioq');
const EQUALS = 0x3d;

/** Bytes out of the redactor: `bytes` as kept (masked), and the original of every masked range. */
export interface Redacted {
  bytes: Buffer;
  /** [offset in `bytes`, the original bytes there]. */
  secrets: [number, Buffer][];
}

type MaskStyle = 'star' | 'atom' | 'b64';

interface Mask {
  from: number;
  to: number;
  style: MaskStyle;
}

const NOTHING: Redacted = { bytes: Buffer.alloc(0), secrets: [] };

export class WireRedactor {
  readonly #proto: Protocol;
  /** Client bytes of the line not yet ended. */
  #held: Buffer[] = [];
  #heldBytes = 0;
  /** Bytes of a literal (IMAP) or chunk (BDAT) still to come, and whether it is a password. */
  #literal = 0;
  #literalSecret = false;
  /** SMTP: DATA sent, waiting for 354; then in the message until the lone dot. */
  #dataPending = false;
  #inData = false;
  /** In DATA: 0 at a line start, 1 after a leading dot, 2 after `.` CR, 3 inside a line. */
  #dataLine = 0;
  /** A SASL exchange is on: every client line is a response; IMAP: the tag that ends it. */
  #sasl = false;
  #saslTag = '';
  /** An AUTH exchange ended (or was refused): the next line is masked unless it is a known command. */
  #afterAuth = false;
  /** IMAP LOGIN whose user name was a literal: the password starts the next line. */
  #passNext = false;
  /**
   * The start of the line now arriving was judged already (it was longer than MAX_HELD): null when
   * it is not, else how the rest is masked ('none': not at all).
   */
  #rest: MaskStyle | 'none' | null = null;

  constructor(proto: Protocol) {
    this.#proto = proto;
  }

  /** Takes one chunk as it crossed the wire; returns what may be kept of it now. */
  feed(dir: 'in' | 'out', chunk: Buffer): Redacted {
    if (dir === 'out') {
      this.#serverLines(chunk);
      return { bytes: chunk, secrets: [] };
    }
    const out: Buffer[] = [];
    const secrets: [number, Buffer][] = [];
    let outBytes = 0;
    const emit = (b: Buffer, masks: Mask[]) => {
      if (b.length === 0) return;
      if (masks.length === 0) {
        out.push(b);
      } else {
        const copy = Buffer.from(b);
        for (const m of masks) {
          if (m.to <= m.from) continue;
          secrets.push([outBytes + m.from, Buffer.from(b.subarray(m.from, m.to))]);
          maskBytes(copy, m);
        }
        out.push(copy);
      }
      outBytes += b.length;
    };
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#literal > 0) {
        const n = Math.min(this.#literal, chunk.length - pos);
        const piece = chunk.subarray(pos, pos + n);
        emit(piece, this.#literalSecret ? [{ from: 0, to: n, style: 'star' }] : []);
        this.#literal -= n;
        pos += n;
        continue;
      }
      if (this.#inData) {
        pos = this.#dataBytes(chunk, pos, emit);
        continue;
      }
      const lf = chunk.indexOf(0x0a, pos);
      if (lf < 0) {
        this.#held.push(chunk.subarray(pos));
        this.#heldBytes += chunk.length - pos;
        if (this.#heldBytes > MAX_HELD) {
          const line = this.#takeHeld();
          const masks = this.#masks(line, false);
          emit(line, masks);
          const last = masks[masks.length - 1];
          this.#rest = last && last.to >= line.length ? last.style : 'none';
        }
        break;
      }
      const tail = chunk.subarray(pos, lf + 1);
      const line = this.#heldBytes > 0 ? Buffer.concat([this.#takeHeld(), tail]) : tail;
      emit(line, this.#masks(line, true));
      pos = lf + 1;
    }
    if (out.length === 0) return NOTHING;
    return { bytes: out.length === 1 ? out[0] : Buffer.concat(out, outBytes), secrets };
  }

  /** The client bytes still held at the end of the session (a last line without its end). */
  end(): Redacted {
    if (this.#heldBytes === 0) return NOTHING;
    const line = this.#takeHeld();
    const masks = this.#masks(line, false);
    const copy = Buffer.from(line);
    const secrets: [number, Buffer][] = [];
    for (const m of masks) {
      if (m.to <= m.from) continue;
      secrets.push([m.from, Buffer.from(line.subarray(m.from, m.to))]);
      maskBytes(copy, m);
    }
    return { bytes: copy, secrets };
  }

  #takeHeld(): Buffer {
    const b = this.#held.length === 1 ? this.#held[0] : Buffer.concat(this.#held, this.#heldBytes);
    this.#held = [];
    this.#heldBytes = 0;
    return b;
  }

  /** SMTP DATA content from `pos`: passes it through up to and including the lone-dot line. */
  #dataBytes(chunk: Buffer, pos: number, emit: (b: Buffer, m: Mask[]) => void): number {
    let i = pos;
    for (; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === 0x0a) {
        if (this.#dataLine === 1 || this.#dataLine === 2) {
          this.#inData = false;
          this.#dataLine = 0;
          i++;
          break;
        }
        this.#dataLine = 0;
      } else if (this.#dataLine === 0) this.#dataLine = c === 0x2e ? 1 : 3;
      else if (this.#dataLine === 1) this.#dataLine = c === 0x0d ? 2 : 3;
      else if (this.#dataLine === 2) this.#dataLine = 3;
    }
    emit(chunk.subarray(pos, i), []);
    return i;
  }

  /** The secret ranges of one client line (`whole`: it ended) and the state it leaves. */
  #masks(line: Buffer, whole: boolean): Mask[] {
    const end = whole ? lineEnd(line) : line.length;
    const rest = this.#rest;
    if (rest !== null) {
      // The end of a line whose start was judged already.
      this.#rest = whole ? null : rest;
      this.#literalAfter(line, end, whole);
      return rest === 'none' ? [] : [{ from: 0, to: end, style: rest }];
    }
    if (this.#sasl && this.#proto === 'managesieve') {
      // RFC 5804 §2.1: a response is a string, quoted or a literal; "*" cancels.
      const masks = this.#sieveString(line, 0, end, whole);
      this.#literalAfter(line, end, whole);
      return masks;
    }
    if (this.#sasl) {
      // RFC 4954 §4 / RFC 5034 §4 / RFC 9051 §6.2.2: a client line in the exchange is a response;
      // `*` cancels it.
      if (end === 1 && line[0] === STAR) return [];
      return [{ from: 0, to: end, style: 'b64' }];
    }
    if (this.#afterAuth) {
      if (whole) this.#afterAuth = false;
      const head = line.subarray(0, Math.min(end, 64)).toString('latin1');
      if (!KNOWN[this.#proto].test(head)) {
        if (this.#proto !== 'managesieve') return [{ from: 0, to: end, style: 'b64' }];
        // ManageSieve SASL data is a string: keep its quotes or literal header (RFC 5804 §2.1).
        const masks = this.#sieveString(line, 0, end, whole);
        this.#literalAfter(line, end, whole);
        return masks;
      }
    }
    if (this.#proto === 'imap' && this.#passNext) {
      this.#passNext = false;
      // The rest of a LOGIN after a user-name literal: SP password.
      const masks = this.#imapPassword(line, line[0] === 0x20 ? 1 : 0, end, whole);
      this.#literalAfter(line, end, whole);
      return masks;
    }
    // Commands are ASCII; the first bytes are enough to tell which one this is.
    const text = line.subarray(0, Math.min(end, 256)).toString('latin1');
    switch (this.#proto) {
      case 'pop3':
        return this.#pop3(text, end, whole);
      case 'smtp':
        return this.#smtp(text, end, whole);
      case 'imap':
        return this.#imap(line, text, end, whole);
      case 'managesieve':
        return this.#managesieve(line, text, end, whole);
    }
  }

  #pop3(text: string, end: number, whole: boolean): Mask[] {
    // RFC 1939 §7: PASS string; APOP name digest.
    let m = /^PASS /i.exec(text);
    if (m) return [{ from: m[0].length, to: end, style: 'star' }];
    m = /^APOP +\S+ /i.exec(text) ?? (whole ? null : /^APOP /i.exec(text));
    if (m) return [{ from: m[0].length, to: end, style: 'star' }];
    return this.#authLine(text, end, whole, /^AUTH +\S+/i);
  }

  #smtp(text: string, end: number, whole: boolean): Mask[] {
    if (whole && /^DATA\s*$/i.test(text)) this.#dataPending = true;
    const bdat = whole ? /^BDAT +(\d+)/i.exec(text) : null;
    if (bdat) {
      this.#literal = Number(bdat[1]);
      this.#literalSecret = false;
    }
    return this.#authLine(text, end, whole, /^AUTH +\S+/i);
  }

  /** `AUTH mechanism [initial-response]`: the response is masked and the exchange begins. */
  #authLine(text: string, end: number, whole: boolean, verb: RegExp): Mask[] {
    const m = verb.exec(text);
    if (!m) {
      // An unfinished line that may still become an AUTH with a response: mask after its first word.
      if (!whole && /^AUTH /i.test(text)) return [{ from: 5, to: end, style: 'b64' }];
      return [];
    }
    if (whole) this.#sasl = true;
    const ir = /^ +/.exec(text.slice(m[0].length));
    if (!ir) return whole ? [] : [{ from: m[0].length, to: end, style: 'b64' }];
    return [{ from: m[0].length + ir[0].length, to: end, style: 'b64' }];
  }

  #imap(line: Buffer, text: string, end: number, whole: boolean): Mask[] {
    let masks: Mask[] = [];
    const auth = /^(\S+) +AUTHENTICATE +\S+/i.exec(text);
    const login = /^(\S+) +LOGIN +/i.exec(text);
    if (auth) {
      if (whole) {
        this.#sasl = true;
        this.#saslTag = auth[1];
      }
      const ir = /^ +/.exec(text.slice(auth[0].length));
      if (ir) masks = [{ from: auth[0].length + ir[0].length, to: end, style: 'b64' }];
    } else if (login) {
      const userEnd = astringEnd(line, login[0].length, end);
      if (userEnd < 0) {
        // The user name is a literal at the end of this line: the password follows it.
        this.#passNext = whole;
      } else {
        masks = this.#imapPassword(line, userEnd + (line[userEnd] === 0x20 ? 1 : 0), end, whole);
      }
    }
    this.#literalAfter(line, end, whole);
    return masks;
  }

  /**
   * RFC 5804 §2.1: `AUTHENTICATE mechanism [initial-response]`, each a string (quoted or a literal;
   * some clients send the mechanism as an atom). The response is masked and the exchange begins.
   * Other commands carry no secret, but their literals (PUTSCRIPT's script) are passed by as data.
   */
  #managesieve(line: Buffer, text: string, end: number, whole: boolean): Mask[] {
    let masks: Mask[] = [];
    const auth = /^AUTHENTICATE +("[^"]*"|[^\s"{]+)/i.exec(text);
    if (auth) {
      if (whole) this.#sasl = true;
      const ir = /^ +/.exec(text.slice(auth[0].length));
      if (ir) masks = this.#sieveString(line, auth[0].length + ir[0].length, end, whole);
      else if (!whole) masks = [{ from: auth[0].length, to: end, style: 'b64' }];
    } else if (!whole && /^AUTHENTICATE /i.test(text)) {
      masks = [{ from: 13, to: end, style: 'b64' }];
    }
    this.#literalAfter(line, end, whole);
    return masks;
  }

  /**
   * A ManageSieve string at `from` that holds SASL data: a quoted string's content is masked (but the
   * cancel `"*"`), a literal header `{n+}` makes the literal secret, an atom is masked whole.
   */
  #sieveString(line: Buffer, from: number, end: number, whole: boolean): Mask[] {
    if (from >= end) return [];
    if (line[from] === 0x22) {
      const close = quotedEnd(line, from, end);
      const to = close < 0 ? end : close;
      if (to - from === 2 && line[from + 1] === STAR) return [];
      return [{ from: from + 1, to, style: 'b64' }];
    }
    const rest = line.subarray(from, end).toString('latin1');
    if (/^\{\d+\+?\}$/.test(rest)) {
      if (whole) this.#literalSecret = true;
      return [];
    }
    if (end - from === 1 && line[from] === STAR) return [];
    return [{ from, to: end, style: 'b64' }];
  }

  /** The password token at `from` (RFC 9051 §9 astring); a literal header makes the literal secret. */
  #imapPassword(line: Buffer, from: number, end: number, whole: boolean): Mask[] {
    if (from >= end) return [];
    if (line[from] === 0x22) {
      const close = quotedEnd(line, from, end);
      return [{ from: from + 1, to: close < 0 ? end : close, style: 'star' }];
    }
    const rest = line.subarray(from, end).toString('latin1');
    if (whole && /^~?\{\d+\+?\}$/.test(rest)) {
      this.#literalSecret = true;
      return [];
    }
    return [{ from, to: end, style: 'atom' }];
  }

  /**
   * A line ending in `{n}` or `{n+}` (RFC 9051 §4.3, RFC 7888; ManageSieve: RFC 5804 §4) is followed by
   * n bytes of literal.
   */
  #literalAfter(line: Buffer, end: number, whole: boolean): void {
    if (!whole || (this.#proto !== 'imap' && this.#proto !== 'managesieve')) return;
    const tail = line.subarray(Math.max(0, end - 24), end).toString('latin1');
    const m = /\{(\d+)\+?\}$/.exec(tail);
    if (m) this.#literal = Number(m[1]);
    else this.#literalSecret = false;
    if (this.#literal === 0) this.#literalSecret = false;
  }

  #endSasl(): void {
    this.#sasl = false;
    this.#afterAuth = true;
  }

  /** The server's lines that end a SASL exchange or start SMTP DATA (only looked at when waiting). */
  #serverLines(chunk: Buffer): void {
    if (!this.#sasl && !this.#dataPending) return;
    let pos = 0;
    while (pos < chunk.length && (this.#sasl || this.#dataPending)) {
      const lf = chunk.indexOf(0x0a, pos);
      const head = chunk.subarray(pos, Math.min(lf < 0 ? chunk.length : lf, pos + 64)).toString('latin1');
      pos = lf < 0 ? chunk.length : lf + 1;
      switch (this.#proto) {
        case 'smtp': {
          const code = /^(\d{3})[ \r\n]|^(\d{3})$/.exec(head);
          if (!code) break;
          const n = code[1] ?? code[2];
          if (this.#dataPending) {
            this.#dataPending = false;
            if (n === '354') {
              this.#inData = true;
              this.#dataLine = 0;
            }
          }
          if (this.#sasl && n !== '334') this.#endSasl();
          break;
        }
        case 'pop3':
          if (/^[+-](OK|ERR)/i.test(head)) this.#endSasl();
          break;
        case 'imap':
          if (head.startsWith(`${this.#saslTag} `) || head.startsWith('* BYE')) this.#endSasl();
          break;
        case 'managesieve':
          // RFC 5804 §2.1: the exchange ends with OK, NO or BYE; anything else is a challenge.
          if (/^(OK|NO|BYE)(\s|\(|\r|$)/i.test(head)) this.#endSasl();
          break;
      }
    }
  }
}

/** The commands of each protocol: a line after AUTH that starts with one of them is not masked. */
const KNOWN: Record<Protocol, RegExp> = {
  smtp: /^(HELO|EHLO|LHLO|MAIL|RCPT|DATA|BDAT|RSET|VRFY|EXPN|HELP|NOOP|QUIT|AUTH|STARTTLS|ETRN)(\s|$)/i,
  pop3: /^(USER|PASS|APOP|AUTH|STAT|LIST|RETR|DELE|NOOP|RSET|QUIT|TOP|UIDL|CAPA|STLS|UTF8|LANG)(\s|$)/i,
  managesieve:
    /^(AUTHENTICATE|STARTTLS|LOGOUT|CAPABILITY|HAVESPACE|PUTSCRIPT|LISTSCRIPTS|SETACTIVE|GETSCRIPT|DELETESCRIPT|RENAMESCRIPT|CHECKSCRIPT|NOOP|UNAUTHENTICATE)(\s|$)/i,
  imap: /^[^\s(){%*"\\\]]+ +(UID +)?(CAPABILITY|NOOP|LOGOUT|STARTTLS|AUTHENTICATE|LOGIN|ENABLE|SELECT|EXAMINE|CREATE|DELETE|RENAME|SUBSCRIBE|UNSUBSCRIBE|LIST|LSUB|NAMESPACE|STATUS|APPEND|IDLE|CLOSE|UNSELECT|EXPUNGE|SEARCH|FETCH|STORE|COPY|MOVE|CHECK|ID|SORT|THREAD|GETQUOTA|GETQUOTAROOT|SETQUOTA|COMPRESS|GETMETADATA|SETMETADATA)(\s|$)/i,
};

/** Where a line's content ends: before its CRLF or LF. */
function lineEnd(line: Buffer): number {
  let end = line.length;
  if (end > 0 && line[end - 1] === 0x0a) end--;
  if (end > 0 && line[end - 1] === 0x0d) end--;
  return end;
}

/** The end of the quoted string starting at `from` (index of its closing quote), or -1. */
function quotedEnd(line: Buffer, from: number, end: number): number {
  for (let i = from + 1; i < end; i++) {
    if (line[i] === 0x5c) i++;
    else if (line[i] === 0x22) return i;
  }
  return -1;
}

/**
 * The end of the astring at `from` (the index after it), or -1 when it is a literal whose header ends
 * the line.
 */
function astringEnd(line: Buffer, from: number, end: number): number {
  if (line[from] === 0x22) {
    const close = quotedEnd(line, from, end);
    return close < 0 ? end : close + 1;
  }
  const rest = line.subarray(from, end).toString('latin1');
  if (/^~?\{\d+\+?\}$/.test(rest)) return -1;
  const sp = line.indexOf(0x20, from);
  return sp < 0 || sp > end ? end : sp;
}

function maskBytes(b: Buffer, m: Mask): void {
  if (m.style === 'b64' && maskBase64(b, m)) return;
  for (let i = m.from; i < m.to; i++) {
    if (m.style === 'star') b[i] = STAR;
    else if (m.style === 'atom') b[i] = X;
    else if (b[i] !== EQUALS) b[i] = B64_MASK[(i - m.from) % 4];
  }
}

/**
 * Masks a base64 SASL response by what it encodes: every byte but NUL becomes `*`, re-encoded at the
 * same length, so `AUTH PLAIN` keeps its `authzid NUL authcid NUL passwd` shape (RFC 4616 §2) and
 * Wireshark shows user name and password as stars. False when the range is no canonical base64.
 */
function maskBase64(b: Buffer, m: Mask): boolean {
  const text = b.subarray(m.from, m.to).toString('latin1');
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return false;
  const decoded = Buffer.from(text, 'base64');
  for (let i = 0; i < decoded.length; i++) if (decoded[i] !== 0) decoded[i] = STAR;
  const masked = decoded.toString('base64');
  if (masked.length !== text.length) return false;
  b.write(masked, m.from, 'latin1');
  return true;
}
