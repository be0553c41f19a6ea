/**
 * The cross-node change feed: `ChangeFeed` for the PostgreSQL backend. Every node sees every durable
 * change of the mailboxes its sessions watch, whichever node made it.
 *
 * Invariants:
 * - The tables are the truth, NOTIFY is a hint. For each watched mailbox the feed remembers the
 *   highest MODSEQ and UIDNEXT it has published; on a hint (or a poke after a local commit, or a
 *   periodic poll, or a reconnect) it reads what changed above that MODSEQ from `messages` and
 *   `expunged` and publishes it on the node's ChangeBus in MODSEQ order. So a lost notification
 *   (a dropped LISTEN connection, a node that missed a hint) only delays a change until the next read,
 *   and nothing is published twice by the feed.
 * - MODSEQs of one mailbox are handed out under its row lock, so they are in commit order: once the
 *   feed has read up to M, no change at or below M can still commit.
 * - A message at or above the remembered UIDNEXT is `exists`; below it, `flags`. Expunged rows above
 *   the remembered MODSEQ give `expunge` (of UIDs below the remembered UIDNEXT: a message that came and
 *   went between two reads was never announced and is skipped).
 * - A watched mailbox that no longer exists (deleted, alone or with its account) is announced as one
 *   `expunge` of every UID below the remembered UIDNEXT, and is watched no more.
 * - Subscribing to a mailbox nobody on this node watched starts with reading its baseline (HIGHESTMODSEQ
 *   and UIDNEXT); `ready(mailboxId)` resolves once that is done. A session subscribes first, awaits
 *   `ready`, then reads its view: every change committed after the baseline reaches it, and it drops
 *   those its view already holds (src/imap/selected.ts compares MODSEQs and UIDs).
 * - The LISTEN connection is dedicated (never pooled), checked by a heartbeat query; when it drops the
 *   feed reconnects with a backoff and reads every watched mailbox once connected again.
 * - Hints go out after COMMIT, batched per event-loop turn into one NOTIFY (payload: the node name and
 *   the mailbox ids, well under PostgreSQL's 8000-byte limit), on a pooled connection outside any
 *   write transaction (NOTIFY inside a write transaction takes a cluster-wide lock at commit), in a
 *   transaction of its own with `synchronous_commit` off: a NOTIFY gives its transaction an xid, so
 *   its commit would wait for a WAL flush like a write's; a hint needs no durability (the change it
 *   names was flushed by its own commit), and the listeners get it at commit, not at the flush.
 * - Other shared state uses the same channel for its own hints (`hint(topic)`, payload `{n, t}`: the
 *   ACME certificate, certificates.ts), sent the same way; a topic's listeners run on another node's
 *   hint and after a reconnect (a hint may have been missed), never for this node's own hints.
 */
import pg from 'pg';
import { ChangeBus } from '../changes.js';
import { joinFlags } from '../normalize.js';
import { keywordList } from '../rows.js';
import type { ChangeFeed, MailboxChange } from '../types.js';
import { connectionConfig, type PgContext } from './db.js';

interface Watched {
  /** Published up to here; -1 while the baseline is being read. */
  modseq: number;
  uidNext: number;
  /** The baseline read (resolves when `modseq` is known). */
  ready: Promise<void>;
  /** A read is running; `again` asks for one more after it. */
  reading: boolean;
  again: boolean;
  /** Callers waiting for the read `again` asks for (resolved when it has published, or is dropped). */
  waiters: (() => void)[];
}

/** The channel of a schema's hints (one database may hold several postbode schemas, as tests do). */
export function channelOf(schema: string): string {
  return `postbode_${schema}`.replace(/[^a-zA-Z0-9_]/g, '_').slice(0, 63);
}

export interface PgChangeFeedOptions {
  /** Safety net: every watched mailbox is read this often even without a hint (default 10 s). */
  pollMs?: number;
  /** Heartbeat of the LISTEN connection (default 5 s). */
  heartbeatMs?: number;
  /** Called with a problem of the LISTEN connection (logged by the server). */
  onError?: (error: unknown) => void;
}

