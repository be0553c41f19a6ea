/**
 * The wire capture of a live session (capture.ts): many tiny writes (an IDLE session's `* N EXISTS`
 * lines) are kept in one growing buffer with packed index arrays, and read back exactly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WireRedactor } from '../lab/redact.js';
import {
  compactLive,
  encryptedAt,
  eventsOf,
  keepWire,
  keptEvents,
  MAX_EVENT_TEXT,
  newWireCapture,
  type OpenEvent,
  openLive,
  pushEvent,
  releasable,
  releaseLive,
  TextInterner,
  WIRE_CHUNK_COST,
  wireChunk,
  wireChunkCount,
} from './capture.js';

/** The open event of an IMAP session `sid` from loopback port `remotePort`. */
function imapOpen(sid: string, remotePort: number): OpenEvent {
  return {
    type: 'open',
    sid,
    t: 1000,
    proto: 'imap',
    listener: 'imap',
    local: '127.0.0.1',
    localPort: 143,
    remote: '127.0.0.1',
    remotePort,
    tls: false,
  };
}

describe('wire capture', () => {
  it('keeps 100,000 tiny chunks in one buffer of O(bytes), and gives each back exactly', () => {
    const w = newWireCapture(new WireRedactor('imap'));
    let cost = 0;
    for (let i = 0; i < 100_000; i++) {
      const bytes = Buffer.from(`* ${i} EXISTS\r\n`);
      cost += keepWire(w, i % 7 === 0 ? 'in' : 'out', 1000 + i, { bytes, secrets: [] }, 1 << 30, false);
    }
    assert.equal(wireChunkCount(w), 100_000);
    // One buffer for all the bytes (at most twice what is used), and no object per chunk.
    assert.ok(w.data.length <= 2 * w.bytes + 1024, `buffer ${w.data.length} for ${w.bytes} bytes`);
    assert.equal(w.secrets, null); // made for the first chunk with a secret only
    assert.equal(cost, w.bytes + 100_000 * WIRE_CHUNK_COST);
    for (const i of [0, 1, 6, 7, 4242, 99_999]) {
      const c = wireChunk(w, i);
      assert.equal(c.data.toString(), `* ${i} EXISTS\r\n`);
      assert.equal(c.t, 1000 + i);
      assert.equal(c.dir, i % 7 === 0 ? 'in' : 'out');
    }
  });

  it('cuts at the room given, and keeps the originals of masked bytes only when asked', () => {
    const w = newWireCapture(new WireRedactor('pop3'));
    keepWire(
      w,
      'in',
      1,
      { bytes: Buffer.from('PASS ******\r\n'), secrets: [[5, Buffer.from('secret')]] },
      1 << 20,
      true,
    );
    keepWire(
      w,
      'in',
      2,
      { bytes: Buffer.from('PASS ******\r\n'), secrets: [[5, Buffer.from('secret')]] },
      1 << 20,
      false,
    );
    assert.deepEqual(wireChunk(w, 0).secrets, [[5, Buffer.from('secret')]]);
    assert.equal(wireChunk(w, 1).secrets, null);
    const kept = keepWire(w, 'out', 3, { bytes: Buffer.alloc(100, 0x41), secrets: [] }, WIRE_CHUNK_COST + 10, false);
    assert.equal(kept, 10 + WIRE_CHUNK_COST);
    assert.equal(wireChunk(w, 2).data.length, 10);
    assert.ok(w.cut);
  });

  it('keeps at most MAX_EVENT_TEXT characters of a transcript line, with a note of the rest', () => {
    const open = imapOpen('s9', 40009);
    const live = openLive(open, false);
    const texts = new TextInterner();
    pushEvent(live, open, texts);
    const long = `a STATUS "${'m'.repeat(60_000)}" (MESSAGES)`;
    pushEvent(live, { type: 'in', sid: 's9', t: 1001, seq: 1, text: long }, texts);
    pushEvent(live, { type: 'out', sid: 's9', t: 1002, seq: 2, text: 'a NO [NONEXISTENT] no such mailbox' }, texts);
    const [, line, answer] = eventsOf(live) as { text?: string }[];
    assert.equal(
      line.text,
      `${long.slice(0, MAX_EVENT_TEXT)} … (${long.length - MAX_EVENT_TEXT} more characters, not kept)`,
    );
    assert.equal(answer.text, 'a NO [NONEXISTENT] no such mailbox');
  });

  it('compacts a quiet session to its exact size and reads back the same events and bytes, then grows again', () => {
    const open = imapOpen('s1', 40000);
    const live = openLive(open, false);
    const texts = new TextInterner();
    pushEvent(live, open, texts);
    for (let i = 1; i <= 20; i++) {
      pushEvent(live, { type: i % 2 ? 'in' : 'out', sid: 's1', t: 1000 + i, seq: i, text: `line ${i}` }, texts);
      keepWire(
        live.wire,
        i % 2 ? 'in' : 'out',
        1000 + i,
        { bytes: Buffer.from(`line ${i}\r\n`), secrets: [] },
        1 << 20,
        false,
      );
    }
    const events = eventsOf(live);
    const view = wireChunk(live.wire, 3).data; // handed out before the compaction
    assert.equal(live.wire.data.length, 1024);
    compactLive(live);
    assert.ok(live.compact);
    assert.equal(live.wire.data.length, live.wire.bytes);
    assert.deepEqual(eventsOf(live), events);
    assert.equal(view.toString(), 'line 4\r\n');
    for (let i = 0; i < 20; i++) assert.equal(wireChunk(live.wire, i).data.toString(), `line ${i + 1}\r\n`);
    pushEvent(live, { type: 'out', sid: 's1', t: 2000, seq: 21, text: '* 1 EXISTS' }, texts);
    keepWire(live.wire, 'out', 2000, { bytes: Buffer.from('* 1 EXISTS\r\n'), secrets: [] }, 1 << 20, false);
    assert.equal(eventsOf(live).at(-1)?.type, 'out');
    assert.equal(wireChunk(live.wire, 20).data.toString(), '* 1 EXISTS\r\n');
    assert.equal(wireChunk(live.wire, 19).data.toString(), 'line 20\r\n');
  });

  it('lets go of what a written session holds, and numbers what comes after as the whole session', () => {
    const open = imapOpen('s2', 40001);
    const live = openLive(open, false);
    const texts = new TextInterner();
    pushEvent(live, open, texts);
    pushEvent(live, { type: 'out', sid: 's2', t: 1001, seq: 1, text: '* OK ready' }, texts);
    const cost = keepWire(
      live.wire,
      'out',
      1001,
      { bytes: Buffer.from('* OK ready\r\n'), secrets: [] },
      1 << 20,
      false,
    );
    assert.equal(releasable(live), false, 'not written yet');
    live.written = live.kinds.length;
    live.wire.written = wireChunkCount(live.wire);
    assert.equal(releasable(live), true);
    live.pinned = true;
    assert.equal(releasable(live), false, 'a failed write pins it');
    live.pinned = false;
    assert.deepEqual(releaseLive(live), { events: 2, cost });
    assert.deepEqual(eventsOf(live), []);
    assert.equal(wireChunkCount(live.wire), 0);
    assert.equal(releasable(live), false, 'nothing left to let go');
    assert.deepEqual([live.base, live.releasedSeq, keptEvents(live), live.wire.base], [2, 1, 2, 1]);
    // TLS after the release: the events after it are encrypted, counted from the session's start.
    pushEvent(live, { type: 'tls', sid: 's2', t: 1002, seq: 2, protocol: 'TLSv1.3', cipher: 'X' }, texts);
    live.encryptedFrom = keptEvents(live);
    pushEvent(live, { type: 'in', sid: 's2', t: 1003, seq: 3, text: 'a1 NOOP' }, texts);
    assert.equal(live.session.events, 4);
    assert.deepEqual([encryptedAt(live, 0), encryptedAt(live, 1)], [false, true]);
    keepWire(live.wire, 'in', 1003, { bytes: Buffer.from('a1 NOOP\r\n'), secrets: [] }, 1 << 20, false);
    assert.equal(wireChunk(live.wire, 0).data.toString(), 'a1 NOOP\r\n');
    assert.equal(live.wire.cost - live.wire.released, 9 + WIRE_CHUNK_COST);
  });
});
