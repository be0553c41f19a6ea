/**
 * The readable text of a message for display (the web lab's Mail page): its text/plain parts decoded
 * (transfer encoding, charset) and its text/html parts turned into text without markup. Scripts,
 * styles and every tag are dropped, so nothing of the HTML runs or loads anything; the caller shows
 * the result as text. Attachments (Content-Disposition: attachment) and non-text parts are left out.
 */
import { partText } from './decode.js';
import type { MimePart } from './mime.js';

/** One text part as shown: its IMAP part number (`1`, `2.1`; `1` for a single-part message). */
export interface TextPart {
  part: string;
  /** `text/plain` or `text/html`. */
  type: string;
  /** For text/html: the text without markup. */
  text: string;
  /** Cut at `maxChars`. */
  truncated: boolean;
}

/** Text parts of a message in order, each at most `maxChars` characters (default 1,000,000). */
export function messageText(raw: Buffer, root: MimePart, maxChars = 1_000_000): TextPart[] {
  const out: TextPart[] = [];
  const visit = (part: MimePart, number: string): void => {
    if (part.kind === 'multipart') {
      (part.parts ?? []).forEach((p, i) => {
        visit(p, number ? `${number}.${i + 1}` : `${i + 1}`);
      });
      return;
    }
    if (part.kind === 'message') {
      // An attached message's parts are numbered below its own number (RFC 3501 §6.4.5).
      const inner = part.message;
      if (inner && part.disposition?.toLowerCase() !== 'attachment') {
        if (inner.kind === 'multipart') visit(inner, number);
        else visit(inner, `${number}.1`);
      }
      return;
    }
    if (part.kind !== 'text' || part.disposition?.toLowerCase() === 'attachment') return;
    const subtype = part.subtype.toLowerCase();
    if (subtype !== 'plain' && subtype !== 'html') return;
    let text = partText(raw, part);
    if (subtype === 'html') text = htmlToText(text);
    const truncated = text.length > maxChars;
    out.push({
      part: number || '1',
      type: `text/${subtype}`,
      text: truncated ? text.slice(0, maxChars) : text,
      truncated,
    });
  };
  visit(root, '');
  return out;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

const BLOCK = /<\/?(?:p|div|h[1-6]|ul|ol|table|tr|blockquote|pre|section|article|header|footer|hr|address)\b[^>]*>/gi;

/**
 * HTML → readable text: head, script, style, title, template and noscript blocks and comments go;
 * `<br>` and block elements become line breaks, list items "- ", table cells a tab; every other tag
 * goes; entities are decoded; runs of spaces and of blank lines are collapsed.
 */
export function htmlToText(html: string): string {
  const text = html
    .replace(/<!--[\s\S]*?(?:-->|$)/g, '')
    .replace(/<(head|script|style|title|template|noscript)\b[^>]*>[\s\S]*?(?:<\/\1\s*>|$)/gi, '')
    .replace(/\s+/g, ' ')
    .replace(/<br\b[^>]*>/gi, '\n')
    .replace(/<li\b[^>]*>/gi, '\n- ')
    .replace(/<\/t[dh]\s*>/gi, '\t')
    .replace(BLOCK, '\n\n')
    .replace(/<[^>]*>?/g, '')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (all, name: string) => {
      if (name[0] === '#') {
        const code = name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : all;
      }
      return ENTITIES[name.toLowerCase()] ?? all;
    });
  return text
    .split('\n')
    .map((line) => line.replace(/[ \t]+$/g, '').replace(/^ +/, ''))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
