/**
 * Message bodies for RETR and TOP, on Buffers: byte-stuffing (RFC 1939 §3) and the TOP cut (header
 * plus the first n body lines, RFC 1939 §7).
 *
 * Invariants:
 * - Message bytes are never turned into strings; the scanners use `indexOf` (native), not a JS loop
 *   per byte. Chunks that need no stuffing are passed through unchanged (no copy).
 * - State carries across chunks, so a message may arrive in chunks split anywhere (even between the
 *   LF and the `.` of a line that needs stuffing).
 * - What goes on the wire always ends with CRLF before the terminating `.` line, even when the stored
 *   message does not end with a line break.
 */

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const DOT_BUF = Buffer.from('.');
const LF_DOT = Buffer.from('\n.');
const CRLF = Buffer.from('\r\n');
const LF_BUF = Buffer.from('\n');
const EMPTY = Buffer.alloc(0);

/** Doubles a `.` at the start of every line (RFC 1939 §3). */
export class DotStuffer {
  #lineStart = true;
  #last = -1;
  #bytes = 0;

  /** The bytes to send for `chunk`: the chunk itself when nothing in it needs stuffing. */
  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    const parts: Buffer[] = [];
    let from = 0;
    if (this.#lineStart && chunk[0] === DOT) parts.push(DOT_BUF);
    for (let i = chunk.indexOf(LF_DOT); i >= 0; i = chunk.indexOf(LF_DOT, i + 1)) {
      parts.push(chunk.subarray(from, i + 1), DOT_BUF);
      from = i + 1;
    }
    this.#last = chunk[chunk.length - 1];
    this.#lineStart = this.#last === LF;
    this.#bytes += chunk.length;
    if (parts.length === 0) return chunk;
    parts.push(chunk.subarray(from));
    return Buffer.concat(parts);
  }

  /** What must follow the data before the `.` line: a line break unless the data ended with one. */
  finish(): Buffer {
    if (this.#bytes === 0 || this.#last === LF) return EMPTY;
    return this.#last === CR ? LF_BUF : CRLF;
  }
}

/**
 * Cuts a message to its header and the first `lines` body lines (TOP). The header ends after the first
 * empty line; when `headerLength` is known (from the blob's meta) it is used instead of scanning.
 */
export class TopCutter {
  #offset = 0;
  #inHeader = true;
  #linesLeft: number;
  #done = false;
  // Scanning for the empty line when the header length is not known:
  #lineLength = 0;
  #lastWasCr = false;

  constructor(
    private readonly headerLength: number | null,
    lines: number,
  ) {
    this.#linesLeft = lines;
  }

  get done(): boolean {
    return this.#done;
  }

  /** The part of `chunk` to send; after `done` turns true the rest of the message is not needed. */
  push(chunk: Buffer): Buffer {
    if (this.#done) return EMPTY;
    let start = 0;
    if (this.#inHeader) {
      const end = this.#headerEnd(chunk);
      if (end < 0) {
        this.#offset += chunk.length;
        return chunk;
      }
      this.#inHeader = false;
      start = end;
    }
    const bodyEnd = this.#bodyEnd(chunk, start);
    this.#offset += chunk.length;
    return bodyEnd === chunk.length ? chunk : chunk.subarray(0, bodyEnd);
  }

  /** Index in `chunk` just past the header, or -1 when the header goes on. */
  #headerEnd(chunk: Buffer): number {
    if (this.headerLength !== null) {
      const end = this.headerLength - this.#offset;
      return end <= chunk.length ? Math.max(0, end) : -1;
    }
    let pos = 0;
    for (let lf = chunk.indexOf(LF); lf >= 0; lf = chunk.indexOf(LF, pos)) {
      const length = this.#lineLength + (lf - pos);
      const lastIsCr = lf > pos ? chunk[lf - 1] === CR : this.#lastWasCr;
      pos = lf + 1;
      this.#lineLength = 0;
      this.#lastWasCr = false;
      if (length === 0 || (length === 1 && lastIsCr)) return pos;
    }
    if (pos < chunk.length) {
      this.#lineLength += chunk.length - pos;
      this.#lastWasCr = chunk[chunk.length - 1] === CR;
    }
    return -1;
  }

  /** Index in `chunk` just past the last wanted body line (the chunk's length when all is wanted). */
  #bodyEnd(chunk: Buffer, start: number): number {
    if (this.#linesLeft === 0) {
      this.#done = true;
      return start;
    }
    for (let lf = chunk.indexOf(LF, start); lf >= 0; lf = chunk.indexOf(LF, lf + 1)) {
      if (--this.#linesLeft === 0) {
        this.#done = true;
        return lf + 1;
      }
    }
    return chunk.length;
  }
}
