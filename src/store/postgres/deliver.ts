/**
 * `Store.deliver` on PostgreSQL: the concurrent deliveries of a node go through one group commit
 * (groupcommit.ts), in one transaction.
 *
 * Invariants:
 * - The batch locks first, for all its deliveries at once and in db.ts's order: the rows of the
 *   target accounts that have a limit (quota.ts `lockQuota`, ascending id), then the target mailboxes
 *   and each target account's INBOX (`lockMailboxesByName`, ascending id, with the usage of those
 *   accounts read in the same statement, after their lock). The rows
 *   stay locked to COMMIT; a delivery locks nothing else but its blob row (putBlob) and inserts its
 *   queue entry. So the writers of one mailbox on this node share one lock and one WAL flush instead of
 *   waiting in turn for each other's COMMIT, and the other nodes' writers wait for the batch as they
 *   would for one write.
 * - The quota is decided in the write transaction, under the lock, as before: a delivery sees the
 *   committed usage plus the bytes of the deliveries kept before it in its batch (their bytes are added
 *   to the batch's `used` when they are kept; a refused one adds nothing). A refusal (OverQuotaError,
 *   `DeliveryRequest.overQuota`) and a target without a mailbox are decided in JavaScript before the
 *   delivery sends a statement, so they need no savepoint.
 * - The plain deliveries (`bulkable`: into mailboxes only, a small blob not indexed now) that follow
 *   each other in the batch go in one statement (messages.ts `insertInBulk`), run by the first of them;
 *   their refusals are decided first, in order, as each would have been alone, and the others' turns
 *   then only hand out the outcomes. Not when the attempt isolates (db.ts txBatch: after a delivery
 *   failed past a statement every delivery runs alone, in its savepoint).
 * - UIDs are taken from the locked mailbox row in batch order (messages.ts `insertInBulk`,
 *   `insertMessage`), one MODSEQ per message: a failed attempt gives all its UIDs back (the batch runs
 *   again), a delivery rolled back to its savepoint gives its UIDs back before the next one takes them,
 *   so UIDs stay dense and ascending in commit order (batch order within a batch).
 * - A delivery is safe to run again (a retried batch runs all of them): it has no effect outside the
 *   transaction, and its quota state comes from the batch's `prepare`.
 */
import { normalizeMailboxName, splitFlags } from '../normalize.js';
import { addBytes, type PreparedBlob, prepareBlob, type QuotaAdditions } from '../rows.js';
import {
  type DeliveryRequest,
  type DeliveryResult,
  type MessageInfo,
  OverQuotaError,
  StoreNotFoundError,
} from '../types.js';
import type { PgContext, PgTx } from './db.js';
import { PgGroupCommitter } from './groupcommit.js';
import { lockMailboxesByName } from './mailboxes.js';
import { canInsertInBulk, insertBlobAndMessage, insertInBulk, insertMessage, putBlob } from './messages.js';
import { insertQueueEntry } from './queue.js';
import { type LockedQuota, lockQuota, overQuota } from './quota.js';

/** A delivery as the batch runs it (prepared outside the transaction). */
interface Delivery {
  request: DeliveryRequest;
  blob: PreparedBlob;
  internalDate: number;
  targets: { accountId: number; mailbox: string; flags: ReturnType<typeof splitFlags> }[];
}

/** What a batch's `prepare` locked, shared by its deliveries. */
interface Locked {
  quota: LockedQuota;
  /** `accountId \0 mailbox` → the locked mailbox that target gets (its own, else INBOX), if any. */
  mailboxes: Map<string, number | undefined>;
  /** The batch's deliveries, in order (to find the run of bulk ones that starts at a delivery). */
  jobs: readonly Delivery[];
  /** Whether deliveries may go in bulk (not when the attempt isolates each in a savepoint). */
  bulk: boolean;
  /** The outcomes of deliveries done (or refused) by a bulk statement run for an earlier delivery. */
  done: Map<Delivery, { ok: true; value: DeliveryResult } | { ok: false; error: unknown }>;
}

const key = (accountId: number, mailbox: string) => `${accountId}\u0000${mailbox}`;

export interface PgDeliveries {
  deliver(request: DeliveryRequest): Promise<DeliveryResult>;
  /** Runs what is queued; later deliveries are refused. */
  close(): Promise<void>;
  readonly stats: { batches: number; jobs: number };
}

