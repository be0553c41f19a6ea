/**
 * The web lab's captured bytes on the SQLite backend: one append-only file per logged session in
 * `capture/` beside the database, indexed by `log_wire` rows (sessionlog.ts, schema V18).
 *
 * Why files: a POP3 or IMAP session that downloads mail captures every message it reads (up to
 * lab.capture_bytes per session). In SQLite those bytes were overflow pages written to the WAL and
 * copied again by each checkpoint, on the event loop: about 5 ms of CPU per MB, half of a POP3 RETR's
 * cost with the lab on. Appended to a file they cost a `writev` (~0.25 ms per MB).
 *
 * Invariants:
 * - A session's bytes are appended to its own file; a row records the offset they start at, and the
 *   lengths of its chunks (`parts`) give the rest. The offset is the file's size before the append,
 *   so bytes left behind by a write job that was rolled back are never referenced.
 * - The file of a session goes when its rows go (prune, delete: after their COMMIT). A file whose
 *   session is gone (a crash between the two) is removed by `sweep` once it is an hour old, so a
 *   session being written by another process is never taken.
 * - The bytes are appended on libuv's thread pool, before the write job that inserts their rows (the
 *   event loop goes on serving clients while megabytes are copied); appends to one file run one after
 *   the other, so each learns its offset alone.
 * - Bytes are not fsynced: the history is not mail. A file cut short by a crash reads as a capture
 *   that ends earlier: `read` gives what is there, and the history keeps the chunks it holds whole.
 * - The file name is the session id when it is a plain token, else its SHA-256: ids never name a path.
 */
import { createHash } from 'node:crypto';
import fs, { closeSync, mkdirSync, openSync, readdirSync, readSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';

const SUFFIX = '.wire';
/** Orphan files younger than this are left alone (their rows may not be committed yet). */
const SWEEP_AGE_MS = 60 * 60 * 1000;

export class CaptureFiles {
  readonly dir: string;
  #made = false;
  /** The append in progress per file, if any: the next one waits for it (see the header). */
  readonly #appending = new Map<string, Promise<number>>();

  constructor(dir: string) {
    this.dir = dir;
  }

  /** The file of a session. */
  file(sessionId: string): string {
    const name = /^[A-Za-z0-9_-]{1,64}$/.test(sessionId)
      ? sessionId
      : createHash('sha256').update(sessionId).digest('hex');
    return path.join(this.dir, name + SUFFIX);
  }

  /**
   * Appends the buffers to the session's file, on the thread pool, after any append to it still in
   * progress; resolves to the offset where they start. Rejects on failure (a full disk).
   */
  append(sessionId: string, buffers: readonly Buffer[]): Promise<number> {
    if (!this.#made) {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.#made = true;
    }
    const file = this.file(sessionId);
    const before = this.#appending.get(file);
    const run = () => appendTo(file, buffers);
    const done = before ? before.then(run, run) : run();
    this.#appending.set(file, done);
    const forget = () => {
      if (this.#appending.get(file) === done) this.#appending.delete(file);
    };
    done.then(forget, forget);
    return done;
  }

  /**
   * The bytes of each range of the session's file: shorter than asked where the file ends first (cut
   * by a crash), empty when there is no file.
   */
  read(sessionId: string, ranges: readonly { at: number; length: number }[]): Buffer[] {
    let fd: number;
    try {
      fd = openSync(this.file(sessionId), 'r');
    } catch {
      return ranges.map(() => Buffer.alloc(0));
    }
    try {
      return ranges.map(({ at, length }) => {
        const buf = Buffer.allocUnsafe(length);
        let got = 0;
        while (got < length) {
          const n = readSync(fd, buf, got, length - got, at + got);
          if (n === 0) break;
          got += n;
        }
        return got < length ? buf.subarray(0, got) : buf;
      });
    } finally {
      closeSync(fd);
    }
  }

  /** Removes the files of these sessions (those that have one). */
  remove(sessionIds: Iterable<string>): void {
    for (const id of sessionIds) {
      try {
        unlinkSync(this.file(id));
      } catch {
        // none, or gone already
      }
    }
  }

  /** Removes files older than an hour whose session is not in `known` (ids); returns how many. */
  sweep(known: Iterable<string>, now = Date.now()): number {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return 0;
    }
    const keep = new Set<string>();
    for (const id of known) keep.add(path.basename(this.file(id)));
    let removed = 0;
    for (const name of names) {
      if (!name.endsWith(SUFFIX) || keep.has(name)) continue;
      const file = path.join(this.dir, name);
      try {
        if (now - statSync(file).mtimeMs < SWEEP_AGE_MS) continue;
        unlinkSync(file);
        removed++;
      } catch {
        // gone meanwhile
      }
    }
    return removed;
  }
}

/**
 * Appends the buffers to `file` (created 0600); resolves to its size before. The callback API, one
 * promise for the four steps: a FileHandle costs more on the event loop than the work it dispatches.
 */
function appendTo(file: string, buffers: readonly Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.open(file, 'a', 0o600, (openError, fd) => {
      if (openError) return reject(openError);
      const finish = (error: Error | null, at: number) =>
        fs.close(fd, (closeError) => {
          const failed = error ?? closeError;
          if (failed) reject(failed);
          else resolve(at);
        });
      fs.fstat(fd, (statError, stat) => {
        if (statError) return finish(statError, 0);
        const at = stat.size;
        const total = buffers.reduce((n, b) => n + b.length, 0);
        // A short write (rare: a nearly full disk) is continued with the rest until it fails.
        const write = (list: readonly Buffer[], done: number): void => {
          if (done >= total) {
            finish(null, at);
            return;
          }
          fs.writev(fd, list as Buffer[], (writeError, written) => {
            if (writeError) return finish(writeError, at);
            if (written === 0) return finish(new Error(`no byte of ${file} could be written`), at);
            const rest = done + written < total ? [Buffer.concat(list as Buffer[]).subarray(written)] : [];
            write(rest, done + written);
          });
        };
        write(buffers, 0);
      });
    });
  });
}
