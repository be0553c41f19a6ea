/**
 * SMTP replies: a basic code (RFC 5321 §4.2), an enhanced status code (RFC 3463, announced with
 * ENHANCEDSTATUSCODES, RFC 2034) and human text. Multi-line replies use `code-` continuations.
 */

export interface Reply {
  code: number;
  /** `x.y.z`, or null for replies that carry none (220 greeting, 221 in some servers, 354, 334). */
  enhanced: string | null;
  lines: string[];
}

export function reply(code: number, enhanced: string | null, ...lines: string[]): Reply {
  return { code, enhanced, lines: lines.length ? lines : [''] };
}

/** What a reply's text may not carry (RFC 5321 §4.2 textstring: HT and printable characters). */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/g;

/**
 * Wire lines for a reply, without CRLF. The enhanced code prefixes every line (RFC 2034 §4). Control
 * characters (echoed client input: a bare CR, NUL) become '?', so a reply is always one clean line.
 */
export function formatReply(r: Reply): string[] {
  const prefix = r.enhanced ? `${r.enhanced} ` : '';
  return r.lines.map((line, i) => {
    const text = line.replace(CONTROL, '?');
    const wire = `${r.code}${i === r.lines.length - 1 ? ' ' : '-'}${prefix}${text}`;
    // RFC 4954 §8: `continue-req = "334" SP [base64]`, so an empty challenge is "334 ", space kept.
    return r.code === 334 ? wire : wire.trimEnd();
  });
}

/** Replies used in several places, so their wording stays the same everywhere. */
export const R = {
  badSequence: (text: string) => reply(503, '5.5.1', text),
  syntax: (text: string) => reply(501, '5.5.4', text),
  ok: () => reply(250, '2.0.0', 'Ok'),
  /** A message over `smtp.max_message_size` (RFC 1870 §6.3): nothing stored; `closing` when the session ends too. */
  tooBig: (limit: number, closing = false) =>
    reply(
      552,
      '5.3.4',
      `Message size exceeds fixed limit of ${limit} bytes; nothing was stored${closing ? '; closing the connection' : ''}`,
    ),
};
