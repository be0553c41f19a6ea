/**
 * The names a mailbox may have when it comes into existence, shared by IMAP (CREATE, RENAME) and
 * delivery (Sieve `fileinto :create`, RFC 5490 §3.2), so that both make the same names.
 *
 * Invariants:
 * - The hierarchy separator is `/` (SEPARATOR; IMAP's NAMESPACE announces the same, RFC 9051 §6.3.10).
 * - `checkNewName` refuses:
 *   - the empty name, and empty hierarchy levels: a leading `/`, `a//b`, a trailing `/` (IMAP CREATE
 *     first strips one trailing `/`, RFC 9051 §6.3.4);
 *   - `.` and `..` as a level (harmless here, but confusing, and unsafe for any file-based backend);
 *   - the wildcards `*` and `%` (RFC 9051 §5.1 discourages them: such a name cannot be LISTed alone);
 *   - control characters: NUL, CR, LF and the rest of C0/C1;
 *   - more than MAX_NAME_BYTES (1024) bytes of UTF-8, so that any name fits an IMAP command line.
 *   Refusals are a sentence that says which rule.
 * - `INBOX` is case-insensitive, also as the first level (`inbox/x` is `INBOX/x`) (RFC 9051 §5.1).
 * - An account has at most MAX_MAILBOXES mailboxes made by its clients or its filters.
 */

export const SEPARATOR = '/';
export const MAX_NAME_BYTES = 1024;
/** More mailboxes than this per account are refused; no real user needs them, an attacker might. */
export const MAX_MAILBOXES = 10_000;

const SLASH = 0x2f;

/** `inbox` → `INBOX`, `Inbox/x` → `INBOX/x` (RFC 9051 §5.1); anything else unchanged. */
export function canonicalName(name: string): string {
  if (name.length >= 5 && (name.length === 5 || name.charCodeAt(5) === SLASH) && /^inbox$/i.test(name.slice(0, 5))) {
    return `INBOX${name.slice(5)}`;
  }
  return name;
}

export function isInbox(name: string): boolean {
  return canonicalName(name) === 'INBOX';
}

export type NameCheck = { ok: true; name: string } | { ok: false; reason: string; limit: boolean };

/**
 * Whether `name` may be created (by CREATE, as the target of RENAME, or by `fileinto :create`). Returns
 * the canonical name, or a sentence saying why not; `limit` marks the length rule (IMAP answers it
 * with [LIMIT]).
 */
export function checkNewName(name: string): NameCheck {
  const fail = (reason: string, limit = false): NameCheck => ({ ok: false, reason, limit });
  if (name === '') return fail('A mailbox name cannot be empty');
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) {
    return fail(`Mailbox names are limited to ${MAX_NAME_BYTES} bytes`, true);
  }
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return fail('Mailbox names cannot contain control characters');
  if (name.includes('*') || name.includes('%')) {
    return fail('Mailbox names cannot contain the LIST wildcards * and %');
  }
  if (name.startsWith(SEPARATOR)) return fail(`Mailbox names cannot start with the hierarchy separator "${SEPARATOR}"`);
  const levels = name.split(SEPARATOR);
  if (levels.some((l) => l === '')) {
    return fail(`Mailbox names cannot have an empty hierarchy level ("${SEPARATOR}${SEPARATOR}" or a trailing "/")`);
  }
  if (levels.some((l) => l === '.' || l === '..')) return fail('"." and ".." cannot be mailbox name levels');
  return { ok: true, name: canonicalName(name) };
}

/** The superior names of `name`, outermost first: `a/b/c` → [`a`, `a/b`]. */
export function parentsOf(name: string): string[] {
  const out: string[] = [];
  for (let i = name.indexOf(SEPARATOR); i > 0; i = name.indexOf(SEPARATOR, i + 1)) out.push(name.slice(0, i));
  return out;
}