export function pgDeliveries(ctx: PgContext, defaultQuotaBytes: number | null): PgDeliveries {
  const committer = new PgGroupCommitter<Delivery, Locked>(ctx, {
    async prepare(tx, jobs, isolated) {
      const all = jobs.flatMap((j) => j.targets);
      const quota = await lockQuota(
        tx,
        defaultQuotaBytes,
        all.map((t) => t.accountId),
        { readUsage: false },
      );
      const mailboxes = new Map<string, number | undefined>();
      const distinct = [...new Map(all.map((t) => [key(t.accountId, t.mailbox), t])).values()];
      // The quota accounts' usage comes with the mailbox locks (one statement, after the account locks).
      const { rows, used } = await lockMailboxesByName(tx, distinct, [...quota.limits.keys()]);
      for (const [id, bytes] of used) quota.used.set(id, bytes);
      distinct.forEach((t, i) => {
        mailboxes.set(key(t.accountId, t.mailbox), rows[i]?.id);
      });
      return { quota, mailboxes, jobs, bulk: !isolated, done: new Map() };
    },
    run: runDelivery,
  });

  /**
   * What is decided before any statement (no savepoint for a refusal): the quota (throws
   * OverQuotaError) and each target's locked mailbox (throws StoreNotFoundError).
   */
  function decide(job: Delivery, locked: Locked): { over: number[]; additions: QuotaAdditions; ids: number[] } {
    const { request, targets } = job;
    const size = request.raw.length;
    const additions: QuotaAdditions = new Map();
    for (const t of targets) addBytes(additions, t.accountId, size);
    const over = overQuota(locked.quota, additions);
    if (over.length > 0 && over.length === additions.size && request.overQuota !== 'accept') {
      throw new OverQuotaError(over, size);
    }
    const ids = targets.map((t) => {
      const id = locked.mailboxes.get(key(t.accountId, t.mailbox));
      if (id === undefined) throw new StoreNotFoundError(`no account ${t.accountId}`);
      return id;
    });
    return { over, additions, ids };
  }

  /** Counts a kept delivery's bytes for the deliveries after it in the batch. */
  function keep(locked: Locked, additions: QuotaAdditions): void {
    const { used } = locked.quota;
    for (const [accountId, bytes] of additions) {
      const now = used.get(accountId);
      if (now !== undefined) used.set(accountId, now + bytes);
    }
  }

  /** A delivery that can go in a bulk statement: into mailboxes only, a small blob not indexed now. */
  const bulkable = (job: Delivery) => !job.request.remote && job.targets.length > 0 && canInsertInBulk(job.blob);

  /**
   * Runs `job` and the bulkable deliveries right after it in one statement (insertInBulk): their
   * refusals decided in order first, as each would have been alone; the outcomes of the others are
   * kept for their own turn (which then sends nothing). A failure of the statement fails `job` after
   * a statement: the batch runs again, each delivery in its savepoint (db.ts txBatch).
   */
  async function runBulk(tx: PgTx, job: Delivery, locked: Locked): Promise<DeliveryResult> {
    // A refusal of `job` itself throws here, before any statement (the next delivery starts the bulk).
    const first = decide(job, locked);
    keep(locked, first.additions);
    const run: { job: Delivery; over: number[]; ids: number[]; additions: QuotaAdditions }[] = [{ job, ...first }];
    for (let i = locked.jobs.indexOf(job) + 1; i < locked.jobs.length && bulkable(locked.jobs[i]); i++) {
      const next = locked.jobs[i];
      try {
        const decided = decide(next, locked);
        keep(locked, decided.additions);
        run.push({ job: next, ...decided });
      } catch (error) {
        locked.done.set(next, { ok: false, error });
      }
    }
    const rows = run.flatMap((r) =>
      r.job.targets.map((t, i) => ({
        mailboxId: r.ids[i],
        blob: r.job.blob,
        flags: t.flags.bits,
        keywords: t.flags.keywords.join(' '),
        internalDate: r.job.internalDate,
      })),
    );
    // One message per row, in the rows' order (each delivery's targets in turn).
    const inserted = await insertInBulk(tx, rows);
    let j = 0;
    const results = run.map((r) => {
      const local = r.job.targets.map((t) => {
        const m = inserted[j++];
        return { accountId: t.accountId, mailboxId: m.mailboxId, uid: m.uid };
      });
      return { local, queueId: null, overQuota: r.over };
    });
    run.forEach((r, k) => {
      locked.done.set(r.job, { ok: true, value: results[k] });
    });
    return results[0];
  }

  async function runDelivery(tx: PgTx, job: Delivery, locked: Locked): Promise<DeliveryResult> {
    const done = locked.done.get(job);
    if (done) {
      if (!done.ok) throw done.error;
      return done.value;
    }
    if (locked.bulk && bulkable(job)) return runBulk(tx, job, locked);
    const { request, targets } = job;
    const size = request.raw.length;
    const { over, additions, ids } = decide(job, locked);
    const local: DeliveryResult['local'] = [];
    let blobId: number | null = null;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i];
      const row = {
        mailboxId: ids[i],
        flags: t.flags.bits,
        keywords: t.flags.keywords.join(' '),
        internalDate: job.internalDate,
      };
      // The blob goes in with the first copy (one statement), the other copies reference it.
      const message: MessageInfo =
        blobId === null
          ? await insertBlobAndMessage(tx, job.blob, row)
          : await insertMessage(tx, { ...row, blobId, size });
      blobId = message.blobId;
      local.push({ accountId: t.accountId, mailboxId: ids[i], uid: message.uid });
    }
    if (blobId === null) blobId = await putBlob(tx, job.blob);
    const queueId = request.remote ? await insertQueueEntry(tx, blobId, request.remote, Date.now()) : null;
    // Kept (unless the whole batch fails, which makes a new `prepare`): later jobs count these bytes.
    keep(locked, additions);
    return { local, queueId, overQuota: over };
  }

  return {
    stats: committer.stats,
    deliver(request) {
      if (request.local.length === 0 && !request.remote) {
        return Promise.resolve({ local: [], queueId: null, overQuota: [] });
      }
      return committer.run<DeliveryResult>({
        request,
        blob: prepareBlob(request.raw, request.meta, ctx.indexAtWrite && request.local.length > 0),
        internalDate: (request.internalDate ?? new Date()).getTime(),
        targets: request.local.map((t) => ({
          accountId: t.accountId,
          mailbox: normalizeMailboxName(t.mailbox),
          flags: splitFlags(t.flags ?? []),
        })),
      });
    },
    close: () => committer.close(),
  };
}
