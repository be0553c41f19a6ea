/**
 * Blobs that lost their last reference (schema V19 records them in `blob_orphans`) are deleted here, a
 * bounded number per transaction, so that removing many messages at once (`EXPUNGE`, `MOVE` or
 * `DELETE` of a big mailbox, an account) does not hold the one event loop for the blobs' deletion too.
 *
 * Invariants:
 * - A blob is deleted only if, inside the deleting write, no message and no queue entry references it:
 *   a delivery or APPEND of the same bytes (putBlob finds blobs by hash) may have taken an orphan back,
 *   and all writes are serialised by the group committer, so the check and the delete see one state.
 * - Every write job sweeps up to `INLINE_SWEEP` orphans at its end (db.ts): a small removal leaves no
 *   orphan behind once its promise resolves. What is left is swept by `OrphanSweeper`, `SWEEP_BATCH` per
 *   write, each write a separate group commit, so other sessions' work runs between them.
 * - Readers never see an orphan: messages are read by (mailbox, UID), and an orphan has no message.
 *   Until it is swept, its bytes still take room in the file (`Store.stats().blobs` counts it).
 */
import type { SqliteContext } from './db.js';
import type { WriteJob } from './writer.js';

/** Orphans each write job deletes at its end. */
export const INLINE_SWEEP = 256;
/** Orphans per background write. */
export const SWEEP_BATCH = 512;

/** Deletes up to `limit` orphaned blobs; returns how many orphan rows it took. Call inside a write job. */
export function sweepOrphans(ctx: SqliteContext, limit: number): number {
  const ids = ctx.pluck('SELECT blob_id FROM blob_orphans LIMIT ?').all(limit) as number[];
  for (const id of ids) {
    ctx
      .sql(
        `DELETE FROM blobs WHERE id = @id AND NOT EXISTS (SELECT 1 FROM messages WHERE blob_id = @id)
         AND NOT EXISTS (SELECT 1 FROM queue WHERE blob_id = @id)`,
      )
      .run({ id });
    ctx.sql('DELETE FROM blob_orphans WHERE blob_id = ?').run(id);
  }
  return ids.length;
}

/** Sweeps what the write jobs left, in the background, until none are left; then waits to be woken. */
export class OrphanSweeper {
  readonly #ctx: SqliteContext;
  /** Runs a write job as an essential write (it frees space), without the inline sweep of `ctx.write`. */
  readonly #write: (job: WriteJob<number>) => Promise<number>;
  #running: Promise<void> | null = null;
  #closed = false;

  constructor(ctx: SqliteContext, write: (job: WriteJob<number>) => Promise<number>) {
    this.#ctx = ctx;
    this.#write = write;
  }

  /** Starts sweeping unless a sweep runs already (its loop takes the new orphans too). */
  wake(): void {
    if (this.#running || this.#closed) return;
    this.#running = this.#loop().finally(() => {
      this.#running = null;
    });
  }

  async #loop(): Promise<void> {
    while (!this.#closed) {
      let swept: number;
      try {
        swept = await this.#write(() => sweepOrphans(this.#ctx, SWEEP_BATCH));
      } catch {
        return; // closed, or the disk failed: the next write job's inline sweep and wake() go on later
      }
      if (swept < SWEEP_BATCH) return;
    }
  }

  /** Stops after the write in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#running;
  }
}
