/**
 * Message bodies in flight (SMTP DATA and BDAT, IMAP APPEND and other large literals): where their
 * bytes wait between the first byte from the client and the moment the store takes the message.
 *
 * Invariants:
 * - A body is kept in memory only while it is small (`memoryThreshold`) and the process-wide
 *   `MemoryBudget` has room; otherwise its bytes go to a file in the spool directory as they arrive.
 *   However many clients send however slowly, bodies being received hold at most the budget in memory.
 * - Spool files are unlinked as soon as they are opened: only the open handle refers to them, so a
 *   crash or kill -9 leaves nothing behind, and nothing is left to clean up when a session ends.
 * - A body is loaded into memory (for parsing and the store's write) only under a reservation of its
 *   size from the same budget, taken in FIFO order and released by the caller when the write is done,
 *   so at most about the budget of completed bodies is being delivered at once; the rest wait.
 * - A failed spool write (a full disk) does not stop the reading: the body keeps counting its size so
 *   the protocol stays in step, and `finish()` reports the error (SMTP answers 452 4.3.1).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A process-wide count of bytes that message bodies may hold in memory. */
export class MemoryBudget {
  #used = 0;
  #waiters: { bytes: number; resolve: () => void }[] = [];

  constructor(readonly limit: number) {}

  get used(): number {
    return this.#used;
  }

  /** Bodies waiting for room to be loaded. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Takes `bytes` now if there is room and nobody is waiting; otherwise takes nothing. */
  tryTake(bytes: number): boolean {
    if (this.#waiters.length > 0 || this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  /**
   * Takes `bytes`, waiting in FIFO order until there is room. A body larger than the whole budget
   * is let in alone, when nothing else is held.
   */
  async take(bytes: number): Promise<void> {
    if (this.#waiters.length === 0 && this.#fits(bytes)) {
      this.#used += bytes;
      return;
    }
    await new Promise<void>((resolve) => this.#waiters.push({ bytes, resolve }));
  }

  release(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
    while (this.#waiters.length > 0 && this.#fits(this.#waiters[0].bytes)) {
      const next = this.#waiters.shift()!;
      this.#used += next.bytes;
      next.resolve();
    }
  }

  #fits(bytes: number): boolean {
    return this.#used + bytes <= this.limit || this.#used === 0;
  }
}

/** The spool could not take a body (usually a full disk: `full`). */
export class SpoolError extends Error {
  override name = 'SpoolError';
  constructor(
    message: string,
    readonly full: boolean,
    options?: { cause: unknown },
  ) {
    super(message, options);
  }
}

export interface SpoolOptions {
  /** Directory for spool files (created if missing; leftovers are removed at start). */
  dir: string;
  budget: MemoryBudget;
  /** A body larger than this goes to a file (default 256 KiB). */
  memoryThreshold?: number;
}

/** Writes to a spool file are gathered into pieces of this size. */
const FILE_PIECE = 64 * 1024;

export class Spool {
  readonly dir: string;
  readonly budget: MemoryBudget;
  readonly memoryThreshold: number;
  #ready = false;

  constructor(opts: SpoolOptions) {
    this.dir = opts.dir;
    this.budget = opts.budget;
    this.memoryThreshold = opts.memoryThreshold ?? 256 * 1024;
  }

  /** Creates the directory and removes files a crash left between open and unlink. */
  prepare(): void {
    if (this.#ready) return;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(this.dir)) {
      if (name.endsWith('.body')) rmSync(path.join(this.dir, name), { force: true });
    }
    this.#ready = true;
  }

  /** A new, empty body to write a message into. */
  body(): BodySink {
    return new BodySink(this);
  }

  /** @internal An open, already unlinked, spool file. */
  async openFile(): Promise<FileHandle> {
    this.prepare();
    const file = path.join(this.dir, `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}.body`);
    const handle = await open(file, 'wx+', 0o600);
    await unlink(file);
    return handle;
  }
}

let fallback: Spool | null = null;

/** A spool in the system's temporary directory with a 64 MiB budget, for listeners built without one. */
export function defaultSpool(): Spool {
  fallback ??= new Spool({
    dir: path.join(tmpdir(), `postbode-spool-${process.pid}`),
    budget: new MemoryBudget(64 * 1024 * 1024),
  });
  return fallback;
}

/** A body being received. Write its bytes in order, then `finish()` (or `discard()`). */
export class BodySink {
  readonly #spool: Spool;
  /** Bytes written so far (including those dropped after an error). */
  size = 0;
  #memory: Buffer[] = [];
  /** Bytes of #memory reserved from the budget. */
  #reserved = 0;
  #file: FileHandle | null = null;
  #filePos = 0;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #error: SpoolError | null = null;
  #done = false;

  constructor(spool: Spool) {
    this.#spool = spool;
  }

  get error(): SpoolError | null {
    return this.#error;
  }

  /** Whether the body went to a file. */
  get spooled(): boolean {
    return this.#file !== null;
  }

  /**
   * Adds bytes. The buffer must not be changed afterwards (the receive buffers of `Connection` are
   * replaced, never reused, so its views can be passed as they are). `owned`: the buffer is the
   * caller's own copy, kept as it is (a view into a receive buffer is copied when kept in memory).
   */
  async write(chunk: Buffer, opts?: { owned?: boolean }): Promise<void> {
    if (this.#done) throw new Error('BodySink: write after finish');
    if (chunk.length === 0) return;
    this.size += chunk.length;
    if (this.#error) return;
    if (this.#file === null) {
      const budget = this.#spool.budget;
      if (this.size <= this.#spool.memoryThreshold && budget.tryTake(chunk.length)) {
        this.#reserved += chunk.length;
        // A view may hold a much larger receive buffer alive: keep a copy of it.
        this.#memory.push(opts?.owned ? chunk : Buffer.from(chunk));
        return;
      }
      await this.#toFile();
      if (this.#error) return;
    }
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes >= FILE_PIECE) await this.#flush();
  }

  /** Moves what is in memory to a new spool file. */
  async #toFile(): Promise<void> {
    try {
      this.#file = await this.#spool.openFile();
    } catch (err) {
      this.#fail(err);
      return;
    }
    this.#pending = this.#memory;
    this.#pendingBytes = this.#reserved;
    this.#memory = [];
    this.#spool.budget.release(this.#reserved);
    this.#reserved = 0;
  }

  async #flush(): Promise<void> {
    if (!this.#file || this.#pendingBytes === 0) return;
    const data = this.#pending.length === 1 ? this.#pending[0] : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    try {
      let off = 0;
      while (off < data.length) {
        const { bytesWritten } = await this.#file.write(data, off, data.length - off, this.#filePos + off);
        off += bytesWritten;
      }
      this.#filePos += data.length;
    } catch (err) {
      this.#fail(err);
    }
  }

  #fail(err: unknown): void {
    const code = (err as NodeJS.ErrnoException).code;
    const full = code === 'ENOSPC' || code === 'EDQUOT';
    this.#error = new SpoolError(
      full ? 'no space left for the message spool' : `cannot write the message spool: ${code ?? err}`,
      full,
      { cause: err },
    );
    this.#dropAll();
  }

