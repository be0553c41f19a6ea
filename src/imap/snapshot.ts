/**
 * The shared, immutable snapshot of a mailbox's messages that selected views start from
 * (src/imap/selected.ts), and the per-process cache that lets every session selecting the same
 * mailbox share one (in spirit Dovecot's index: one compact copy, per-session changes on top).
 *
 * Invariants:
 * - A snapshot is columns in ascending UID order (UIDs in a Uint32Array, modseqs, sizes, internal dates
 *   and blob ids in Float64Arrays, flags as an index into a table of frozen flag lists holding only the
 *   lists some message has, in order of first use by UID). Nothing in it changes after it is built, so
 *   any number of sessions can hold it.
 * - `asOf` is a modseq such that every change to the mailbox stamped at or below it is in the snapshot
 *   (it may hold later ones too). Every write that adds a message or changes its flags stamps the
 *   message with a new modseq, and every removal is recorded with its modseq (store/types.ts
 *   `changedSince`, `expungedSince`), so `asOf` plus those two reads bring a snapshot up to date:
 *   the tables are the truth, the cache is only a copy (several nodes on one PostgreSQL store each keep
 *   their own and stay right).
 * - The cache keeps, per store and mailbox (id and UIDVALIDITY), the newest snapshot it was given,
 *   strongly for the last few mailboxes used and weakly for the rest: a snapshot lives as long as a
 *   session holds it, so sessions on one mailbox share it and a closed mailbox costs nothing for long.
 */
import type { Mailbox, MessageColumns, MessageInfo, Store } from '../store/types.js';

const EMPTY_FLAGS: readonly string[] = Object.freeze([]);
/** Empty columns (a typed array of length 0 cannot change). */
const NO_U32 = new Uint32Array(0);
const NO_F64 = new Float64Array(0);

/** One message's values, as the snapshot builders take them. */
export interface SnapshotRow {
  uid: number;
  modseq: number;
  size: number;
  internalDate: number;
  blobId: number;
  flags: readonly string[];
}

export class MailboxSnapshot {
  /** The largest modseq of a message in the snapshot (0 when empty). */
  readonly maxModseq: number;
  #firstUnseen = -2;

  private constructor(
    readonly mailboxId: number,
    readonly uidValidity: number,
    /** Every change stamped at or below this modseq is in the snapshot. */
    readonly asOf: number,
    readonly uids: Uint32Array,
    readonly modseqs: Float64Array,
    readonly sizes: Float64Array,
    readonly internalDates: Float64Array,
    readonly blobIds: Float64Array,
    readonly flagIds: Uint32Array,
    /** The distinct flag lists in use, frozen, in order of first use by UID. */
    readonly flagLists: readonly (readonly string[])[],
  ) {
    let max = 0;
    for (let k = 0; k < modseqs.length; k++) if (modseqs[k] > max) max = modseqs[k];
    this.maxModseq = max;
  }

  /** A snapshot of what `listColumns` read after the mailbox row said `asOf`. */
  static fromColumns(
    mailbox: Pick<Mailbox, 'id' | 'uidValidity'>,
    asOf: number,
    c: MessageColumns,
    copy = true,
  ): MailboxSnapshot {
    const lists = c.flagLists.map((l) =>
      l.length === 0 ? EMPTY_FLAGS : Object.isFrozen(l) ? l : Object.freeze([...l]),
    );
    // Copied (unless the caller made them for this snapshot), so the snapshot holds exactly its own
    // bytes: a store's arrays may be views of larger ones.
    const own = <T extends Uint32Array | Float64Array>(a: T): T => (copy ? (a.slice() as T) : a);
    // An empty mailbox (most of them, for sessions that sit in IDLE) shares one set of empty columns.
    if (c.uids.length === 0) {
      return new MailboxSnapshot(
        mailbox.id,
        mailbox.uidValidity,
        asOf,
        NO_U32,
        NO_F64,
        NO_F64,
        NO_F64,
        NO_F64,
        NO_U32,
        [],
      );
    }
    return new MailboxSnapshot(
      mailbox.id,
      mailbox.uidValidity,
      asOf,
      own(c.uids),
      own(c.modseqs),
      own(c.sizes),
      own(c.internalDates),
      own(c.blobIds),
      own(c.flagIds),
      lists,
    );
  }

  /** A snapshot of `rows` (ascending UID), e.g. a session's view compacted. */
  static fromRows(
    mailbox: Pick<Mailbox, 'id' | 'uidValidity'>,
    asOf: number,
    count: number,
    rowAt: (k: number) => SnapshotRow,
  ): MailboxSnapshot {
    const b = new Builder(count);
    for (let k = 0; k < count; k++) b.push(rowAt(k));
    return b.done(mailbox, asOf);
  }

