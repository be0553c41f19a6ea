/**
 * Retention of the session history: how many finished sessions (`web.history_sessions`) and how old
 * (`web.history_days`) the store keeps, and when to prune.
 *
 * Invariants:
 * - Retention is applied when writing, not only after: of the finished sessions a batch writes for the
 *   first time, only the newest `historySessions` are written (`keepNewest`).
 * - When sessions finish faster than `historySessions` per `BUSY_FLUSH_MS`, batches stretch to
 *   `BUSY_FLUSH_MS`, so that most of them fall in that case: a busy server then writes at most
 *   `historySessions` sessions per `BUSY_FLUSH_MS` (250 a second with the defaults) and prunes as many,
 *   however fast sessions come; the others would be pruned a moment later anyway. The cost: a crash
 *   loses up to `BUSY_FLUSH_MS` of history, which the history (a lab, not the mail) can afford.
 * - The prune runs at start and right after a batch is written (so it sees that batch's sessions),
 *   once half `historySessions` new sessions were written or every `PRUNE_EVERY_MS`. A failed prune
 *   is logged; the next one retries.
 * - On a store shared by several nodes (PostgreSQL) the history is one for all: the prune keeps the
 *   newest `historySessions` of every node's sessions, and each node writes and counts against its
 *   share, `historySessions` divided by the nodes alive (heartbeat within `NODE_ALIVE_MS`, read at each
 *   prune). Without it, N busy nodes would each write `historySessions` per `BUSY_FLUSH_MS` for the
 *   prune to delete all but one node's worth. The share assumes the load is spread evenly (a load
 *   balancer, DNS): a node busier than the others keeps fewer of its sessions than their age alone
 *   would, and the history holds fewer than `historySessions` meanwhile.
 */
import type { Logger } from '../../log.js';
import type { Store } from '../../store/types.js';
import type { Live } from './capture.js';

const DAY_MS = 86_400_000;
/** Retention runs at least this often after new sessions were written (also when fewer than half). */
const PRUNE_EVERY_MS = 10_000;
/**
 * Time between batches while sessions arrive faster than `historySessions` in that time. At one SMTP
 * message per connection, 1 s (500 sessions a second all written, then pruned) cost ~0.25 ms of the
 * server's CPU per session; 4 s writes at most half of them (docs/benchmarks.md).
 */
const BUSY_FLUSH_MS = 4000;

/** A node whose heartbeat is older than this no longer counts for the share (nodes.ts beats every 5 s). */
const NODE_ALIVE_MS = 30_000;

/** Of finished sessions never written, those the history keeps: the newest `historySessions`. */
export function keepNewest(fresh: Live[], historySessions: number): Live[] {
  if (fresh.length <= historySessions) return fresh;
  // Newest first in the prune's order: the rest have historySessions newer ones in this batch alone.
  fresh.sort((a, b) => b.session.start - a.session.start || (b.session.id < a.session.id ? -1 : 1));
  fresh.length = historySessions;
  return fresh;
}

export class Retention {
  #lastPrune = 0;
  /** Sessions written for the first time since the last prune. */
  #newSince = 0;
  #lastFlush = Date.now();
  /** Sessions arrive faster than the share per `BUSY_FLUSH_MS`: batches are that far apart. */
  #busy = false;
  /** Nodes alive on the store at the last prune (1 on a store of one process). */
  #nodes = 1;

  constructor(private readonly opts: { store: Store; log: Logger; historySessions: number; historyDays: number }) {}

  /** The sessions this node writes at most per batch: its share of `historySessions` (see the header). */
  share(): number {
    const { historySessions } = this.opts;
    return historySessions === 0 ? 0 : Math.max(1, Math.ceil(historySessions / this.#nodes));
  }

  /** Milliseconds until the next batch, given the configured interval. */
  flushDelay(flushMs: number): number {
    return Math.max(flushMs, this.#busy ? BUSY_FLUSH_MS : 0);
  }

  /** Counts a batch: `firstWritten` new sessions written, `finished` sessions done in it. */
  batchTaken(firstWritten: number, finished: number, now: number): void {
    this.#newSince += firstWritten;
    const share = this.share();
    // Finished sessions per millisecond against the share per BUSY_FLUSH_MS.
    this.#busy = share > 0 && finished * BUSY_FLUSH_MS >= share * (now - this.#lastFlush);
    this.#lastFlush = now;
  }

  /** Whether a batch written at `now` should prune too (see the header). */
  pruneDue(now: number): boolean {
    return this.#newSince > 0 && (this.#newSince * 2 >= this.share() || now - this.#lastPrune >= PRUNE_EVERY_MS);
  }

  /** Deletes sessions beyond the newest `historySessions` and those older than `historyDays`. */
  async prune(): Promise<void> {
    const now = Date.now();
    this.#lastPrune = now;
    this.#newSince = 0;
    const { historySessions, historyDays } = this.opts;
    await this.#countNodes(now);
    try {
      await this.opts.store.sessionLog.prune({
        keep: historySessions,
        ...(historyDays > 0 ? { startedBefore: now - historyDays * DAY_MS } : {}),
      });
    } catch (err) {
      this.opts.log.warn({ err }, 'could not prune the session history');
    }
  }

  /** Counts the nodes alive on the store (multi-node backends; else 1). A failed read keeps the count. */
  async #countNodes(now: number): Promise<void> {
    const nodes = this.opts.store.nodes;
    if (!nodes) return;
    try {
      const alive = (await nodes.list()).filter((n) => now - n.heartbeatAt.getTime() <= NODE_ALIVE_MS).length;
      this.#nodes = Math.max(1, alive);
    } catch (err) {
      this.opts.log.warn({ err }, 'could not count the nodes sharing the session history');
    }
  }
}
