/**
 * Fuzz-ish tests for the whole wire layer: random bytes and random mutations of valid commands must
 * never make the framing or the parser throw anything but ImapSyntaxError (deterministic PRNG, so a
 * failure reproduces; the seed and input are in the assertion message).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prng } from '../../../test/harness/fuzz.js';
import { parseCommand, parseCommandOrThrow } from '../commands/index.js';
import { classifyLineEnd, frameAll } from './framing.js';
import { ImapSyntaxError, Reader } from './reader.js';
import { parseSequenceSet } from './seqset.js';
import { decodeModifiedUtf7 } from './utf7.js';

const INTERESTING = Buffer.from('(){}[]<>"\\ *%$:,.+-~0123456789\r\n\0\xffAaZz=/&NIL', 'latin1');

const CORPUS = [
  'a001 CAPABILITY',
  'A1 LOGIN {5}\r\nsmith "sesame"',
  'a01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=',
  'A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 1:29997 (5000,7500 15000,22500)) CONDSTORE)',
  'A003 CREATE "Test-Drafts" (USE (\\Drafts))',
  'A05 LIST (SUBSCRIBED RECURSIVEMATCH) "" ("INBOX" "Sent/%") RETURN (CHILDREN STATUS (MESSAGES UNSEEN))',
  'A042 STATUS blurdybloop (UIDNEXT MESSAGES HIGHESTMODSEQ)',
  'A003 APPEND saved (\\Seen) " 7-Feb-1994 22:43:04 -0800" {11}\r\nSubject: x\n ~{3+}\r\na\0b UTF8 (~{1}\r\nz)',
  'A282 SEARCH RETURN (MIN COUNT SAVE PARTIAL 1:10) CHARSET UTF-8 OR FLAGGED NOT (SINCE 1-Feb-1994 FROM {5}\r\nSmith) MODSEQ "/flags/\\\\draft" all 5',
  'A654 UID FETCH 2:4,7 (FLAGS BODY.PEEK[1.2.HEADER.FIELDS.NOT (DATE FROM)]<0.100> BINARY[1]<5.6> PREVIEW (LAZY)) (CHANGEDSINCE 5 VANISHED)',
  'a102 UID STORE 7,8,9 (UNCHANGEDSINCE 12121230045) -FLAGS.SILENT (\\Deleted $Junk)',
  'A283 UID SORT RETURN (COUNT) (SUBJECT REVERSE DATE) UTF-8 ALL',
  'A284 THREAD REFERENCES US-ASCII TEXT "gewp"',
  'a023 ID ("name" "sodr" "version" NIL)',
  'S0000 SETQUOTA "#user/alice" (STORAGE 510 MESSAGE 1000)',
  'a UID MOVE 42:69 Entw&APw-rfe',
];

/** Runs `fn` and fails the test if it throws anything but ImapSyntaxError. */
function onlySyntaxErrors(fn: () => unknown, context: () => string): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ImapSyntaxError)) {
      assert.fail(`threw ${err instanceof Error ? err.stack : String(err)}\ninput: ${context()}`);
    }
    assert.match(err.message, / at offset \d+/);
    assert.ok(Number.isInteger(err.offset) && err.offset >= 0);
  }
}

function exercise(bytes: Buffer, context: () => string): void {
  // The parser straight on bytes (no framing check), in both mailbox modes.
  for (const utf8 of [false, true]) {
    onlySyntaxErrors(() => parseCommandOrThrow(bytes, { utf8 }), context);
    const out = parseCommand(bytes, { utf8 }); // never throws
    assert.equal(typeof out.ok, 'boolean');
  }
  // Framing, then parsing what was framed.
  const { results } = frameAll(bytes, { maxLiteralSize: 1 << 16 });
  for (const r of results) {
    if (r.kind !== 'command') continue;
    onlySyntaxErrors(() => parseCommandOrThrow(r.command, { utf8: false }), context);
  }
  // Reader primitives from every few offsets.
  const primitives: ((r: Reader) => unknown)[] = [
    (r) => r.astring(),
    (r) => r.nstring(),
    (r) => r.date(),
    (r) => r.dateTime(),
    (r) => r.sequenceSet(),
    (r) => r.flagList(),
    (r) => r.mailbox({ utf8: false }),
    (r) => r.listMailbox({ utf8: true }),
    (r) => r.number64(),
    (r) => r.literal(true),
  ];
  for (let pos = 0; pos < Math.min(bytes.length, 12); pos += 3) {
    for (const p of primitives) {
      const r = new Reader(bytes);
      r.pos = pos;
      onlySyntaxErrors(() => p(r), context);
    }
  }
  classifyLineEnd(bytes);
}

