/**
 * Message object identifiers (OBJECTID, RFC 8474 §5): EMAILID names message content; THREADID is not
 * supported and answered NIL (§5.2 allows it). MAILBOXID lives with STATUS (commands/status.ts
 * `mailboxObjectId`), which SELECT and CREATE use too.
 *
 * Invariants:
 * - An EMAILID names content: "M" and the first 24 hex digits (96 bits) of the blob's SHA-256. A copy
 *   or a move keeps it, identical bytes share it (RFC 8474 §5.1 allows that), and it is never reused
 *   for other content, unlike the blob's row id, which SQLite may hand out again after a delete.
 * - It is `objectid` syntax: 1*255(ALPHA / DIGIT / "_" / "-") (RFC 8474 §7).
 */
const EMAILID_HEX = 24;

/** RFC 8474 §5.1 EMAILID of a message from its content hash (hex SHA-256). */
export function emailId(hash: string): string {
  return `M${hash.slice(0, EMAILID_HEX)}`;
}

/** The hash prefix an EMAILID stands for (for SEARCH EMAILID, RFC 8474 §6), or null if it cannot be one of ours. */
export function emailIdHashPrefix(id: string): string | null {
  return /^M[0-9a-f]{24}$/.test(id) ? id.slice(1) : null;
}
