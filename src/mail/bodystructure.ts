/**
 * FETCH BODY and BODYSTRUCTURE (RFC 9051 §7.5.2, RFC 3501 §7.4.2) rendered from the stored MIME tree.
 *
 * Invariants:
 * - Pure function of the stored tree: no access to the raw message.
 * - Field order and defaults follow the RFC grammar (body-type-1part, body-type-mpart, body-ext-*),
 *   and match Dovecot's output (the reference peer) value for value:
 *   - a part without Content-Type is "text" "plain"; a text part without a charset parameter gets
 *     ("charset" "us-ascii") (RFC 2045 §5.2); other parameter lists without entries are NIL;
 *   - a missing Content-Transfer-Encoding is "7bit";
 *   - a multipart without any body part (no boundary found) gets one empty text/plain part, since
 *     the grammar requires at least one;
 *   - message/rfc822 is always written "message" "rfc822" followed by the envelope, the
 *     encapsulated body structure and the line count.
 * - message/global (RFC 6532) gets the envelope/body/lines form only when `messageGlobal` is set
 *   (IMAP4rev2 lists "GLOBAL" in media-message, RFC 9051; IMAP4rev1 does not, so a rev1 client gets it
 *   as a basic body part).
 */

import { emptyEnvelope, envelopeFields } from './envelope.js';
import type { MimePart, Param } from './mime.js';
import { imapNString, imapString } from './wire.js';

export interface BodyStructureOptions {
  /** BODYSTRUCTURE (true) or BODY (false): whether extension data is included. */
  extended: boolean;
  /** UTF-8 may appear in quoted strings (UTF8=ACCEPT / IMAP4rev2). */
  utf8: boolean;
  /** Render message/global as an encapsulated message (IMAP4rev2). */
  messageGlobal?: boolean;
}

const EMPTY_PART: MimePart = { start: 0, body: 0, end: 0, lines: 0, kind: 'text', type: 'text', subtype: 'plain' };

function params(list: Param[] | undefined, defaultCharset: boolean, utf8: boolean): string {
  if ((list === undefined || list.length === 0) && !defaultCharset) return 'NIL';
  const items: string[] = [];
  let seenCharset = false;
  for (const [name, value] of list ?? []) {
    if (name.toLowerCase() === 'charset') seenCharset = true;
    items.push(`${imapString(name, utf8)} ${imapString(value, utf8)}`);
  }
  if (defaultCharset && !seenCharset) items.push('"charset" "us-ascii"');
  return `(${items.join(' ')})`;
}

/** body-fld-dsp SP body-fld-lang SP body-fld-loc */
function commonExtension(part: MimePart, utf8: boolean): string {
  const dsp =
    part.disposition === undefined
      ? 'NIL'
      : `(${imapString(part.disposition, utf8)} ${params(part.dispositionParams, false, utf8)})`;
  const lang = part.language === undefined ? 'NIL' : `(${part.language.map((l) => imapString(l, utf8)).join(' ')})`;
  return `${dsp} ${lang} ${imapNString(part.location, utf8)}`;
}

function write(part: MimePart, o: BodyStructureOptions): string {
  const utf8 = o.utf8;
  if (part.kind === 'multipart') {
    const children = part.parts !== undefined && part.parts.length > 0 ? part.parts : [EMPTY_PART];
    let s = '';
    for (const child of children) s += `(${write(child, o)})`;
    s += ` ${imapString(part.subtype, utf8)}`;
    if (o.extended) s += ` ${params(part.params, false, utf8)} ${commonExtension(part, utf8)}`;
    return s;
  }

  const encapsulated =
    part.kind === 'message' &&
    part.message !== undefined &&
    (part.subtype.toLowerCase() !== 'global' || o.messageGlobal === true);
  const isText = part.kind === 'text';
  let s =
    encapsulated && part.subtype.toLowerCase() !== 'global'
      ? '"message" "rfc822"'
      : `${imapString(part.type, utf8)} ${imapString(part.subtype, utf8)}`;
  s += ` ${params(part.params, isText, utf8)}`;
  s += ` ${imapNString(part.id, utf8)} ${imapNString(part.description, utf8)}`;
  s += ` ${imapString(part.encoding ?? '7bit', utf8)} ${part.end - part.body}`;
  if (isText) {
    s += ` ${part.lines ?? 0}`;
  } else if (encapsulated) {
    const m = part.message!;
    s += ` (${envelopeFields(m.envelope ?? emptyEnvelope(), utf8)}) (${write(m, o)}) ${part.lines ?? 0}`;
  }
  if (o.extended) s += ` ${imapNString(part.md5, utf8)} ${commonExtension(part, utf8)}`;
  return s;
}

/**
 * The parenthesized body structure as wire text (what follows "BODY " or "BODYSTRUCTURE " in FETCH):
 * literal lengths count UTF-8 bytes, so encode it as UTF-8 (the IMAP encoder's `raw()` does).
 */
export function bodyStructureText(part: MimePart, options: BodyStructureOptions): string {
  return `(${write(part, options)})`;
}

/** The parenthesized body structure as bytes (what follows "BODY " or "BODYSTRUCTURE " in FETCH). */
export function serializeBodyStructure(part: MimePart, options: BodyStructureOptions): Buffer {
  return Buffer.from(bodyStructureText(part, options), 'utf8');
}
