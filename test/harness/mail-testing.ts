/**
 * Test support for this folder: a reader for IMAP response data (enough for FETCH answers), used to
 * compare our BODYSTRUCTURE/ENVELOPE output with Dovecot's recorded answers value by value, and the
 * list of sections a message has.
 *
 * Invariants: only tests and the fixture recorder import this file.
 */

import { headerText } from '../../src/mail/header.js';
import type { MimePart } from '../../src/mail/mime.js';

/** NIL → null; numbers; strings (quoted or literal) as their bytes read as Latin-1; atoms; lists. */
export type ImapValue = null | number | string | { atom: string } | ImapValue[];

/** Reads one IMAP value at `pos`. Returns the value and the position after it. */
export function readImapValue(buf: Buffer, pos: number): { value: ImapValue; end: number } {
  while (buf[pos] === 0x20) pos++;
  const c = buf[pos];
  if (c === 0x28) {
    const list: ImapValue[] = [];
    pos++;
    for (;;) {
      while (buf[pos] === 0x20) pos++;
      if (buf[pos] === 0x29) return { value: list, end: pos + 1 };
      if (pos >= buf.length) throw new Error('unterminated list');
      const item = readImapValue(buf, pos);
      list.push(item.value);
      pos = item.end;
    }
  }
  if (c === 0x22) {
    let s = '';
    pos++;
    while (buf[pos] !== 0x22) {
      if (pos >= buf.length) throw new Error('unterminated quoted string');
      if (buf[pos] === 0x5c) pos++;
      s += String.fromCharCode(buf[pos]);
      pos++;
    }
    return { value: s, end: pos + 1 };
  }
  if (c === 0x7b) {
    const close = buf.indexOf('}', pos);
    const n = Number(buf.toString('latin1', pos + 1, close));
    const start = close + 3; // "}\r\n"
    return { value: buf.toString('latin1', start, start + n), end: start + n };
  }
  let end = pos;
  while (end < buf.length) {
    const b = buf[end];
    if (b === 0x20 || b === 0x28 || b === 0x29 || b === 0x0d || b === 0x0a) break;
    if (b === 0x5b) {
      // BODY[...] item names: the section runs to the matching ']'
      end = buf.indexOf(']', end) + 1;
      continue;
    }
    end++;
  }
  const atom = buf.toString('latin1', pos, end);
  if (/^\d+$/.test(atom)) return { value: Number(atom), end };
  if (atom.toUpperCase() === 'NIL') return { value: null, end };
  return { value: { atom }, end };
}

/** Parses a whole value from its wire text; throws if anything is left over. */
export function parseImap(wire: Buffer | string): ImapValue {
  const buf = typeof wire === 'string' ? Buffer.from(wire, 'latin1') : wire;
  const { value, end } = readImapValue(buf, 0);
  if (end !== buf.length) throw new Error(`trailing data at ${end}: ${buf.toString('latin1', end, end + 20)}`);
  return value;
}

/**
 * The items of an untagged FETCH response ("* n FETCH (NAME value NAME value …)"), as the wire
 * bytes of each value keyed by item name (e.g. "BODY[1.MIME]").
 */
export function fetchItems(response: Buffer): Map<string, Buffer> {
  const items = new Map<string, Buffer>();
  const open = response.indexOf('FETCH (');
  let pos = open + 7;
  for (;;) {
    while (response[pos] === 0x20) pos++;
    if (response[pos] === 0x29 || pos >= response.length) return items;
    const name = readImapValue(response, pos);
    const value = readImapValue(response, name.end);
    let start = name.end;
    while (response[start] === 0x20) start++;
    const key = (name.value as { atom: string }).atom.toUpperCase();
    items.set(key, response.subarray(start, value.end));
    pos = value.end;
  }
}

/**
 * String values normalized to the text they carry (read as header text: UTF-8 where valid, other
 * bytes as Latin-1), so output that
 * sends the same characters in another form (a literal instead of a quoted string; UTF-8 instead of
 * the Latin-1 bytes of the original header) compares equal.
 */
export function normalizeImap(v: ImapValue): ImapValue {
  if (Array.isArray(v)) return v.map(normalizeImap);
  if (typeof v === 'string') {
    const bytes = Buffer.from(v, 'latin1');
    return headerText(bytes, 0, bytes.length);
  }
  return v;
}

/** Every section that names something in the message (RFC 9051 §6.4.5), as FETCH spells it. */
export function allSections(root: MimePart): string[] {
  const out = [
    'HEADER',
    'TEXT',
    'HEADER.FIELDS (FROM SUBJECT CONTENT-TYPE)',
    'HEADER.FIELDS.NOT (FROM SUBJECT CONTENT-TYPE)',
  ];
  const walk = (part: MimePart, path: string): void => {
    out.push(path, `${path}.MIME`);
    if (part.kind === 'message' && part.message !== undefined) {
      out.push(
        `${path}.HEADER`,
        `${path}.TEXT`,
        `${path}.HEADER.FIELDS (FROM SUBJECT)`,
        `${path}.HEADER.FIELDS.NOT (SUBJECT)`,
      );
      const inner = part.message;
      if (inner.kind === 'multipart') walkParts(inner, `${path}.`);
      else walk(inner, `${path}.1`);
    }
    if (part.kind === 'multipart') walkParts(part, `${path}.`);
  };
  const walkParts = (part: MimePart, prefix: string): void => {
    (part.parts ?? []).forEach((p, i) => {
      walk(p, `${prefix}${i + 1}`);
    });
  };
  if (root.kind === 'multipart') walkParts(root, '');
  else walk(root, '1');
  return out;
}
