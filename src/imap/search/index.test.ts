/**
 * The body search index never changes a SEARCH result: random MIME messages (quoted-printable, base64,
 * several charsets, encapsulated messages, non-ASCII, long lines) in a real store, searched
 * with BODY and TEXT keys (and NOT/OR around them) once through the index and once with the index
 * forced off (`searchText` answering null, the reading path), on the same data.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { prng } from '../../../test/harness/fuzz.js';
import { openTestStore } from '../../../test/harness/store.js';
import { parseMessage } from '../../mail/parse.js';
import { indexText } from '../../mail/search.js';
import type { JsonValue, Store } from '../../store/types.js';
import type { SearchKey } from '../commands/search-grammar.js';
import { SelectedMailbox } from '../selected.js';
import { DigestCache } from './digest.js';
import { search } from './evaluate.js';

const WORDS = [
  'zebra',
  'Zebra',
  'ZEBRA',
  'Grüße',
  'grüsse',
  'Köln',
  'naïve',
  'café',
  'ﬁle', // a ligature: NFKD folds it to "file"
  'Straße',
  'Ωmega',
  'ΣΊΣΥΦΟΣ',
  '日本語',
  'テスト',
  'emoji😀x',
  'soft',
  'break',
  'the',
  'quick',
  'brown',
  'fox',
  'a"quote',
  'tab\there',
  'x',
  'Ab',
];

const CHARSETS = ['utf-8', 'iso-8859-1', 'windows-1252', 'iso-8859-7', 'shift_jis'];

const CRLF = '\r\n';

function encodeText(text: string, charset: string): Buffer {
  // Node has no encoder for the legacy charsets; write what Latin-1 can hold, and UTF-8 otherwise.
  if (charset === 'utf-8') return Buffer.from(text, 'utf8');
  if (charset === 'iso-8859-1' || charset === 'windows-1252') {
    return Buffer.from(text.replace(/[^\x00-\xff]/g, '?'), 'latin1');
  }
  return Buffer.from(text.replace(/[^\x00-\x7f]/g, '?'), 'latin1');
}

function qp(bytes: Buffer): string {
  let out = '';
  let line = 0;
  for (const b of bytes) {
    const ch =
      b === 0x0d || b === 0x0a
        ? String.fromCharCode(b)
        : b < 33 || b > 126 || b === 61
          ? `=${b.toString(16).toUpperCase().padStart(2, '0')}`
          : String.fromCharCode(b);
    if (ch === '\r' || ch === '\n') {
      out += ch;
      line = 0;
      continue;
    }
    if (line + ch.length > 72) {
      out += `=${CRLF}`; // a soft line break: not a break in the decoded text
      line = 0;
    }
    out += ch;
    line += ch.length;
  }
  return out;
}

function b64(bytes: Buffer): string {
  return (bytes.toString('base64').match(/.{1,76}/g) ?? []).join(CRLF);
}

function sentence(rand: () => number, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    out.push(WORDS[Math.floor(rand() * WORDS.length)]);
    if (rand() < 0.15) out.push(CRLF);
  }
  return out.join(' ');
}

function textPart(rand: () => number): string[] {
  const charset = CHARSETS[Math.floor(rand() * CHARSETS.length)];
  const bytes = encodeText(sentence(rand, 5 + Math.floor(rand() * 30)), charset);
  const enc = rand();
  const subtype = rand() < 0.8 ? 'plain' : 'html';
  const header = [`Content-Type: text/${subtype}; charset=${charset}`];
  if (rand() < 0.3) header.push(`Content-Description: ${sentence(rand, 2).replace(/\r\n/g, '')}`);
  if (enc < 0.35) return [...header, 'Content-Transfer-Encoding: quoted-printable', '', qp(bytes)];
  if (enc < 0.6) return [...header, 'Content-Transfer-Encoding: base64', '', b64(bytes)];
  return [...header, 'Content-Transfer-Encoding: 8bit', '', bytes.toString('latin1')];
}

/** One random message as Latin-1 text (so every byte stays what it was). */
function message(rand: () => number, i: number, depth = 0): string {
  const subject =
    rand() < 0.3
      ? `=?utf-8?B?${Buffer.from(sentence(rand, 2).replace(/\r\n/g, ''), 'utf8').toString('base64')}?=`
      : sentence(rand, 2)
          .replace(/\r\n/g, '')
          .replace(/[^\x00-\x7f]/g, 'e');
  const head = [
    `From: sender${i}@example.net`,
    `Subject: ${subject}`,
    `Message-ID: <m${i}.${depth}@test>`,
    'MIME-Version: 1.0',
  ];
  const kind = rand();
  if (kind < 0.4 || depth > 0) return [...head, ...textPart(rand), ''].join(CRLF);
  const parts: string[][] = [];
  const n = 1 + Math.floor(rand() * 3);
  for (let p = 0; p < n; p++) parts.push(textPart(rand));
  if (kind > 0.8) parts.push(['Content-Type: message/rfc822', '', message(rand, i, depth + 1)]);
  if (rand() < 0.3)
    parts.push([
      'Content-Type: image/png',
      'Content-Transfer-Encoding: base64',
      '',
      b64(Buffer.from('zebra not text')),
    ]);
  const body = parts.map((p) => `--b${depth}${CRLF}${p.join(CRLF)}`).join(CRLF);
  return [...head, `Content-Type: multipart/mixed; boundary=b${depth}`, '', body, `--b${depth}--`, ''].join(CRLF);
}