  /** A snapshot of a `MessageInfo` list (ascending UID). */
  static fromInfos(mailbox: Pick<Mailbox, 'id' | 'uidValidity'>, asOf: number, infos: MessageInfo[]): MailboxSnapshot {
    return MailboxSnapshot.fromRows(mailbox, asOf, infos.length, (k) => infoRow(infos[k]));
  }

  get count(): number {
    return this.uids.length;
  }

  get maxUid(): number {
    return this.uids.length ? this.uids[this.uids.length - 1] : 0;
  }

  flagsAt(k: number): readonly string[] {
    return this.flagLists[this.flagIds[k]];
  }

  row(k: number): SnapshotRow {
    return {
      uid: this.uids[k],
      modseq: this.modseqs[k],
      size: this.sizes[k],
      internalDate: this.internalDates[k],
      blobId: this.blobIds[k],
      flags: this.flagsAt(k),
    };
  }

  /** The index of the first UID ≥ `uid` (count when none). */
  lowerBound(uid: number): number {
    let lo = 0;
    let hi = this.uids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.uids[mid] < uid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The index of `uid`, or -1. */
  indexOfUid(uid: number): number {
    const k = this.lowerBound(uid);
    return k < this.uids.length && this.uids[k] === uid ? k : -1;
  }

  /** The index of the first message without \Seen, or -1 (SELECT's UNSEEN, RFC 3501 §7.1). */
  firstUnseen(): number {
    if (this.#firstUnseen === -2) {
      const unseen = this.flagLists.map((l) => !l.includes('\\Seen'));
      this.#firstUnseen = -1;
      for (let k = 0; k < this.flagIds.length; k++) {
        if (unseen[this.flagIds[k]]) {
          this.#firstUnseen = k;
          break;
        }
      }
    }
    return this.#firstUnseen;
  }

  /**
   * This snapshot brought up to `asOf`: `changed` are the messages stamped after `this.asOf` (new ones
   * and flag changes, ascending UID), `gone` the UIDs removed since. Applying a change twice is
   * harmless, so reads that overlap later changes are fine.
   */
  apply(asOf: number, changed: readonly MessageInfo[], gone: readonly number[]): MailboxSnapshot {
    const next = Math.max(asOf, this.asOf);
    if (changed.length === 0 && gone.length === 0) return this.#withAsOf(next);
    const goneSet = new Set(gone);
    // The changes in UID order, each once; a UID both changed and gone is gone.
    const edits: { uid: number; info: MessageInfo | null }[] = [];
    for (const uid of goneSet) edits.push({ uid, info: null });
    for (const info of changed) if (!goneSet.has(info.uid)) edits.push({ uid: info.uid, info });
    edits.sort((a, b) => a.uid - b.uid);
    let size = this.count;
    for (const e of edits) {
      const present = this.indexOfUid(e.uid) >= 0;
      if (e.info === null && present) size--;
      else if (e.info !== null && !present) size++;
    }
    const out = new Builder(size);
    // Runs of unchanged messages are copied whole; the edits go in between.
    let k = 0;
    for (const e of edits) {
      const at = this.lowerBound(e.uid);
      out.copyRun(this, k, at);
      k = at;
      if (k < this.count && this.uids[k] === e.uid) k++;
      if (e.info) out.push(infoRow(e.info));
    }
    out.copyRun(this, k, this.count);
    return out.done(this, next);
  }

  /**
   * A new snapshot from this one: without the messages at `removed` (ascending indices), with the
   * flags and modseqs in `changed` (by index), then the `appended` rows (UIDs above this one's).
   */
  derive(
    asOf: number,
    removed: readonly number[],
    changed: ReadonlyMap<number, { flags: readonly string[]; modseq: number }>,
    appended: readonly SnapshotRow[],
  ): MailboxSnapshot {
    const b = new Builder(this.count - removed.length + appended.length);
    let r = 0;
    for (let k = 0; k < this.count; k++) {
      if (r < removed.length && removed[r] === k) {
        r++;
        continue;
      }
      const c = changed.size ? changed.get(k) : undefined;
      if (c) b.push({ ...this.row(k), flags: c.flags, modseq: c.modseq });
      else b.pushFrom(this, k);
    }
    for (const a of appended) b.push(a);
    return b.done(this, asOf);
  }

  #withAsOf(asOf: number): MailboxSnapshot {
    if (asOf === this.asOf) return this;
    const s = new MailboxSnapshot(
      this.mailboxId,
      this.uidValidity,
      asOf,
      this.uids,
      this.modseqs,
      this.sizes,
      this.internalDates,
      this.blobIds,
      this.flagIds,
      this.flagLists,
    );
    s.#firstUnseen = this.#firstUnseen;
    return s;
  }

