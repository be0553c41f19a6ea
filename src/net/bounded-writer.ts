/**
 * Writing a long-lived stream (the web lab's SSE streams, the control socket's trace stream) to a
 * consumer that may not keep up, with bounded memory.
 *
 * Invariants:
 * - Frames are written only while the destination accepts them (`write()` returns true); then the
 *   writer waits for `drain`. What the destination holds is thus at most its high-water mark plus
 *   one frame; what waits here is bounded by the source (`FrameQueue`: `maxBytes`).
 * - A consumer that does not drain within `stallMs`, or whose queue would pass its bound, is dropped:
 *   the writer ends the stream with a farewell frame saying why (if the protocol has one), and destroys
 *   the connection if that cannot be flushed within a second. Nothing is ever buffered without bound.
 * - Frames are `Uint8Array`s that may be shared by many writers (serialize an event once, write the
 *   same bytes to every consumer); a writer never modifies or copies them.
 */
import type { Writable } from 'node:stream';

/** Where a writer takes its next frames from. */
export interface FrameSource {
  /** The next frame to write, or null when none is waiting now. */
  next(): Uint8Array | null;
  /** True once no frame will come any more: the writer ends the stream after the last one. */
  readonly finished: boolean;
}

/** A bounded FIFO of frames (the frames are shared, not copied). */
export class FrameQueue implements FrameSource {
  #frames: Uint8Array[] = [];
  #head = 0;
  #bytes = 0;
  #finished = false;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.#bytes;
  }

  get finished(): boolean {
    return this.#finished && this.#head === this.#frames.length;
  }

  /**
   * Adds a frame; false (and nothing added) when it would pass `maxBytes`, unless `force` (for a
   * replay at the start whose size the caller bounds otherwise).
   */
  push(frame: Uint8Array, force = false): boolean {
    if (this.#finished) return true;
    if (!force && this.#bytes + frame.byteLength > this.maxBytes) return false;
    this.#frames.push(frame);
    this.#bytes += frame.byteLength;
    return true;
  }

  /** No more frames after those queued (and `last`, when given). */
  finish(last?: Uint8Array): void {
    if (this.#finished) return;
    if (last) {
      this.#frames.push(last);
      this.#bytes += last.byteLength;
    }
    this.#finished = true;
  }

  next(): Uint8Array | null {
    if (this.#head === this.#frames.length) return null;
    const frame = this.#frames[this.#head];
    this.#frames[this.#head++] = EMPTY;
    this.#bytes -= frame.byteLength;
    if (this.#head === this.#frames.length) {
      this.#frames = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#frames.length) {
      this.#frames = this.#frames.slice(this.#head);
      this.#head = 0;
    }
    return frame;
  }
}

const EMPTY = new Uint8Array(0);

export interface BoundedWriterOptions {
  /** Milliseconds a consumer may leave written data unread before it is dropped. */
  stallMs: number;
  /** The last frame sent when the consumer is dropped (an SSE event, a JSON line), naming the reason. */
  farewell?: (reason: string) => Uint8Array;
  /** Called once when the stream ends for any reason: `reason` is null for a normal end or a hang-up. */
  onClose?: (reason: string | null) => void;
}

/** Grace for the farewell frame of a dropped consumer before its connection is destroyed. */
const FAREWELL_MS = 1000;

export class BoundedWriter {
  readonly #out: Writable;
  readonly #source: FrameSource;
  readonly #opts: BoundedWriterOptions;
  #waiting = false;
  #stall: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(out: Writable, source: FrameSource, opts: BoundedWriterOptions) {
    this.#out = out;
    this.#source = source;
    this.#opts = opts;
    out.on('drain', this.#onDrain);
    out.once('close', () => this.#close(null));
    if (out.destroyed) this.#close(null);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the consumer has unread data and the writer waits for it to drain. */
  get waiting(): boolean {
    return this.#waiting;
  }

  /** Writes what the source has, as far as the consumer takes it; call when the source got frames. */
  pump(): void {
    if (this.#endedElsewhere() || this.#waiting) return;
    for (let frame = this.#source.next(); frame; frame = this.#source.next()) {
      if (!this.#out.write(frame)) {
        this.#waiting = true;
        this.#stall = setTimeout(
          () => this.drop(`the client did not read what was sent for ${Math.round(this.#opts.stallMs / 1000)} s`),
          this.#opts.stallMs,
        );
        this.#stall.unref();
        return;
      }
    }
    if (this.#source.finished) {
      this.#out.end();
      this.#close(null);
    }
  }

  /** Writes one frame outside the source (a heartbeat) unless the consumer is behind. */
  poke(frame: Uint8Array): void {
    if (this.#endedElsewhere() || this.#waiting) return;
    if (!this.#out.write(frame)) {
      this.#waiting = true;
      this.#stall = setTimeout(
        () => this.drop(`the client did not read what was sent for ${Math.round(this.#opts.stallMs / 1000)} s`),
        this.#opts.stallMs,
      );
      this.#stall.unref();
    }
  }

  /** Ends the stream at once with the farewell frame; the connection goes if it cannot take it. */
  drop(reason: string): void {
    if (this.#closed) return;
    const farewell = this.#opts.farewell?.(reason);
    const out = this.#out;
    this.#close(reason);
    if (farewell) out.end(farewell);
    else out.end();
    if (out.writableLength > 0) setTimeout(() => out.destroy(), FAREWELL_MS).unref();
  }

  /** Ends the stream now (server shutdown, unsubscribe): no more frames. */
  close(): void {
    if (this.#closed) return;
    this.#close(null);
    this.#out.end();
  }

  /** Closed, or the destination was ended by its owner (e.g. the web listener at shutdown, sse.ts). */
  #endedElsewhere(): boolean {
    if (!this.#closed && this.#out.writableEnded) this.#close(null);
    return this.#closed;
  }

  #onDrain = (): void => {
    if (this.#stall) clearTimeout(this.#stall);
    this.#stall = null;
    this.#waiting = false;
    this.pump();
  };

  #close(reason: string | null): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#stall) clearTimeout(this.#stall);
    this.#stall = null;
    this.#out.off('drain', this.#onDrain);
    this.#opts.onClose?.(reason);
  }
}
