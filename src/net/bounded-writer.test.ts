import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { BoundedWriter, FrameQueue } from './bounded-writer.js';

/** A destination that takes `highWaterMark` bytes, then holds everything until `release()`. */
class Sink extends Writable {
  received: string[] = [];
  #held: (() => void)[] = [];
  paused = true;

  constructor() {
    super({ highWaterMark: 64 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.received.push(chunk.toString());
    if (this.paused) this.#held.push(done);
    else done();
  }

  release(): void {
    this.paused = false;
    for (const done of this.#held.splice(0)) done();
  }
}

const frame = (s: string) => Buffer.from(s);

describe('FrameQueue', () => {
  it('refuses a frame past its bound unless forced, and hands frames out in order', () => {
    const q = new FrameQueue(10);
    assert.equal(q.push(frame('12345')), true);
    assert.equal(q.push(frame('67890')), true);
    assert.equal(q.push(frame('x')), false);
    assert.equal(q.push(frame('forced')), false);
    assert.equal(q.push(frame('forced'), true), true);
    assert.equal(q.bytes, 16);
    assert.equal(q.next()?.toString(), '12345');
    assert.equal(q.next()?.toString(), '67890');
    assert.equal(q.next()?.toString(), 'forced');
    assert.equal(q.next(), null);
    assert.equal(q.finished, false);
    q.finish(frame('bye'));
    assert.equal(q.finished, false);
    assert.equal(q.next()?.toString(), 'bye');
    assert.equal(q.finished, true);
  });
});

describe('BoundedWriter', () => {
  it('writes while the consumer takes it, waits for drain, and ends when the source is finished', async () => {
    const sink = new Sink();
    const q = new FrameQueue(1 << 20);
    const closed: (string | null)[] = [];
    const w = new BoundedWriter(sink, q, { stallMs: 60_000, onClose: (r) => closed.push(r) });
    for (let i = 0; i < 10; i++) q.push(frame(`event ${i} ${'x'.repeat(20)}\n`));
    w.pump();
    assert.equal(w.waiting, true, 'stopped at the high-water mark');
    assert.ok(q.bytes > 0, 'the rest waits in the queue, not in the sink');
    q.finish();
    sink.release();
    await new Promise<void>((resolve) => sink.once('finish', () => resolve()));
    assert.equal(sink.received.length, 10);
    assert.deepEqual(closed, [null]);
  });

  it('drops a consumer that does not drain within stallMs, with the farewell frame', async () => {
    const sink = new Sink();
    const q = new FrameQueue(1 << 20);
    // The writer's stall timer does not keep the process alive; this test must.
    const alive = setInterval(() => {}, 1000);
    const closed = new Promise<string | null>((resolve) => {
      const w = new BoundedWriter(sink, q, {
        stallMs: 20,
        farewell: (reason) => frame(`dropped: ${reason}`),
        onClose: resolve,
      });
      q.push(frame('y'.repeat(200)));
      w.pump();
    });
    assert.match(String(await closed), /did not read/);
    clearInterval(alive);
    sink.release();
    assert.match(sink.received.at(-1) ?? '', /^dropped: the client did not read/);
  });
});
