/** RFC references as the lab shows them: `RFC 5321 §4.2.3`, linked to the RFC Editor's HTML pages. */

export interface RfcRef {
  /** `RFC 5321`. */
  doc: string;
  /** `4.2.3`, or null for the whole document. */
  section: string | null;
  /** https://www.rfc-editor.org/rfc/rfc5321#section-4.2.3 */
  url: string;
}

export function rfcUrl(num: number, section: string | null = null): string {
  return `https://www.rfc-editor.org/rfc/rfc${num}${section ? `#section-${section}` : ''}`;
}

export function rfc(num: number, section: string | null = null): RfcRef {
  return { doc: `RFC ${num}`, section, url: rfcUrl(num, section) };
}

/** `RFC 5321 §4.2.3` for text. */
export function cite(ref: RfcRef): string {
  return ref.section ? `${ref.doc} §${ref.section}` : ref.doc;
}
