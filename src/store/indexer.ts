/**
 * The background indexer of the body search index: takes the contents delivery and APPEND stored as
 * pending (`Store.searchIndex`) into the index, in small batches, off the path of the replies. Backend-
 * neutral: it only calls `indexPending`.
 *
 * Invariants:
 * - One batch at a time; between batches the event loop runs (a batch is one short write, a few ms to a
 *   few tens of ms), and when nothing is pending it sleeps `idleMs` before looking again.
 * - It yields to clients: after a batch that took T ms it pauses T ms (at most `idleMs`), so it takes at
 *   most about half of a quiet event loop; and when the rest of the process kept the loop busy during
 *   that pause (event loop utilisation over `busyShare`), it pauses `busyFactor` times as long again,
 *   taking about a tenth. A burst of deliveries is thus served first and indexed mostly after it (the
 *   profile of one message per SMTP connection had the indexer's FTS inserts second only to the
 *   commits, docs/benchmarks.md), while a server that never goes quiet still indexes, more slowly.
 * - Searches are right whatever the indexer has done so far (pending messages are always candidates);
 *   it only makes them faster.
 * - A failing batch (disk full, database busy) is logged once per failure streak and retried after
 *   `idleMs`; `stop()` waits for the batch in flight.
 */
import type { Store } from './types.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface IndexerOptions {
  /** Contents per batch (default 25). */
  batch?: number;
  /** Pause when nothing is pending or after a failure, in ms (default 1000). */
  idleMs?: number;
  /** Told about failures (the first of a streak). */
  onError?: (error: unknown) => void;
  /** Event loop utilisation above which the process counts as busy (default 0.5; see the header). */
  busyShare?: number;
  /** How many times a batch's time the indexer waits more while the process is busy (default 8). */
  busyFactor?: number;
}

export class SearchIndexer {
  readonly #store: Store;
  readonly #batch: number;
  readonly #idleMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #busyShare: number;
  readonly #busyFactor: number;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;
  #failing = false;
  /** Contents indexed since start (for tests and status). */
  indexed = 0;

  constructor(store: Store, opts: IndexerOptions = {}) {
    this.#store = store;
    this.#batch = opts.batch ?? 25;
    this.#idleMs = opts.idleMs ?? 1000;
    this.#onError = opts.onError ?? (() => {});
    this.#busyShare = opts.busyShare ?? 0.5;
    this.#busyFactor = opts.busyFactor ?? 8;
  }

  start(): void {
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#running = this.#drain().finally(() => {
        this.#running = null;
      });
    }, ms);
    this.#timer.unref();
  }

  async #drain(): Promise<void> {
    try {
      while (!this.#stopped) {
        const started = performance.now();
        const n = await this.#store.searchIndex.indexPending(this.#batch);
        this.#failing = false;
        if (n === 0) break;
        this.indexed += n;
        // As long a pause as the batch took (see the header): half the loop at most; and while others
        // kept the loop busy during it, `busyFactor` times longer.
        const pause = Math.min(this.#idleMs, performance.now() - started);
        const before = performance.eventLoopUtilization();
        await sleep(pause);
        if (this.#stopped) break;
        if (performance.eventLoopUtilization(before).utilization > this.#busyShare) {
          await sleep(Math.min(this.#idleMs, pause * this.#busyFactor));
        }
      }
    } catch (error) {
      if (!this.#failing) this.#onError(error);
      this.#failing = true;
    }
    this.#schedule(this.#idleMs);
  }

  /** Stops looking for work; resolves when the batch in flight (if any) is done. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }
}
