/**
 * RFC 5322 address lists → IMAP ENVELOPE addresses (RFC 9051 §7.5.2: name, adl, mailbox, host).
 *
 * Invariants:
 * - Never throws. Broken input degrades the way Dovecot's message-address.c does (with its
 *   FILL_MISSING flag, which its ENVELOPE uses): a missing local part becomes "MISSING_MAILBOX", a
 *   missing domain "MISSING_DOMAIN", an unparsable angle address gets host "SYNTAX_ERROR", a broken
 *   route "INVALID_ROUTE". Dovecot is the reference peer, so clients see the same values from both.
 * - Groups follow RFC 9051: `(NIL NIL "name" NIL)` opens one, `(NIL NIL NIL NIL)` closes it.
 * - Names are the display-name phrase as written: quoted strings unquoted, words joined by one space,
 *   encoded-words left encoded. When an addr-spec has no phrase, its last comment is the name.
 */

import { Rfc822Reader } from './rfc822.js';

/** An ENVELOPE address: [name, adl (source route, "@a,@b"), mailbox, host]. */
export type Address = [name: string | null, adl: string | null, mailbox: string | null, host: string | null];

const AT = 0x40;
const LT = 0x3c;
const GT = 0x3e;
const COLON = 0x3a;
const SEMI = 0x3b;
const COMMA = 0x2c;
const DQUOTE = 0x22;
const DOT = 0x2e;

interface Pending {
  name: string | null;
  route: string | null;
  mailbox: string | null;
  domain: string | null;
  /** Dovecot's invalid_syntax; decides whether a lone word is a name or a mailbox. */
  invalid: boolean;
}

const empty = (): Pending => ({ name: null, route: null, mailbox: null, domain: null, invalid: false });

class AddressParser {
  readonly r: Rfc822Reader;
  readonly out: Address[] = [];
  addr: Pending = empty();

  constructor(value: string) {
    this.r = new Rfc822Reader(value, true);
  }

  private add(): void {
    const a = this.addr;
    this.out.push([a.name, a.route, a.mailbox, a.domain]);
    this.addr = empty();
  }

  private addFixed(): void {
    if (this.addr.mailbox === null) this.addr.mailbox = 'MISSING_MAILBOX';
    if (this.addr.domain === null || this.addr.domain === '') this.addr.domain = 'MISSING_DOMAIN';
    this.add();
  }

  private get atEnd(): boolean {
    return this.r.pos >= this.r.end;
  }

  private nonstrictDotAtom(): number {
    const r = this.r;
    let ret = -1;
    do {
      while (r.cur() === DOT) {
        r.str += '.';
        r.pos++;
        if (r.pos === r.end) return 0;
        ret = 1;
      }
      if (r.cur() === AT) break;
      ret = r.parseAtom();
    } while (ret > 0 && r.cur() === DOT);
    return ret;
  }

  private localPart(): number {
    const r = this.r;
    r.str = '';
    const ret = r.cur() === DQUOTE ? r.parseQuotedString() : this.nonstrictDotAtom();
    if (ret < 0) return -1;
    this.addr.mailbox = r.str;
    return ret;
  }

  private domain(): number {
    const r = this.r;
    r.str = '';
    const ret = r.parseDomain();
    if (ret < 0) return -1;
    this.addr.domain = r.str;
    return ret;
  }

  /** obs-domain-list = "@" domain *(*(CFWS / ",") [CFWS] "@" domain) */
  private domainList(): number {
    const r = this.r;
    r.str = '';
    for (;;) {
      if (this.atEnd) return 0;
      if (r.cur() !== AT) break;
      if (r.str.length > 0) r.str += ',';
      r.str += '@';
      const ret = r.parseDomain();
      if (ret <= 0) return ret;
      while (r.skipLwsp() > 0 && r.cur() === COMMA) r.pos++;
    }
    this.addr.route = r.str;
    return 1;
  }