describe('SEARCH BODY/TEXT: the index narrows, the text decides (index on = index off)', () => {
  let dir: string;
  let store: Store;
  let sel: SelectedMailbox;
  const texts: string[] = [];
  const asked = { total: 0, answered: 0 };
  let indexed: Store;
  let reading: Store;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'postbode-index-'));
    store = await openTestStore({ dataDir: dir });
    const account = await store.accounts.create({ address: 'idx@example.org', passwordHash: 'h' });
    const rand = prng(20261206);
    for (let i = 0; i < 60; i++) {
      const raw = Buffer.from(message(rand, i), 'latin1');
      const meta = parseMessage(raw);
      const t = indexText(raw, meta);
      texts.push(t.body, t.header, t.mime);
      await store.deliver({
        raw,
        meta: meta as unknown as JsonValue,
        local: [{ accountId: account.id, mailbox: 'INBOX' }],
      });
    }
    // New messages wait for the background indexer (pending: all candidates); index them now.
    assert.equal((await store.searchIndex.status()).pending, 60);
    while ((await store.searchIndex.indexPending(25)) > 0) {}
    assert.equal((await store.searchIndex.status()).pending, 0);
    const box = await store.mailboxes.get(account.id, 'INBOX');
    assert.ok(box);
    sel = new SelectedMailbox(box, true, await store.messages.list(box.id));
    const counting: Store['messages']['searchText'] = async (...args) => {
      asked.total++;
      const r = await store.messages.searchText(...args);
      if (r !== null) asked.answered++;
      return r;
    };
    indexed = { ...store, messages: { ...store.messages, searchText: counting } };
    reading = { ...store, messages: { ...store.messages, searchText: async () => null } };
  });

  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (s: Store, key: SearchKey) =>
    search({ store: s, selected: sel, cache: new DigestCache(1 << 20) }, key);
  const text = (field: 'body' | 'text', needle: string): SearchKey => ({
    op: 'text',
    field,
    value: Buffer.from(needle, 'utf8'),
  });

  /** Needles: pieces of the indexed texts (so many match), across line breaks, short, non-ASCII, absent. */
  function needles(): string[] {
    const rand = prng(42);
    const out = new Set<string>([
      'zebra',
      'ZEBRA',
      'GRÜßE',
      'köln',
      'file',
      'ﬁle',
      'Σίσυφος',
      '日本',
      '😀x',
      'x',
      'ab',
      'e',
      'a"q',
      'tab\th',
      'not there at all',
      'subject: ',
      'content-description',
      '\r\n',
      'fox \r\n',
      'zebra not text',
    ]);
    for (let i = 0; i < 90; i++) {
      const t = texts[Math.floor(rand() * texts.length)];
      if (t.length < 2) continue;
      const len = 1 + Math.floor(rand() * 14);
      const at = Math.floor(rand() * Math.max(1, t.length - len));
      let piece = t.slice(at, at + len);
      if (rand() < 0.3) piece = piece.toUpperCase();
      out.add(piece);
    }
    // A needle crossing a line break.
    for (const t of texts) {
      const nl = t.indexOf('\r\n', 5);
      if (nl > 0) {
        out.add(t.slice(nl - 4, nl + 5));
        break;
      }
    }
    return [...out].filter((n) => n.length > 0);
  }

  it('gives the same messages with the index as without, for BODY, TEXT, NOT and OR', async () => {
    let matchedSome = 0;
    for (const n of needles()) {
      for (const field of ['body', 'text'] as const) {
        const key = text(field, n);
        const expected = await run(reading, key);
        assert.deepEqual(await run(indexed, key), expected, `${field.toUpperCase()} ${JSON.stringify(n)}`);
        if (expected.length > 0) matchedSome++;
        const not: SearchKey = { op: 'not', key };
        assert.deepEqual(await run(indexed, not), await run(reading, not), `NOT ${field} ${JSON.stringify(n)}`);
      }
      const or: SearchKey = { op: 'or', left: text('body', n), right: text('text', 'zebra') };
      assert.deepEqual(await run(indexed, or), await run(reading, or), `OR BODY ${JSON.stringify(n)} TEXT zebra`);
    }
    assert.ok(matchedSome > 60, `the needles match something (${matchedSome})`);
    assert.ok(asked.answered > 60, `the index answered (${asked.answered} of ${asked.total})`);
  });

  it('reads no message the index rules out', async () => {
    let reads = 0;
    const counted: Store = {
      ...store,
      blobs: {
        ...store.blobs,
        read: async (id) => {
          reads++;
          return store.blobs.read(id);
        },
      },
    };
    const found = await run(counted, text('body', 'not there at all'));
    assert.deepEqual(found, []);
    assert.equal(reads, 0, 'a needle no message has reads nothing');
  });
});