describe('fuzz: nothing but ImapSyntaxError', () => {
  it('random bytes', () => {
    const rand = prng(0x1a2b3c);
    for (let i = 0; i < 3000; i++) {
      const n = Math.floor(rand() * 64);
      const bytes = Buffer.alloc(n);
      for (let k = 0; k < n; k++) {
        bytes[k] = rand() < 0.5 ? INTERESTING[Math.floor(rand() * INTERESTING.length)] : Math.floor(rand() * 256);
      }
      exercise(bytes, () => `random #${i}: ${bytes.toString('hex')}`);
    }
  });

  it('random text after a valid tag and command name', () => {
    const rand = prng(42);
    const names = ['FETCH 1 ', 'UID SEARCH ', 'STORE 1 ', 'LIST ', 'SELECT ', 'APPEND x ', 'SORT ', 'STATUS x '];
    for (let i = 0; i < 3000; i++) {
      const prefix = `a ${names[i % names.length]}`;
      const n = Math.floor(rand() * 40);
      const tail = Buffer.alloc(n);
      for (let k = 0; k < n; k++) tail[k] = INTERESTING[Math.floor(rand() * INTERESTING.length)];
      const bytes = Buffer.concat([Buffer.from(prefix), tail]);
      exercise(bytes, () => `tail #${i}: ${JSON.stringify(bytes.toString('latin1'))}`);
    }
  });

  it('mutations of valid commands', () => {
    const rand = prng(7);
    // Every corpus command is valid to start with.
    for (const c of CORPUS) {
      const { results } = frameAll(Buffer.from(`${c}\r\n`, 'latin1'));
      assert.ok(results[0]?.kind === 'command', c);
      const out = parseCommand(results[0].command, { utf8: false });
      assert.ok(out.ok, `${c}: ${out.ok ? '' : out.error.message}`);
    }
    for (let i = 0; i < 4000; i++) {
      let bytes = Buffer.from(CORPUS[i % CORPUS.length], 'latin1');
      const edits = 1 + Math.floor(rand() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * (bytes.length + 1));
        const byte = INTERESTING[Math.floor(rand() * INTERESTING.length)];
        switch (Math.floor(rand() * 5)) {
          case 0: // replace
            if (at < bytes.length) bytes[at] = byte;
            break;
          case 1: // insert
            bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([byte]), bytes.subarray(at)]);
            break;
          case 2: // delete
            bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
            break;
          case 3: // truncate
            bytes = bytes.subarray(0, at);
            break;
          default: {
            // duplicate a slice
            const len = Math.floor(rand() * 10);
            bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at, at + len), bytes.subarray(at)]);
          }
        }
      }
      const snapshot = Buffer.from(bytes);
      exercise(snapshot, () => `mutation #${i}: ${JSON.stringify(snapshot.toString('latin1'))}`);
    }
  });

  it('sequence sets and modified UTF-7 on random input', () => {
    const rand = prng(99);
    const alphabet = '0123456789*$:,&-+AZaz/ ';
    for (let i = 0; i < 5000; i++) {
      let s = '';
      const n = Math.floor(rand() * 16);
      for (let k = 0; k < n; k++) s += alphabet[Math.floor(rand() * alphabet.length)];
      parseSequenceSet(s);
      decodeModifiedUtf7(s);
    }
  });

  it('deeply nested input does not overflow the stack', () => {
    for (const depth of [500, 5000, 50000]) {
      for (const wire of [
        `a SEARCH ${'('.repeat(depth)}ALL${')'.repeat(depth)}`,
        `a SEARCH ${'NOT '.repeat(depth)}ALL`,
        `a SEARCH ${'OR ALL '.repeat(depth)}ALL`,
      ]) {
        onlySyntaxErrors(
          () => parseCommandOrThrow(Buffer.from(wire), { utf8: false }),
          () => wire.slice(0, 40),
        );
      }
    }
  });
});
