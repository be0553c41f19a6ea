/**
 * SASL mechanisms shared by SMTP AUTH (RFC 4954), POP3 AUTH (RFC 5034) and IMAP AUTHENTICATE:
 * PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login). Each engine wraps the base64 challenges
 * in its own continuation syntax (`334 `, `+ `); the client's `*` cancels (the engine handles it).
 */

export type SaslStep =
  | { kind: 'challenge'; data: string }
  | { kind: 'credentials'; username: string; password: string; authzid: string }
  | { kind: 'error'; message: string };

export interface SaslMechanism {
  readonly name: string;
  /** `initial` is the base64 initial response (`=` for an empty one), or null when none was sent. */
  start(initial: string | null): SaslStep;
  next(response: string): SaslStep;
}

export const SASL_MECHANISMS = ['PLAIN', 'LOGIN'] as const;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decode(b64: string): Buffer | null {
  const text = b64.trim();
  if (text === '=') return Buffer.alloc(0);
  if (!BASE64.test(text) || text.length % 4 !== 0) return null;
  return Buffer.from(text, 'base64');
}

const BAD_BASE64: SaslStep = { kind: 'error', message: 'the response is not valid base64' };

class Plain implements SaslMechanism {
  readonly name = 'PLAIN';
  start(initial: string | null): SaslStep {
    return initial === null ? { kind: 'challenge', data: '' } : this.next(initial);
  }
  next(response: string): SaslStep {
    const raw = decode(response);
    if (!raw) return BAD_BASE64;
    const parts = raw.toString('utf8').split('\0');
    if (parts.length !== 3 || !parts[1])
      return { kind: 'error', message: 'PLAIN expects base64 of authzid NUL username NUL password' };
    return { kind: 'credentials', authzid: parts[0], username: parts[1], password: parts[2] };
  }
}

class Login implements SaslMechanism {
  readonly name = 'LOGIN';
  #username: string | null = null;
  start(initial: string | null): SaslStep {
    if (initial === null) return { kind: 'challenge', data: Buffer.from('Username:').toString('base64') };
    return this.next(initial);
  }
  next(response: string): SaslStep {
    const raw = decode(response);
    if (!raw) return BAD_BASE64;
    if (this.#username === null) {
      this.#username = raw.toString('utf8');
      return { kind: 'challenge', data: Buffer.from('Password:').toString('base64') };
    }
    return { kind: 'credentials', authzid: '', username: this.#username, password: raw.toString('utf8') };
  }
}

export function createMechanism(name: string): SaslMechanism | null {
  switch (name.toUpperCase()) {
    case 'PLAIN':
      return new Plain();
    case 'LOGIN':
      return new Login();
    default:
      return null;
  }
}