export class PgChangeFeed implements ChangeFeed {
  readonly bus = new ChangeBus();
  readonly #ctx: PgContext;
  readonly #watched = new Map<number, Watched>();
  readonly #channel: string;
  readonly #opts: Required<Omit<PgChangeFeedOptions, 'onError'>> & Pick<PgChangeFeedOptions, 'onError'>;
  #listener: pg.Client | null = null;
  #connecting: Promise<void> | null = null;
  readonly #topics = new Map<string, Set<() => void>>();
  #outgoing = new Set<number>();
  #flushScheduled = false;
  #timers: NodeJS.Timeout[] = [];
  #closed = false;
  /** Counters for tests and `postbode status`. */
  readonly stats = { hintsSent: 0, hintsReceived: 0, reads: 0, reconnects: 0 };

  constructor(ctx: PgContext, opts: PgChangeFeedOptions = {}) {
    this.#ctx = ctx;
    this.#channel = channelOf(ctx.schema);
    this.#opts = { pollMs: opts.pollMs ?? 10_000, heartbeatMs: opts.heartbeatMs ?? 5_000, onError: opts.onError };
  }

  /** Connects the LISTEN connection and starts the poll and heartbeat timers. */
  async start(): Promise<void> {
    await this.#connect();
    const poll = setInterval(() => {
      for (const id of this.#watched.keys()) void this.#read(id);
    }, this.#opts.pollMs);
    const beat = setInterval(() => void this.#heartbeat(), this.#opts.heartbeatMs);
    poll.unref();
    beat.unref();
    this.#timers.push(poll, beat);
  }

  subscribe(mailboxId: number, listener: (change: MailboxChange) => void): () => void {
    if (!this.#watched.has(mailboxId)) {
      const w: Watched = {
        modseq: -1,
        uidNext: 0,
        ready: Promise.resolve(),
        reading: false,
        again: false,
        waiters: [],
      };
      w.ready = this.#baseline(mailboxId, w);
      this.#watched.set(mailboxId, w);
    }
    const unsubscribe = this.bus.subscribe(mailboxId, listener);
    return () => {
      unsubscribe();
      if (this.bus.listenerCount(mailboxId) === 0) this.#watched.delete(mailboxId);
    };
  }

  /** Resolves once changes of the mailbox committed from now on will reach its subscribers. */
  ready(mailboxId: number): Promise<void> {
    return this.#watched.get(mailboxId)?.ready ?? Promise.resolve();
  }

  /**
   * After a local COMMIT: read the changed mailboxes now, and hint the other nodes. The mailboxes of one
   * commit are read one after the other, in the order of its changes, so their events are published in
   * that order too (a MOVE's `exists` in the target before its `expunge` in the source). Resolves once
   * they are published (db.ts resolves the write after that); never rejects.
   */
  committed(changes: readonly MailboxChange[]): Promise<void> {
    const ids: number[] = [];
    for (const change of changes) {
      this.#outgoing.add(change.mailboxId);
      if (this.#watched.has(change.mailboxId) && !ids.includes(change.mailboxId)) ids.push(change.mailboxId);
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => void this.#sendHints());
    }
    return (async () => {
      for (const id of ids) await this.#read(id);
    })();
  }

  async #baseline(mailboxId: number, w: Watched): Promise<void> {
    try {
      const row = await this.#ctx.one<{ highestmodseq: number; uidnext: number }>(
        'SELECT highestmodseq, uidnext FROM mailboxes WHERE id = $1',
        [mailboxId],
      );
      w.modseq = row?.highestmodseq ?? 0;
      w.uidNext = row?.uidnext ?? 1;
    } catch (error) {
      // Without a baseline nothing can be published safely; start from 0 and let the next read catch up
      // from the beginning of the mailbox's history (the session drops what its view holds).
      this.#opts.onError?.(error);
      w.modseq = 0;
      w.uidNext = 1;
    }
    if (!w.again) return;
    if (this.#watched.get(mailboxId) === w) void this.#read(mailboxId);
    else this.#release(w);
  }

  /** Resolves the waiters of a mailbox no longer watched (nothing will be read for them). */
  #release(w: Watched): void {
    const waiters = w.waiters;
    w.waiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * Reads and publishes the changes of a watched mailbox above what was published (see the header).
   * Resolves once a read that started after this call has published (or failed, or the mailbox is no
   * longer watched); never rejects.
   */
  #read(mailboxId: number): Promise<void> {
    const w = this.#watched.get(mailboxId);
    if (!w) return Promise.resolve();
    if (w.reading || w.modseq < 0) {
      w.again = true;
      return new Promise((resolve) => w.waiters.push(resolve));
    }
    w.reading = true;
    w.again = false;
    const waiters = w.waiters;
    w.waiters = [];
    return this.#readOnce(mailboxId, w).finally(() => {
      w.reading = false;
      for (const resolve of waiters) resolve();
      if (!w.again) return;
      if (this.#watched.get(mailboxId) === w) void this.#read(mailboxId);
      else this.#release(w);
    });
  }

  async #readOnce(mailboxId: number, w: Watched): Promise<void> {
    this.stats.reads++;
    let rows: { uid: number; flags: number; keywords: string; modseq: number; gone: boolean | null }[];
    try {
      // One statement: one snapshot of the three tables. The first row tells whether the mailbox still
      // exists (gone = null); a deleted mailbox took its messages and expunged rows with it (cascade).
      rows = await this.#ctx.rows(
        `SELECT 0 AS uid, 0 AS flags, '' AS keywords, 0 AS modseq, NULL::boolean AS gone FROM mailboxes WHERE id = $1
         UNION ALL
         SELECT uid, flags, keywords, modseq, false FROM messages WHERE mailbox_id = $1 AND modseq > $2
         UNION ALL
         SELECT uid, 0, '', modseq, true FROM expunged WHERE mailbox_id = $1 AND modseq > $2
         ORDER BY modseq, uid`,
        [mailboxId, w.modseq],
      );
    } catch (error) {
      this.#opts.onError?.(error);
      w.again = false;
      return;
    }
    if (this.#watched.get(mailboxId) !== w) return;
    if (rows.length === 0 || rows[0].gone !== null) {
      // The mailbox was deleted (with its account, or by DELETE/RENAME elsewhere): every message it had
      // is expunged. The feed does not know which UIDs a session holds, so it names all below UIDNEXT;
      // a session announces those it has (selected.ts).
      this.#watched.delete(mailboxId);
      if (w.uidNext > 1) {
        const uids = Array.from({ length: w.uidNext - 1 }, (_, i) => i + 1);
        this.bus.publish({ kind: 'expunge', mailboxId, uids, modseq: w.modseq + 1 });
      }
      return;
    }
    rows.shift();
    const changes: MailboxChange[] = [];
    let uidNext = w.uidNext;
    for (const row of rows) {
      const last = changes[changes.length - 1];
      if (row.gone === true) {
        if (row.uid >= w.uidNext) continue;
        if (last?.kind === 'expunge' && last.modseq === row.modseq) last.uids.push(row.uid);
        else changes.push({ kind: 'expunge', mailboxId, uids: [row.uid], modseq: row.modseq });
      } else if (row.uid >= w.uidNext) {
        changes.push({ kind: 'exists', mailboxId, uid: row.uid, modseq: row.modseq });
        if (row.uid >= uidNext) uidNext = row.uid + 1;
      } else {
        const keywords = keywordList(row.keywords);
        changes.push({
          kind: 'flags',
          mailboxId,
          uid: row.uid,
          flags: joinFlags(row.flags, keywords),
          modseq: row.modseq,
        });
      }
      if (row.modseq > w.modseq) w.modseq = row.modseq;
    }
    // Messages that came and went between two reads still moved UIDNEXT past them.
    for (const row of rows) if (row.gone === true && row.uid >= uidNext) uidNext = row.uid + 1;
    w.uidNext = uidNext;
    for (const change of changes) this.bus.publish(change);
  }