  /** Bytes held by the columns (for the figures in docs/benchmarks.md and the tests). */
  get byteLength(): number {
    return (
      this.uids.byteLength +
      this.modseqs.byteLength +
      this.sizes.byteLength +
      this.internalDates.byteLength +
      this.blobIds.byteLength +
      this.flagIds.byteLength
    );
  }
}

function infoRow(info: MessageInfo): SnapshotRow {
  return {
    uid: info.uid,
    modseq: info.modseq,
    size: info.size,
    internalDate: info.internalDate.getTime(),
    blobId: info.blobId,
    flags: info.flags,
  };
}

/** Fills the columns of a new snapshot, interning flag lists in order of first use. */
class Builder {
  readonly uids: Uint32Array;
  readonly modseqs: Float64Array;
  readonly sizes: Float64Array;
  readonly dates: Float64Array;
  readonly blobIds: Float64Array;
  readonly flagIds: Uint32Array;
  readonly lists: (readonly string[])[] = [];
  readonly #byKey = new Map<string, number>();
  /** The new id of each flag list of the snapshot copied from (`pushFrom`), -1 until used. */
  #fromIds: Int32Array | null = null;
  #from: MailboxSnapshot | null = null;
  n = 0;

  constructor(capacity: number) {
    this.uids = new Uint32Array(capacity);
    this.modseqs = new Float64Array(capacity);
    this.sizes = new Float64Array(capacity);
    this.dates = new Float64Array(capacity);
    this.blobIds = new Float64Array(capacity);
    this.flagIds = new Uint32Array(capacity);
  }

  #intern(flags: readonly string[]): number {
    // Flags are atoms: they contain no space, so the joined list identifies it (and keeps its order).
    const key = flags.join(' ');
    let id = this.#byKey.get(key);
    if (id === undefined) {
      id = this.lists.length;
      this.lists.push(flags.length === 0 ? EMPTY_FLAGS : Object.isFrozen(flags) ? flags : Object.freeze([...flags]));
      this.#byKey.set(key, id);
    }
    return id;
  }

  push(r: SnapshotRow): void {
    const k = this.n++;
    this.uids[k] = r.uid;
    this.modseqs[k] = r.modseq;
    this.sizes[k] = r.size;
    this.dates[k] = r.internalDate;
    this.blobIds[k] = r.blobId;
    this.flagIds[k] = this.#intern(r.flags);
  }

  /** The new id of flag list `old` of `s` (the snapshot copied from), interned on first use. */
  #fromId(s: MailboxSnapshot, old: number): number {
    if (this.#from !== s) {
      this.#from = s;
      this.#fromIds = new Int32Array(s.flagLists.length).fill(-1);
    }
    const ids = this.#fromIds as Int32Array;
    if (ids[old] === -1) ids[old] = this.#intern(s.flagLists[old]);
    return ids[old];
  }

  /** Copies message `k` of `s` without making a row object. */
  pushFrom(s: MailboxSnapshot, k: number): void {
    const n = this.n++;
    this.uids[n] = s.uids[k];
    this.modseqs[n] = s.modseqs[k];
    this.sizes[n] = s.sizes[k];
    this.dates[n] = s.internalDates[k];
    this.blobIds[n] = s.blobIds[k];
    this.flagIds[n] = this.#fromId(s, s.flagIds[k]);
  }

  /** Copies messages [from, to) of `s`: the number columns as blocks, the flag ids one by one. */
  copyRun(s: MailboxSnapshot, from: number, to: number): void {
    if (to <= from) return;
    const n = this.n;
    this.uids.set(s.uids.subarray(from, to), n);
    this.modseqs.set(s.modseqs.subarray(from, to), n);
    this.sizes.set(s.sizes.subarray(from, to), n);
    this.dates.set(s.internalDates.subarray(from, to), n);
    this.blobIds.set(s.blobIds.subarray(from, to), n);
    for (let k = from; k < to; k++) this.flagIds[n + k - from] = this.#fromId(s, s.flagIds[k]);
    this.n = n + to - from;
  }

  done(mailbox: { id: number; uidValidity: number } | MailboxSnapshot, asOf: number): MailboxSnapshot {
    const id = mailbox instanceof MailboxSnapshot ? mailbox.mailboxId : mailbox.id;
    // Filled to capacity, the columns are exactly the snapshot's own and need no copy.
    const full = this.n === this.uids.length;
    return MailboxSnapshot.fromColumns(
      { id, uidValidity: mailbox.uidValidity },
      asOf,
      {
        uids: this.uids.subarray(0, this.n),
        modseqs: this.modseqs.subarray(0, this.n),
        sizes: this.sizes.subarray(0, this.n),
        internalDates: this.dates.subarray(0, this.n),
        blobIds: this.blobIds.subarray(0, this.n),
        flagIds: this.flagIds.subarray(0, this.n),
        flagLists: this.lists as string[][],
      },
      !full,
    );
  }
}