  /** "<" [ "@" route ":" ] local-part "@" domain ">" */
  private angleAddr(): number {
    const r = this.r;
    r.pos++;
    if (r.skipLwsp() <= 0) return -1;
    if (r.cur() === AT) {
      if (this.domainList() > 0 && r.cur() === COLON) {
        r.pos++;
      } else {
        this.addr.route = 'INVALID_ROUTE';
        if (this.atEnd) return -1;
      }
      if (r.skipLwsp() <= 0) return -1;
    }
    if (r.cur() !== GT) {
      if (this.localPart() <= 0) return -1;
      if (r.cur() === AT && this.domain() <= 0) return -1;
    }
    if (r.cur() !== GT) return -1;
    r.pos++;
    return r.skipLwsp();
  }

  /** name-addr = [display-name] angle-addr */
  private nameAddr(): number {
    const r = this.r;
    r.str = '';
    if (r.parsePhrase() <= 0 || r.cur() !== LT) return -1;
    this.addr.name = r.str === '' ? null : r.str;
    if (this.angleAddr() < 0) this.addr.domain = 'SYNTAX_ERROR';
    return this.atEnd ? 0 : 1;
  }

  private addrSpec(): number {
    const r = this.r;
    r.lastComment = '';
    const quoted = r.cur() === DQUOTE;
    let ret = this.localPart();
    if (ret <= 0) this.addr.invalid = true;
    let ret2 = -2;
    if (ret !== 0 && !this.atEnd && r.cur() === AT) {
      ret2 = this.domain();
      if (ret2 <= 0) ret = ret2;
    }
    if (r.lastComment !== null && r.lastComment.length > 0) {
      this.addr.name = r.lastComment;
    } else if (ret2 === -2) {
      // A lone word is a mailbox; followed by more words it was a display name.
      r.str += ' ';
      const len = r.str.length;
      r.parsePhrase();
      if (r.str.length !== len) {
        this.addr.mailbox = null;
        this.addr.name = r.str;
      } else if (!quoted) {
        this.addr.domain = '';
      }
      this.addr.invalid = true;
      ret = -1;
    }
    return ret;
  }

  private mailbox(): number {
    const r = this.r;
    const start = r.pos;
    let ret = this.nameAddr();
    if (ret < 0) {
      r.pos = start;
      ret = this.addrSpec();
      const a = this.addr;
      if (a.invalid && a.name === null && a.mailbox !== null && a.domain === null) {
        a.name = a.mailbox;
        a.mailbox = null;
      }
    }
    this.addFixed();
    return ret;
  }

  /** group = display-name ":" [mailbox-list / CFWS] ";" [CFWS] */
  private group(): number {
    const r = this.r;
    r.str = '';
    if (r.parsePhrase() <= 0 || r.cur() !== COLON) return -1;
    r.pos++;
    let ret = r.skipLwsp();
    this.addr.mailbox = r.str;
    this.add();
    if (ret > 0 && r.cur() !== SEMI) {
      for (;;) {
        this.mailbox();
        if (this.atEnd || r.cur() !== COMMA) break;
        r.pos++;
        if (r.skipLwsp() <= 0) {
          ret = -1;
          break;
        }
      }
    }
    if (ret >= 0) {
      if (this.atEnd || r.cur() !== SEMI) {
        ret = -1;
      } else {
        r.pos++;
        ret = r.skipLwsp();
      }
    }
    this.add();
    return ret === 0 ? 0 : 1;
  }

  private address(): number {
    const start = this.r.pos;
    const ret = this.group();
    if (ret >= 0) return ret;
    this.r.pos = start;
    this.addr = empty();
    return this.mailbox();
  }

  parseList(): Address[] {
    const r = this.r;
    if (r.skipLwsp() <= 0) return this.out;
    for (;;) {
      if (this.address() === 0) break;
      if (this.atEnd || r.cur() !== COMMA) break;
      r.pos++;
      const ret = r.skipLwsp();
      if (ret <= 0) {
        if (ret < 0) this.addFixed(); // ends with garbage
        break;
      }
    }
    return this.out;
  }
}

/** Parses an address-list header value (unfolded or not). Returns [] when it holds no address. */
export function parseAddressList(value: string): Address[] {
  return new AddressParser(value).parseList();
}
