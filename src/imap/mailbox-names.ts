/**
 * Mailbox names as this server accepts them (RFC 9051 §5.1) and LIST pattern matching (§6.3.9).
 *
 * Invariants:
 * - The hierarchy separator is `/` (SEPARATOR; NAMESPACE announces the same, RFC 9051 §6.3.10).
 * - Names live per account in the store and every lookup is keyed by the logged-in account's id, so no
 *   name (`../x`, `*`, `/`, another user's address) can reach another account's mail. The rules below
 *   keep names unambiguous and usable; isolation does not depend on them.
 * - CREATE and RENAME (and Sieve's `fileinto :create` at delivery), the only ways a name comes into
 *   existence, refuse (`checkNewName`, shared with delivery in src/mail/mailbox-name.ts):
 *   - the empty name, and empty hierarchy levels: a leading `/`, `a//b`, a trailing `/` (CREATE first
 *     strips one trailing `/`, RFC 9051 §6.3.4);
 *   - `.` and `..` as a level (harmless here, but confusing, and unsafe for any file-based backend);
 *   - the wildcards `*` and `%` (RFC 9051 §5.1 discourages them: such a name cannot be LISTed alone);
 *   - control characters: NUL, CR, LF and the rest of C0/C1 (the parser already answers BAD for them;
 *     this is the second line);
 *   - more than MAX_NAME_BYTES (1024) bytes of UTF-8, so that any name fits a command line.
 *   Refusals are `NO` with a sentence that says which rule; syntax errors stay the parser's `BAD`.
 * - `INBOX` is case-insensitive, also as the first level (`inbox/x` is `INBOX/x`) (RFC 9051 §5.1), in
 *   names and in LIST patterns; stored names already spell it upper-case.
 * - Pattern matching runs in O(pattern × name) time with two rows of bytes, never a backtracking
 *   regular expression, so a hostile pattern such as `%a%a%a%a…b` cannot stall the server.
 */

import { canonicalName } from '../mail/mailbox-name.js';

export {
  canonicalName,
  checkNewName,
  isInbox,
  MAX_NAME_BYTES,
  type NameCheck,
  parentsOf,
  SEPARATOR,
} from '../mail/mailbox-name.js';

const SLASH = 0x2f;
const STAR = 0x2a;
const PERCENT = 0x25;

/** Whether `name` lies below `ancestor` in the hierarchy (`a/b` is below `a`, `ab` is not). */
export function isBelow(name: string, ancestor: string): boolean {
  return name.length > ancestor.length + 1 && name.startsWith(ancestor) && name.charCodeAt(ancestor.length) === SLASH;
}

/**
 * A LIST pattern (RFC 9051 §6.3.9): the reference and the mailbox argument interpreted together.
 * `*` matches anything, `%` anything but the separator.
 */
export class ListPattern {
  /** The canonical pattern (reference + argument, INBOX spelled upper-case). */
  readonly text: string;
  /** RFC 9051 §6.3.9: a trailing `%` also returns matching hierarchy levels that are not mailboxes. */
  readonly trailingPercent: boolean;
  readonly #units: Uint16Array;

  constructor(reference: string, pattern: string) {
    // RFC 9051 §6.3.9: the reference and the pattern form one canonical name; with a non-empty
    // reference that does not end in "/", they are simply concatenated (as the RFC's examples do).
    this.text = canonicalName(collapse(reference + pattern));
    this.trailingPercent = this.text.endsWith('%');
    this.#units = new Uint16Array(this.text.length);
    for (let i = 0; i < this.text.length; i++) this.#units[i] = this.text.charCodeAt(i);
  }

  /** Dynamic programme over (pattern position, name position); see the header. */
  matches(name: string): boolean {
    const p = this.#units;
    const n = name.length;
    let prev = new Uint8Array(n + 1);
    let cur = new Uint8Array(n + 1);
    prev[0] = 1;
    for (let i = 0; i < p.length; i++) {
      const c = p[i];
      if (c === STAR) {
        let any = 0;
        for (let j = 0; j <= n; j++) {
          any |= prev[j];
          cur[j] = any;
        }
      } else if (c === PERCENT) {
        cur[0] = prev[0];
        for (let j = 1; j <= n; j++) cur[j] = prev[j] || (cur[j - 1] && name.charCodeAt(j - 1) !== SLASH) ? 1 : 0;
      } else {
        cur[0] = 0;
        for (let j = 1; j <= n; j++) cur[j] = prev[j - 1] && name.charCodeAt(j - 1) === c ? 1 : 0;
      }
      const t = prev;
      prev = cur;
      cur = t;
    }
    return prev[n] === 1;
  }
}

/** `%*`, `*%`, `**` → `*` and `%%` → `%`: the same language, fewer steps. */
function collapse(pattern: string): string {
  return pattern.replace(/[*%]{2,}/g, (run) => (run.includes('*') ? '*' : '%'));
}
