/**
 * encoded-character (RFC 5228 §2.4.2.4): `${hex:41 42}` and `${unicode:263A}` inside strings, decoded
 * once when the script is checked (only in scripts that require the extension). A sequence that does
 * not follow the grammar stays as written; a Unicode value outside U+0000–U+D7FF and U+E000–U+10FFFF
 * is an error, as the RFC says.
 */

const ENCODED = /\$\{(hex|unicode):([^}]*)\}/gi;
const HEX_SEQ = /^[ \t\r\n]*[0-9a-fA-F]{1,2}(?:[ \t\r\n]+[0-9a-fA-F]{1,2})*[ \t\r\n]*$/;
const UNICODE_SEQ = /^[ \t\r\n]*[0-9a-fA-F]+(?:[ \t\r\n]+[0-9a-fA-F]+)*[ \t\r\n]*$/;

export type Decoded = { ok: true; value: string } | { ok: false; error: string };

export function decodeEncodedCharacters(value: string): Decoded {
  if (!value.includes('${')) return { ok: true, value };
  let error: string | null = null;
  const out = value.replace(ENCODED, (all, kind: string, body: string) => {
    const items = body.trim().split(/[ \t\r\n]+/);
    if (kind.toLowerCase() === 'hex') {
      if (!HEX_SEQ.test(body)) return all;
      return Buffer.from(items.map((h) => Number.parseInt(h, 16))).toString('utf8');
    }
    if (!UNICODE_SEQ.test(body)) return all;
    let s = '';
    for (const h of items) {
      const cp = h.replace(/^0+(?=.)/, '').length > 6 ? Number.POSITIVE_INFINITY : Number.parseInt(h, 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        error ??= `\${unicode:${h}} is not a Unicode character: use U+0000–U+D7FF or U+E000–U+10FFFF`;
        return all;
      }
      s += String.fromCodePoint(cp);
    }
    return s;
  });
  return error === null ? { ok: true, value: out } : { ok: false, error };
}
