/**
 * The extensions this layer implements, by the names a script gives to `require`.
 * `comparator-i;octet` and `comparator-i;ascii-casemap` are always available (RFC 5228 §2.7.3) and
 * may be required anyway; `vacation-seconds` brings `vacation` with it (RFC 6131).
 */
export const SUPPORTED_EXTENSIONS: readonly string[] = [
  'body',
  'comparator-i;ascii-casemap',
  'comparator-i;ascii-numeric',
  'comparator-i;octet',
  'copy',
  'date',
  'duplicate',
  'encoded-character',
  'envelope',
  'environment',
  'ereject',
  'fileinto',
  'imap4flags',
  'include',
  'index',
  'mailbox',
  'reject',
  'relational',
  'subaddress',
  'vacation',
  'vacation-seconds',
  'variables',
];

/** Extensions that another one brings (a script that requires the key may use the values). */
export const IMPLIED: Readonly<Record<string, readonly string[]>> = {
  'vacation-seconds': ['vacation'],
};