/** How many snapshots the cache keeps strongly, newest use first (the rest only while in use). */
const KEEP_STRONG = 4;

/**
 * The newest snapshot of each mailbox, per store (one process serves every session on it). See the
 * header for what is kept and why it is always right to use.
 */
export class SnapshotCache {
  static #byStore = new WeakMap<object, SnapshotCache>();

  /** The cache shared by every session on one store. */
  static of(store: object): SnapshotCache {
    let c = SnapshotCache.#byStore.get(store);
    if (!c) {
      c = new SnapshotCache();
      SnapshotCache.#byStore.set(store, c);
    }
    return c;
  }

  readonly #weak = new Map<number, WeakRef<MailboxSnapshot>>();
  readonly #strong: MailboxSnapshot[] = [];
  /** Reads under way, by mailbox id: the modseq each will be as of at least. */
  readonly #loading = new Map<number, { uidValidity: number; asOf: number; done: Promise<MailboxSnapshot> }>();

  /** The cached snapshot of the mailbox (right id and UIDVALIDITY), or null. */
  get(mailbox: Pick<Mailbox, 'id' | 'uidValidity'>): MailboxSnapshot | null {
    const s = this.#weak.get(mailbox.id)?.deref();
    if (!s) {
      this.#weak.delete(mailbox.id);
      return null;
    }
    return s.uidValidity === mailbox.uidValidity ? s : null;
  }

  /** Keeps `s` as the mailbox's snapshot unless a newer one is kept already. */
  put(s: MailboxSnapshot): void {
    const current = this.#weak.get(s.mailboxId)?.deref();
    // One as new already kept stays (the sessions holding it keep sharing it).
    if (!current || current.uidValidity !== s.uidValidity || current.asOf < s.asOf) {
      this.#weak.set(s.mailboxId, new WeakRef(s));
      const at = this.#strong.findIndex((x) => x.mailboxId === s.mailboxId);
      if (at >= 0) this.#strong.splice(at, 1);
      this.#strong.unshift(s);
      if (this.#strong.length > KEEP_STRONG) this.#strong.length = KEEP_STRONG;
    }
    if (this.#weak.size > 256) for (const [id, ref] of this.#weak) if (!ref.deref()) this.#weak.delete(id);
  }

  /**
   * The mailbox's messages as of at least `row.highestModseq`, `row` having been read after the caller
   * subscribed to its changes (src/imap/commands/select.ts): the cached snapshot when it is that new,
   * brought up to date by `changedSince`/`expungedSince` when older, read whole when there is none.
   */
  async load(store: Store, row: Mailbox): Promise<MailboxSnapshot> {
    const cached = this.get(row);
    if (cached && cached.asOf >= row.highestModseq) return cached;
    // Several sessions selecting the mailbox at once (a client opening its connections after a restart)
    // share one read: a load under way for at least this modseq serves this one too.
    const loading = this.#loading.get(row.id);
    if (loading && loading.uidValidity === row.uidValidity && loading.asOf >= row.highestModseq) {
      const s = await loading.done;
      return this.get(row) ?? s;
    }
    const done = this.#read(store, row, cached);
    const entry = { uidValidity: row.uidValidity, asOf: row.highestModseq, done };
    this.#loading.set(row.id, entry);
    try {
      const s = await done;
      this.put(s);
      return this.get(row) ?? s;
    } finally {
      if (this.#loading.get(row.id) === entry) this.#loading.delete(row.id);
    }
  }

  async #read(store: Store, row: Mailbox, cached: MailboxSnapshot | null): Promise<MailboxSnapshot> {
    // Many changes (a COPY or MOVE of a big mailbox into this one, a STORE 1:*) are read faster whole, as
    // columns, than as one object per changed message (about 4× per message); a few are cheaper to apply.
    if (cached && (await store.messages.countChangedSince(row.id, cached.asOf)) * 4 <= cached.count + 1000) {
      // Changed first, then expunged: a message removed between the two reads is then in the second.
      const changed = await store.messages.changedSince(row.id, cached.asOf);
      const gone = await store.messages.expungedSince(row.id, cached.asOf);
      return cached.apply(row.highestModseq, changed, gone);
    }
    return MailboxSnapshot.fromColumns(row, row.highestModseq, await store.messages.listColumns(row.id));
  }
}