  #dropAll(): void {
    this.#spool.budget.release(this.#reserved);
    this.#reserved = 0;
    this.#memory = [];
    this.#pending = [];
    this.#pendingBytes = 0;
    const file = this.#file;
    this.#file = null;
    void file?.close().catch(() => {});
  }

  /** Ends the body. Check `error` first: after an error the body holds nothing. */
  async finish(): Promise<Body> {
    await this.#flush();
    this.#done = true;
    const body = new Body(this.#spool.budget, this.size, this.#memory, this.#reserved, this.#file);
    this.#memory = [];
    this.#reserved = 0;
    this.#file = null;
    return body;
  }

  /** Drops the body (the message was refused or the client left). */
  discard(): void {
    this.#done = true;
    this.#dropAll();
  }
}

/** A complete body, in memory or in a spool file. `load()` it once, then `release()` what it gave. */
export class Body {
  #loaded = false;

  constructor(
    readonly budget: MemoryBudget,
    readonly size: number,
    private memory: Buffer[],
    /** Bytes of `memory` already reserved from the budget. */
    private reserved: number,
    private file: FileHandle | null,
  ) {}

  /**
   * The whole body in one buffer, under a reservation of its size from the budget (waiting for room).
   * Call `release()` when the buffer is no longer needed.
   */
  async load(): Promise<{ data: Buffer; release: () => void }> {
    if (this.#loaded) throw new Error('Body: loaded twice');
    this.#loaded = true;
    const budget = this.budget;
    if (!this.file) {
      const reserved = this.reserved;
      const data = this.memory.length === 1 ? this.memory[0] : Buffer.concat(this.memory, this.size);
      this.memory = [];
      return { data, release: once(() => budget.release(reserved)) };
    }
    const file = this.file;
    this.file = null;
    await budget.take(this.size);
    const release = once(() => budget.release(this.size));
    try {
      const data = Buffer.allocUnsafe(this.size);
      let off = 0;
      while (off < this.size) {
        const { bytesRead } = await file.read(data, off, this.size - off, off);
        if (bytesRead === 0) throw new SpoolError('the message spool file is shorter than its body', false);
        off += bytesRead;
      }
      return { data, release };
    } catch (err) {
      release();
      throw err;
    } finally {
      await file.close().catch(() => {});
    }
  }

  /** Drops the body without loading it. */
  discard(): void {
    this.#loaded = true;
    this.budget.release(this.reserved);
    this.reserved = 0;
    this.memory = [];
    void this.file?.close().catch(() => {});
    this.file = null;
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
