/**
 * The message model: what a message's bytes mean, computed once when it is stored (parse.ts →
 * `MessageMeta`, kept as JSON next to the raw bytes) and read by SMTP delivery, POP3 and IMAP.
 *
 * Invariants of this folder:
 * - The raw bytes are never changed. The model is byte offsets into them plus the few decoded values
 *   IMAP needs again and again (MIME types and parameters, ENVELOPE); no header bytes are copied.
 *   FETCH BODY[section] is a byte-range read (mime.ts `sectionRange`), BODY/BODYSTRUCTURE and
 *   ENVELOPE are renderings of the stored tree (bodystructure.ts, envelope.ts).
 * - Parsing never throws. Malformed input degrades the way Dovecot does, because Dovecot is the
 *   reference peer: for the fixtures in test/fixtures/mime/ our BODY, BODYSTRUCTURE, ENVELOPE and every
 *   BODY[section] equal Dovecot 2.3's answers (recorded in test/fixtures/mime/dovecot.json). Deliberate
 *   differences are listed where they are made.
 * - Parsing is synchronous and linear: `indexOf` over Buffers, no streams, no per-byte JS loop over
 *   bodies (a 4 KB message parses in ~15 µs).
 * - Decoding (encoded-words, charsets, transfer encodings) happens only for SEARCH, PREVIEW and
 *   display (decode.ts, search.ts), never on the FETCH path.
 */

export { type Address, parseAddressList } from './address.js';
export { mailboxError } from './address-syntax.js';
export { type BodyStructureOptions, bodyStructureText, serializeBodyStructure } from './bodystructure.js';
export { decodeCharset, decodeExtendedValue, decodeTransfer, decodeWords, paramValue, partText } from './decode.js';
export { type Envelope, envelopeText, serializeEnvelope } from './envelope.js';
export { filterHeaderFields } from './header.js';
export {
  type ByteRange,
  findPart,
  type MimePart,
  type Param,
  type PartKind,
  parseMime,
  type Section,
  type SectionText,
  sectionBytes,
  sectionRange,
} from './mime.js';
export { currentMeta, MESSAGE_META_VERSION, type MessageMeta, parseMessage } from './parse.js';
export {
  type AddressField,
  baseSubject,
  decodeHeaderValue,
  fold,
  parseDate,
  preview,
  SearchableMessage,
  type SearchMeta,
} from './search.js';
export { htmlToText, messageText, type TextPart } from './text.js';
