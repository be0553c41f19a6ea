/**
 * Canonical forms shared by every store backend, so that all backends agree on what "the same" address,
 * mailbox name or flag is.
 *
 * Invariants:
 * - Addresses and domains are trimmed and lower-cased (types.ts contract), except the envelope
 *   addresses of the outbound queue, which keep the case of their local part (RFC 5321 §2.4: relays
 *   must preserve it); only their domain is lower-cased.
 * - `INBOX` is matched case-insensitively and always spelled upper-case, also as the first component of
 *   a hierarchical name (`inbox/x` is `INBOX/x`), as Mox and Dovecot do (RFC 9051 §5.1).
 * - System flags are matched case-insensitively and spelled canonically (`\Seen`); keywords keep the
 *   spelling first given and are deduplicated case-insensitively (flags are atoms, RFC 9051 §2.3.2).
 *   `\Recent` and unknown backslash flags are not storable and are dropped (RFC 9051 removed \Recent).
 * - A message keeps at most MAX_KEYWORDS keywords; further ones are dropped (a Sieve script could give
 *   thousands; IMAP refuses them earlier, per mailbox, with NO [LIMIT]).
 */

export function normalizeAddress(address: string): string {
  return address.trim().toLowerCase();
}

/** The local part of an address: up to its last `@` (the whole string when there is none). */
export function localPartOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : address.slice(0, at);
}

/** An outbound envelope address: trimmed, its domain lower-cased, its local part kept (see the header). */
export function normalizeEnvelopeAddress(address: string): string {
  const trimmed = address.trim();
  const at = trimmed.lastIndexOf('@');
  return at < 0 ? trimmed : trimmed.slice(0, at) + trimmed.slice(at).toLowerCase();
}

export function normalizeMailboxName(name: string): string {
  if (name.length >= 5 && (name.length === 5 || name[5] === '/') && name.slice(0, 5).toUpperCase() === 'INBOX') {
    return 'INBOX' + name.slice(5);
  }
  return name;
}

/** System flags in their storage bit order; bit i is `1 << i`. */
export const SYSTEM_FLAGS = ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'] as const;
export type SystemFlag = (typeof SYSTEM_FLAGS)[number];

export const FLAG_SEEN = 1;
export const FLAG_DELETED = 8;

const systemBits = new Map<string, number>(SYSTEM_FLAGS.map((f, i) => [f.toLowerCase(), 1 << i]));

export interface SplitFlags {
  /** Bitmask of SYSTEM_FLAGS. */
  bits: number;
  /** Keywords, deduplicated case-insensitively, in the order given. */
  keywords: string[];
}

/**
 * The most keywords one message keeps, and the most different ones IMAP lets a mailbox have (as
 * Cyrus's 128 user flags). Without a bound, one `STORE 1:* +FLAGS (k0 … k1999)` on a big mailbox took
 * the server's memory up by 0.7 GB and every FLAGS line to tens of KB. At the bound IMAP's
 * PERMANENTFLAGS no longer has \* (RFC 9051 §7.1).
 */
export const MAX_KEYWORDS = 128;

/** Splits a flag list into system-flag bits and keywords (see the header for what is dropped). */
export function splitFlags(flags: readonly string[]): SplitFlags {
  let bits = 0;
  const keywords: string[] = [];
  const seen = new Set<string>();
  for (const raw of flags) {
    const flag = raw.trim();
    if (flag === '') continue;
    const lower = flag.toLowerCase();
    if (flag.startsWith('\\')) {
      bits |= systemBits.get(lower) ?? 0;
      continue;
    }
    if (seen.has(lower) || seen.size >= MAX_KEYWORDS) continue;
    seen.add(lower);
    keywords.push(flag);
  }
  return { bits, keywords };
}

/** The flag list of a message: system flags in SYSTEM_FLAGS order, then keywords. */
export function joinFlags(bits: number, keywords: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < SYSTEM_FLAGS.length; i++) if (bits & (1 << i)) out.push(SYSTEM_FLAGS[i]);
  for (const k of keywords) out.push(k);
  return out;
}

/** Applies a STORE operation (RFC 9051 §6.4.6) to a message's flags. */
export function applyFlags(current: SplitFlags, op: 'add' | 'remove' | 'replace', change: SplitFlags): SplitFlags {
  switch (op) {
    case 'replace':
      return { bits: change.bits, keywords: [...change.keywords] };
    case 'add': {
      const have = new Set(current.keywords.map((k) => k.toLowerCase()));
      const keywords = [...current.keywords];
      for (const k of change.keywords) {
        if (keywords.length >= MAX_KEYWORDS) break;
        if (!have.has(k.toLowerCase())) keywords.push(k);
      }
      return { bits: current.bits | change.bits, keywords };
    }
    case 'remove': {
      const drop = new Set(change.keywords.map((k) => k.toLowerCase()));
      return {
        bits: current.bits & ~change.bits,
        keywords: current.keywords.filter((k) => !drop.has(k.toLowerCase())),
      };
    }
  }
}