  /** Tells the other nodes that `topic` changed; a lost hint is caught up by their polls. Never rejects. */
  async hint(topic: string): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#notify(JSON.stringify({ n: this.#ctx.node, t: topic }));
      this.stats.hintsSent++;
    } catch (error) {
      this.#opts.onError?.(error);
    }
  }

  /** Calls `fn` on another node's hint of `topic` and after a reconnect; returns the unsubscribe function. */
  onHint(topic: string, fn: () => void): () => void {
    let fns = this.#topics.get(topic);
    if (!fns) {
      fns = new Set();
      this.#topics.set(topic, fns);
    }
    fns.add(fn);
    return () => {
      fns.delete(fn);
    };
  }

  #runTopic(topic: string): void {
    for (const fn of this.#topics.get(topic) ?? []) {
      try {
        fn();
      } catch (error) {
        this.#opts.onError?.(error);
      }
    }
  }

  /**
   * Sends one NOTIFY on the channel. One simple query: its statements form one implicit transaction,
   * which SET LOCAL lets commit without waiting for the WAL flush (see the header); an error rolls it
   * back whole.
   */
  async #notify(payload: string): Promise<void> {
    await this.#ctx.run(
      `SET LOCAL synchronous_commit TO off; SELECT pg_notify(${pg.escapeLiteral(this.#channel)}, ${pg.escapeLiteral(payload)})`,
    );
  }

  async #sendHints(): Promise<void> {
    this.#flushScheduled = false;
    if (this.#outgoing.size === 0 || this.#closed) return;
    const ids = [...this.#outgoing];
    this.#outgoing.clear();
    // Several NOTIFYs when the list is long (payload < 8000 bytes).
    for (let i = 0; i < ids.length; i += 500) {
      const payload = JSON.stringify({ n: this.#ctx.node, m: ids.slice(i, i + 500) });
      try {
        await this.#notify(payload);
        this.stats.hintsSent++;
      } catch (error) {
        // The other nodes catch up at their next poll.
        this.#opts.onError?.(error);
      }
    }
  }

  #onNotification = (message: pg.Notification): void => {
    if (message.channel !== this.#channel || !message.payload) return;
    this.stats.hintsReceived++;
    let hint: { n?: unknown; m?: unknown; t?: unknown };
    try {
      hint = JSON.parse(message.payload) as { n?: unknown; m?: unknown; t?: unknown };
    } catch {
      return;
    }
    if (hint.n === this.#ctx.node) return;
    if (typeof hint.t === 'string') this.#runTopic(hint.t);
    if (!Array.isArray(hint.m)) return;
    for (const id of hint.m) if (typeof id === 'number') void this.#read(id);
  };

  async #connect(): Promise<void> {
    if (this.#connecting) return this.#connecting;
    this.#connecting = (async () => {
      for (let attempt = 0; !this.#closed; attempt++) {
        const client = new pg.Client(connectionConfig(this.#ctx.connection));
        client.on('error', (error) => this.#lost(client, error));
        client.on('end', () => this.#lost(client, null));
        client.on('notification', this.#onNotification);
        try {
          await client.connect();
          await client.query(`LISTEN "${this.#channel}"`);
          this.#listener = client;
          if (attempt > 0 || this.stats.reconnects > 0) {
            // Anything may have been missed while not listening: read every watched mailbox.
            for (const id of this.#watched.keys()) void this.#read(id);
            for (const topic of this.#topics.keys()) this.#runTopic(topic);
          }
          return;
        } catch (error) {
          this.#opts.onError?.(error);
          client.removeAllListeners();
          client.on('error', () => {});
          await client.end().catch(() => {});
          await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** attempt)));
        }
      }
    })().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  #lost(client: pg.Client, error: unknown): void {
    if (this.#listener !== client) return;
    this.#listener = null;
    client.removeAllListeners();
    client.on('error', () => {});
    void client.end().catch(() => {});
    if (this.#closed) return;
    if (error) this.#opts.onError?.(error);
    this.stats.reconnects++;
    void this.#connect();
  }

  async #heartbeat(): Promise<void> {
    const client = this.#listener;
    if (!client) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('LISTEN connection heartbeat timed out')), this.#opts.heartbeatMs);
        }),
      ]);
    } catch (error) {
      this.#lost(client, error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Number of subscriptions of a mailbox on this node (tests). */
  listenerCount(mailboxId: number): number {
    return this.bus.listenerCount(mailboxId);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    const client = this.#listener;
    this.#listener = null;
    if (client) {
      client.removeAllListeners();
      client.on('error', () => {});
      await client.end().catch(() => {});
    }
  }
}
