/**
 * The wire capture of a live session (capture.ts): many tiny writes (an IDLE session's `* N EXISTS`
 * lines) are kept in one growing buffer with packed index arrays, and read back exactly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WireRedactor } from '../lab/redact.js';
import { keepWire, newWireCapture, WIRE_CHUNK_COST, wireChunk, wireChunkCount } from './capture.js';

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
    assert.equal(w.secrets.size, 0);
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
});
