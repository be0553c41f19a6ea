/**
 * encoded-character (RFC 5228 §2.4.2.4): `${hex:41 42}` and `${unicode:263A}` inside strings, decoded
 * once when the script is checked (only in scripts that require the extension). A sequence that does
 * not follow the grammar stays as written; a Unicode value outside U+0000–U+D7FF and U+E000–U+10FFFF
 * is an error, as the RFC says.
 */

import { isUtf8 } from 'node:buffer';

const ENCODED = /\$\{(hex|unicode):([^}]*)\}/gi;
const HEX_SEQ = /^[ \t\r\n]*[0-9a-fA-F]{1,2}(?:[ \t\r\n]+[0-9a-fA-F]{1,2})*[ \t\r\n]*$/;
const UNICODE_SEQ = /^[ \t\r\n]*[0-9a-fA-F]+(?:[ \t\r\n]+[0-9a-fA-F]+)*[ \t\r\n]*$/;

export type Decoded = { ok: true; value: string } | { ok: false; error: string };

/**
 * Decodes the encoded characters of one string. `${hex:}` gives octets, so the whole result is built
 * as octets and must be valid UTF-8 (Pigeonhole refuses the script otherwise; so does RFC 5228 §2.4.2.4
 * for an invalid character).
 */
export function decodeEncodedCharacters(value: string): Decoded {
  if (!value.includes('${')) return { ok: true, value };
  const chunks: Buffer[] = [];
  let last = 0;
  let changed = false;
  for (const m of value.matchAll(ENCODED)) {
    const [all, kind, body] = m;
    const items = body.trim().split(/[ \t\r\n]+/);
    let bytes: Buffer | null = null;
    if (kind.toLowerCase() === 'hex') {
      if (HEX_SEQ.test(body)) bytes = Buffer.from(items.map((h) => Number.parseInt(h, 16)));
    } else if (UNICODE_SEQ.test(body)) {
      let s = '';
      for (const h of items) {
        const cp = h.replace(/^0+(?=.)/, '').length > 6 ? Number.POSITIVE_INFINITY : Number.parseInt(h, 16);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
          return {
            ok: false,
            error: `\${unicode:${h}} is not a Unicode character: use U+0000–U+D7FF or U+E000–U+10FFFF`,
          };
        s += String.fromCodePoint(cp);
      }
      bytes = Buffer.from(s, 'utf8');
    }
    if (bytes === null) continue; // not the grammar: stays as written
    const at = m.index ?? 0;
    chunks.push(Buffer.from(value.slice(last, at), 'utf8'), bytes);
    last = at + all.length;
    changed = true;
  }
  if (!changed) return { ok: true, value };
  chunks.push(Buffer.from(value.slice(last), 'utf8'));
  const out = Buffer.concat(chunks);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the message names Sieve's ${hex:…} syntax
  if (!isUtf8(out)) return { ok: false, error: 'the ${hex:…} octets of this string are not valid UTF-8' };
  return { ok: true, value: out.toString('utf8') };
}
