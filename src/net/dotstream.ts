/**
 * The SMTP DATA reader: finds the end-of-data marker, removes dot-stuffing (RFC 5321 §4.5.2) and
 * normalises line endings to CRLF, incrementally over whatever bytes have arrived.
 *
 * Invariants (the SMTP smuggling class, CVE-2023-51764):
 * - In a CRLF session only `<CRLF>.<CRLF>` ends the data: a `.` line counts only when the line before
 *   it ended with CRLF (or it is the first line) and it ends with CRLF itself. `<LF>.<CRLF>`,
 *   `<LF>.<LF>` and `<CR>.<CR>` are data.
 * - In an LF session (a hand-typed `nc` session in lab mode) a `.` line ends the data after any line
 *   ending, with either ending.
 * - Output never exceeds `maxBytes`; beyond it the scanner keeps looking for the end but stores nothing.
 */

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
/** A line longer than this is passed on in pieces instead of waiting for its end. */
const MAX_PENDING_LINE = 65536;

export interface DotScanState {
  /** True when the next byte starts a line at which a terminator or stuffed dot may appear. */
  atLineStart: boolean;
  /** Bytes of message content produced so far (counted even when over the limit). */
  size: number;
  /** Lines ended by a bare LF (normalised to CRLF in the output). */
  bareLf: number;
  done: boolean;
}

export function newDotScanState(): DotScanState {
  return { atLineStart: true, size: 0, bareLf: 0, done: false };
}

export interface DotScanOptions {
  /** `crlf`: only CRLF.CRLF ends the data; `lf`: lenient lab mode. */
  mode: 'crlf' | 'lf';
  maxBytes: number;
  /** Whether the input ended (EOF): a pending partial line is then data. */
}

/**
 * Scans `buf` from `start`. Pushes content pieces to `out` (until the size limit) and returns the
 * index of the first byte not consumed. A partial last line is left unconsumed unless it is long.
 */
export function scanDotData(
  buf: Buffer,
  start: number,
  state: DotScanState,
  opts: DotScanOptions,
  out: Buffer[],
): number {
  let pos = start;
  const end = buf.length;
  const emit = (piece: Buffer) => {
    if (piece.length === 0) return;
    if (state.size + piece.length <= opts.maxBytes) out.push(piece);
    state.size += piece.length;
  };
  while (pos < end && !state.done) {
    const lf = buf.indexOf(LF, pos);
    if (lf < 0) {
      // No complete line yet. Keep a partial line unless it grows long; then pass it on, keeping the
      // last byte back in case it is the CR of a CRLF.
      const pending = end - pos;
      if (pending <= MAX_PENDING_LINE) return pos;
      let from = pos;
      if (state.atLineStart && buf[pos] === DOT) from++;
      emit(buf.subarray(from, end - 1));
      state.atLineStart = false;
      return end - 1;
    }
    const crlf = lf > pos && buf[lf - 1] === CR;
    const contentEnd = crlf ? lf - 1 : lf;
    if (state.atLineStart && contentEnd - pos === 1 && buf[pos] === DOT && (crlf || opts.mode === 'lf')) {
      state.done = true;
      return lf + 1;
    }
    let from = pos;
    if (state.atLineStart && buf[pos] === DOT) from++; // RFC 5321 §4.5.2: remove the stuffed dot
    if (crlf) {
      emit(buf.subarray(from, lf + 1));
    } else {
      state.bareLf++;
      emit(buf.subarray(from, contentEnd));
      emit(CRLF_BYTES);
    }
    state.atLineStart = crlf || opts.mode === 'lf';
    pos = lf + 1;
  }
  return pos;
}

const CRLF_BYTES = Buffer.from('\r\n');
