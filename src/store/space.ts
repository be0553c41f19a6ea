/**
 * Storage space: telling a full disk from other write errors, and the storage reserve that keeps
 * deleting possible on a full disk. Backend-neutral (a file next to the data).
 *
 * Invariants:
 * - The reserve is one file, `<data_dir>/reserve`, of `bytes` bytes of incompressible data, created by
 *   the server (`ensure`) when the disk has room for it plus a margin; a reserve of 0 bytes is never
 *   created (the CLI opens the store with 0 and may still release the server's file).
 * - `release()` deletes it when a write fails for lack of space. From then on the reserve is *spent*:
 *   `holding` is true and the store refuses ordinary writes (deliveries, APPEND) without trying them,
 *   so the freed space serves deletions (expunge, DELE, mailbox deletion) and flag changes only.
 * - `holding` ends by itself once the disk has room for the reserve again (checked with statfs at most
 *   once a second while holding); the reserve is then created again in the background.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Free space on top of the reserve before it is created again (and before ordinary writes resume). */
export const RESERVE_MARGIN = 1024 * 1024;

/** The part of the reserve the store's writer uses (writer.ts). */
export interface SpaceGuard {
  /** True while the reserve is spent and the disk has no room yet: ordinary writes are refused. */
  readonly holding: boolean;
  /** A write failed for lack of space: delete the reserve. True when that freed something. */
  release(): boolean;
  /** Whether the disk is (almost) completely full now, to tell an I/O error caused by it. */
  outOfSpace(): boolean;
}

/** Whether `err` says that the disk or the database is full. */
export function isOutOfSpaceError(err: unknown, guard?: Pick<SpaceGuard, 'outOfSpace'>): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') return true;
  // SQLite reports some failed writes as I/O errors without the errno; a disk with no room left explains them.
  return code.startsWith('SQLITE_IOERR') && guard?.outOfSpace() === true;
}

/** Bytes available on the filesystem holding `dir` (to unprivileged users), or null when unknown. */
export function freeBytesSync(dir: string): number | null {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

export interface ReserveStatus {
  /** Configured size in bytes (0: no reserve). */
  bytes: number;
  /** Whether the reserve file exists. */
  present: boolean;
  /** True while it is spent and ordinary writes are refused (see the header). */
  holding: boolean;
  /** How often it was released since the start. */
  released: number;
}

export class SpaceReserve implements SpaceGuard {
  readonly file: string;
  readonly bytes: number;
  readonly #dir: string;
  #spent = false;
  #lastProbe = 0;
  #releases = 0;
  #creating: Promise<boolean> | null = null;
  readonly #now: () => number;

  /** `now` is the clock of the once-a-second probe while holding (tests drive it; default Date.now). */
  constructor(opts: { dataDir: string; bytes: number; now?: () => number }) {
    this.#dir = opts.dataDir;
    this.file = path.join(opts.dataDir, 'reserve');
    this.bytes = opts.bytes;
    this.#now = opts.now ?? Date.now;
  }

  get present(): boolean {
    try {
      return fs.statSync(this.file).size >= this.bytes && this.bytes > 0;
    } catch {
      return false;
    }
  }

  get holding(): boolean {
    if (!this.#spent) return false;
    const now = this.#now();
    if (now - this.#lastProbe < 1000) return true;
    this.#lastProbe = now;
    const free = freeBytesSync(this.#dir);
    if (free !== null && free >= this.bytes + RESERVE_MARGIN) {
      this.#spent = false;
      void this.ensure();
      return false;
    }
    return true;
  }

  status(): ReserveStatus {
    return { bytes: this.bytes, present: this.present, holding: this.holding, released: this.#releases };
  }

  release(): boolean {
    try {
      fs.unlinkSync(this.file);
    } catch {
      return false;
    }
    this.#releases++;
    this.#spent = true;
    this.#lastProbe = this.#now();
    return true;
  }

  outOfSpace(): boolean {
    const free = freeBytesSync(this.#dir);
    return free !== null && free < RESERVE_MARGIN;
  }

  /**
   * Creates the reserve when it is missing and the disk has room for it plus a margin. Resolves to
   * whether it exists afterwards; never throws.
   */
  ensure(): Promise<boolean> {
    this.#creating ??= this.#create().finally(() => {
      this.#creating = null;
    });
    return this.#creating;
  }

  async #create(): Promise<boolean> {
    if (this.bytes <= 0) return false;
    if (this.present) return true;
    const free = freeBytesSync(this.#dir);
    if (free === null || free < this.bytes + RESERVE_MARGIN) return false;
    const tmp = `${this.file}.tmp`;
    let handle: fs.promises.FileHandle | null = null;
    try {
      handle = await fs.promises.open(tmp, 'w', 0o600);
      // Random bytes: a compressing or deduplicating filesystem must really set the space aside.
      const block = randomBytes(Math.min(this.bytes, 1024 * 1024));
      for (let done = 0; done < this.bytes; ) {
        const n = Math.min(block.length, this.bytes - done);
        const { bytesWritten } = await handle.write(block, 0, n);
        done += bytesWritten;
      }
      await handle.sync();
      await handle.close();
      handle = null;
      await fs.promises.rename(tmp, this.file);
      this.#spent = false;
      return true;
    } catch {
      await handle?.close().catch(() => {});
      await fs.promises.unlink(tmp).catch(() => {});
      return false;
    }
  }
}
