/**
 * The selected mailbox as one session sees it (RFC 9051 §2.3.1): message sequence numbers ↔ UIDs,
 * each message's flags and modseq, and the changes made by others that the session has not been told
 * about yet.
 *
 * Invariants:
 * - The view is a shared, immutable snapshot of the mailbox (snapshot.ts, one per mailbox for all the
 *   sessions of the process) plus this session's small overlay: the snapshot's messages it no longer
 *   has (`#removed`), their flags and modseqs changed since (`#changed`), and the messages announced
 *   after it (`#appended`). View index i (sequence number i + 1) is the i-th snapshot message not
 *   removed, then the appended ones: ascending UIDs throughout. When the overlay grows past
 *   `COMPACT_AT` entries, the view is rebuilt into a snapshot of its own and the overlay starts empty.
 * - The view changes only when the session announces the change (EXISTS, EXPUNGE/VANISHED), never
 *   behind the client's back, so the numbers a client sees stay valid between announcements
 *   (RFC 9051 §7.4.1).
 * - Changes from the store's feed are queued in `#pending` as they arrive (from any session, POP3,
 *   SMTP delivery) and applied by `announce()` at the points the protocol allows.
 * - The session's own changes are answered by its command; `forget()` drops their echo from the feed so
 *   the client is not told twice (e.g. `STORE ... .SILENT` stays silent).
 * - Commands read the view through its accessors (`exists`, `uidAt`, `flagsAt`, `modseqAt`,
 *   `indexOfUid`, `seqOf`); `message(i)` makes a `SelectedMessage` for those that need every field.
 */
import type { Mailbox, MailboxChange, MessageInfo } from '../store/types.js';
import type { RecentClaims } from './recent.js';
import { MailboxSnapshot } from './snapshot.js';
import { NumberSet } from './wire/seqset.js';

/** Pending changes at which the queue is first compacted (see #compactPending). */
const COMPACT_PENDING_AT = 4096;

/**
 * One message of the view, made by `SelectedMailbox.message(i)` for a command that needs its fields.
 * `flags` is a frozen list shared with other messages that have the same flags.
 */
export interface SelectedMessage {
  readonly uid: number;
  readonly flags: readonly string[];
  readonly modseq: number;
  readonly size: number;
  /** 0 for a message announced by EXISTS whose details are not loaded yet. */
  readonly blobId: number;
  /** INTERNALDATE in milliseconds since the epoch. */
  readonly internalDate: number;
  /** \Recent in this session (RFC 3501 §2.3.2, see recent.ts). */
  readonly recent: boolean;
}

/** A `SelectedMessage` that can be changed: a message announced after the snapshot, or a scratch one. */
export type MessageScratch = { -readonly [K in keyof SelectedMessage]: SelectedMessage[K] };

/** A message to `readInto` over and over (a pass that reads each message once and keeps nothing). */
export function newScratch(): MessageScratch {
  return { uid: 0, flags: [], modseq: 0, size: 0, blobId: 0, internalDate: 0, recent: false };
}
type Appended = MessageScratch;

/** A snapshot message's flags and modseq as changed since the snapshot. */
interface Changed {
  flags: readonly string[];
  modseq: number;
}

/** Overlay entries (removed + changed + appended) beyond which the view is compacted. */
export const COMPACT_AT = 4096;

/** How announcements are written; the session renders them per its enabled extensions. */
export interface AnnounceSink {
  /** EXISTS, with the number of messages recent in this session (IMAP4rev1 also gets RECENT). */
  exists(count: number, recent: number): void;
  /**
   * The number of messages recent in this session changed without an EXISTS (an expunge removed
   * recent messages): IMAP4rev1 gets `n RECENT` (RFC 3501 §7.3.2), IMAP4rev2 nothing.
   */
  recent(count: number): void;
  /** One expunged message by its sequence number (sent highest first is not required; sent in order). */
  expunge(seq: number): void;
  /** QRESYNC clients get VANISHED with the UIDs instead of EXPUNGE (RFC 7162 §3.2.10). */
  vanished(uids: number[]): void;
  flags(seq: number, message: SelectedMessage): void;
  /**
   * A flag change that is not shown as FETCH (the message is not numbered yet, or the view already
   * has it): its keywords may still be new to the client's FLAGS list (RFC 3501 §7.2.6).
   */
  keywords(flags: readonly string[]): void;
}

export class SelectedMailbox {
  highestModseq: number;
  uidNext: number;
  #pending: MailboxChange[] = [];
  /** Queue length at which #compactPending runs next. */
  #compactAt = COMPACT_PENDING_AT;
  #unsubscribe: () => void = () => {};
  /** Called after a change is queued (IDLE uses it to announce at once). */
  onChange: (() => void) | null = null;
  /**
   * The search result variable `$` of SEARCHRES (RFC 5182 §2.1), as UIDs; set by SEARCH/SORT
   * RETURN (SAVE). A new selection starts empty, which is the reset on SELECT/EXAMINE the RFC asks
   * for. Expunged messages drop out when `$` is resolved (src/imap/search/saved.ts).
   */
  savedSearch: NumberSet = NumberSet.EMPTY;
  /**
   * The keywords the client was told of by FLAGS, by lower-case name. RFC 3501 §7.2.6 / RFC 9051
   * §7.3.5: a keyword first used after SELECT is announced by a new FLAGS response before a FETCH
   * shows it (see `learnKeywords`). Made for the first keyword: most mailboxes have none.
   */
  #keywords: Map<string, string> | null = null;
  /** How many messages are \Recent in this session. */
  recentCount = 0;
  /** The recent count the client was last told (by SELECT's RECENT, EXISTS + RECENT, or RECENT). */
  #recentTold = 0;
  readonly #flagLists = new FlagLists();

  /** The snapshot the view starts from (shared until the view compacts). */
  #base: MailboxSnapshot;
  /** Indices into `#base` of messages no longer in the view, ascending. */
  #removed: number[] = [];
  /** Flags and modseq of `#base` messages changed since the snapshot, by index into `#base`. */
  #changed: Map<number, Changed> | null = null;
  /** Messages after the snapshot's, ascending UID. */
  #appended: Appended[] = [];
  /**
   * \Recent: a message is recent in this session when its UID is in (`#recentAbove`, `#recentTop`]
   * (SELECT claimed those) or in `#recentKept` (announced later as recent; kept by UID once compacted).
   */
  readonly #recentAbove: number;
  readonly #recentTop: number;
  #recentKept: Set<number> | null = null;

  constructor(
    readonly mailbox: Mailbox,
    readonly readOnly: boolean,
    messages: MailboxSnapshot | MessageInfo[],
    readonly claims: RecentClaims | null = null,
    /** Overlay entries beyond which the view compacts (the tests make it small). */
    readonly compactAt = COMPACT_AT,
  ) {
    this.#base =
      messages instanceof MailboxSnapshot
        ? messages
        : MailboxSnapshot.fromInfos(mailbox, mailbox.highestModseq, messages);
    this.highestModseq = mailbox.highestModseq;
    this.uidNext = mailbox.uidNext;
    for (const flags of this.#base.flagLists) this.learnKeywords(flags);
    this.#recentTop = this.#base.maxUid;
    if (claims) {
      // RFC 3501 §6.3.1/§6.3.2: SELECT claims the recent messages (they are not recent to later
      // sessions); EXAMINE only looks.
      const before = readOnly ? claims.claimed(mailbox) : claims.claim(mailbox, this.#base.maxUid);
      this.#recentAbove = before;
      this.recentCount = this.#base.count - this.#base.lowerBound(before + 1);
    } else this.#recentAbove = this.#recentTop;
    // SELECT/EXAMINE answer with `n RECENT` of this count (src/imap/commands/select.ts).
    this.#recentTold = this.recentCount;
  }

  /** The keywords the client was told of (see `#keywords`), as first spelled. */
  keywords(): string[] {
    return this.#keywords ? [...this.#keywords.values()] : [];
  }

  /** How many different keywords the client was told of. */
  get keywordCount(): number {
    return this.#keywords?.size ?? 0;
  }

  /**
   * `flags` with each keyword the client was told of spelled as it was first told: keywords are
   * case-insensitive (RFC 9051 §2.3.2), and one mailbox keeps one spelling of each (as Dovecot does),
   * so `FLAGS (WORK)` on a message with `Work` changes nothing.
   */
  canonicalFlags(flags: readonly string[]): string[] {
    const known = this.#keywords;
    if (!known) return [...flags];
    return flags.map((f) => (f.startsWith('\\') ? f : (known.get(f.toLowerCase()) ?? f)));
  }

  /**
   * The different keywords (lower case) on the messages in the view now. It reads every message's
   * flags (shared lists are looked at once): for the rare check of the keyword bound, not per command.
   */
  keywordsInUse(): Set<string> {
    const inUse = new Set<string>();
    const seen = new Set<readonly string[]>();
    const scratch = newScratch();
    for (let i = 0, n = this.exists; i < n; i++) {
      const flags = this.readInto(i, scratch).flags;
      if (seen.has(flags)) continue;
      seen.add(flags);
      for (const f of flags) if (!f.startsWith('\\')) inUse.add(f.toLowerCase());
    }
    return inUse;
  }

  /** How many different keywords among `flags` the client was not told of yet. */
  unknownKeywords(flags: readonly string[]): number {
    const fresh = new Set<string>();
    for (const f of flags) {
      const k = f.toLowerCase();
      if (!f.startsWith('\\') && !this.#keywords?.has(k)) fresh.add(k);
    }
    return fresh.size;
  }

  /** Adds the keywords among `flags` to the known ones; true if any was new. */
  learnKeywords(flags: readonly string[]): boolean {
    let added = false;
    for (const f of flags) {
      if (f.startsWith('\\')) continue;
      const k = f.toLowerCase();
      this.#keywords ??= new Map();
      if (!this.#keywords.has(k)) {
        this.#keywords.set(k, f);
        added = true;
      }
    }
    return added;
  }

  /** Starts queueing the mailbox's changes; returns itself for chaining. */
  listen(subscribe: (mailboxId: number, fn: (c: MailboxChange) => void) => () => void): this {
    this.#unsubscribe = subscribe(this.mailbox.id, (change) => {
      this.#pending.push(change);
      if (this.#pending.length >= this.#compactAt) this.#compactPending();
      this.onChange?.();
    });
    return this;
  }

  close(): void {
    this.#unsubscribe();
    this.#pending = [];
  }

  /**
   * Keeps the queue of a session that announces nothing for a while (it sends no command and is not in
   * IDLE) from growing with every flag change of the mailbox: only the last flag change of each UID is
   * kept (the earlier ones would be overwritten when announced; UIDs are never reused), so the queue
   * holds at most one flag change per message besides the EXISTS and EXPUNGE events, which stay in order.
   */
  #compactPending(): void {
    const pending = this.#pending;
    const seen = new Set<number>();
    const kept: MailboxChange[] = [];
    for (let k = pending.length - 1; k >= 0; k--) {
      const c = pending[k];
      if (c.kind === 'flags') {
        if (seen.has(c.uid)) continue;
        seen.add(c.uid);
      }
      kept.push(c);
    }
    kept.reverse();
    this.#pending = kept;
    this.#compactAt = Math.max(COMPACT_PENDING_AT, 2 * kept.length);
  }

  /** The number of messages in the view (the last EXISTS the client was told). */
  get exists(): number {
    return this.#base.count - this.#removed.length + this.#appended.length;
  }

  get hasPending(): boolean {
    return this.#pending.length > 0;
  }

  /** Changes queued and not announced yet. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Snapshot messages still in the view. */
  get #baseLive(): number {
    return this.#base.count - this.#removed.length;
  }

  /** The `#base` index of view index `i` (< `#baseLive`). */
  #baseIndex(i: number): number {
    const r = this.#removed;
    if (r.length === 0) return i;
    // r[k] - k (the view index just after the k-th removal) does not decrease: count the removals
    // at or before view index i; each shifts it one further into the snapshot.
    let lo = 0;
    let hi = r.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (r[mid] - mid <= i) lo = mid + 1;
      else hi = mid;
    }
    return i + lo;
  }

  /** How many removed `#base` indices are below `k`. */
  #removedBelow(k: number): number {
    const r = this.#removed;
    let lo = 0;
    let hi = r.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (r[mid] < k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** View index (sequence number - 1) of a UID, or -1 when the session does not know it. */
  indexOfUid(uid: number): number {
    const base = this.#base;
    if (uid > base.maxUid) {
      const a = this.#appended;
      let lo = 0;
      let hi = a.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const v = a[mid].uid;
        if (v === uid) return this.#baseLive + mid;
        if (v < uid) lo = mid + 1;
        else hi = mid - 1;
      }
      return -1;
    }
    const k = base.indexOfUid(uid);
    if (k < 0) return -1;
    const below = this.#removedBelow(k);
    if (below < this.#removed.length && this.#removed[below] === k) return -1;
    return k - below;
  }

  /** Sequence number of a UID, or 0 when the session does not know it. */
  seqOf(uid: number): number {
    return this.indexOfUid(uid) + 1;
  }

  uidAt(i: number): number {
    const live = this.#baseLive;
    return i < live ? this.#base.uids[this.#baseIndex(i)] : this.#appended[i - live].uid;
  }

  flagsAt(i: number): readonly string[] {
    const live = this.#baseLive;
    if (i >= live) return this.#appended[i - live].flags;
    const k = this.#baseIndex(i);
    return this.#changed?.get(k)?.flags ?? this.#base.flagsAt(k);
  }

  modseqAt(i: number): number {
    const live = this.#baseLive;
    if (i >= live) return this.#appended[i - live].modseq;
    const k = this.#baseIndex(i);
    return this.#changed?.get(k)?.modseq ?? this.#base.modseqs[k];
  }

  recentAt(i: number): boolean {
    const live = this.#baseLive;
    return i < live ? this.#baseRecent(this.#base.uids[this.#baseIndex(i)]) : this.#appended[i - live].recent;
  }

  #baseRecent(uid: number): boolean {
    return (uid > this.#recentAbove && uid <= this.#recentTop) || (this.#recentKept?.has(uid) ?? false);
  }

  /** The message at view index `i` (sequence number i + 1). */
  message(i: number): SelectedMessage {
    const live = this.#baseLive;
    if (i >= live) return this.#appended[i - live];
    const base = this.#base;
    const k = this.#baseIndex(i);
    const changed = this.#changed?.get(k);
    const uid = base.uids[k];
    return {
      uid,
      flags: changed ? changed.flags : base.flagsAt(k),
      modseq: changed ? changed.modseq : base.modseqs[k],
      size: base.sizes[k],
      blobId: base.blobIds[k],
      internalDate: base.internalDates[k],
      recent: this.#baseRecent(uid),
    };
  }

  /**
   * Writes the message at view index `i` into `into` and returns it: for loops over the whole view
   * that read each message before going on to the next (SEARCH's pass over the view), without making
   * an object per message. Use `message(i)` for anything kept.
   */
  readInto(i: number, into: MessageScratch): SelectedMessage {
    const live = this.#baseLive;
    if (i >= live) return Object.assign(into, this.#appended[i - live]);
    const base = this.#base;
    const k = this.#baseIndex(i);
    const changed = this.#changed?.get(k);
    const uid = base.uids[k];
    into.uid = uid;
    into.flags = changed ? changed.flags : base.flagsAt(k);
    into.modseq = changed ? changed.modseq : base.modseqs[k];
    into.size = base.sizes[k];
    into.blobId = base.blobIds[k];
    into.internalDate = base.internalDates[k];
    into.recent = this.#baseRecent(uid);
    return into;
  }

  byUid(uid: number): SelectedMessage | null {
    const i = this.indexOfUid(uid);
    return i >= 0 ? this.message(i) : null;
  }

  /** Every UID of the view, ascending. */
  allUids(): number[] {
    const out = new Array<number>(this.exists);
    for (let i = 0; i < out.length; i++) out[i] = this.uidAt(i);
    return out;
  }

  /** The sequence number of the first message without \Seen, or 0 (SELECT's UNSEEN, RFC 3501 §7.1). */
  firstUnseen(): number {
    if (this.#removed.length === 0 && !this.#changed?.size) {
      const k = this.#base.firstUnseen();
      if (k >= 0) return k + 1;
      const j = this.#appended.findIndex((m) => !m.flags.includes('\\Seen'));
      return j < 0 ? 0 : this.#base.count + j + 1;
    }
    for (let i = 0; i < this.exists; i++) if (!this.flagsAt(i).includes('\\Seen')) return i + 1;
    return 0;
  }

  /** The largest UID known to the session (0 when empty). */
  get maxUid(): number {
    if (this.#appended.length) return this.#appended[this.#appended.length - 1].uid;
    const live = this.#baseLive;
    return live ? this.#base.uids[this.#baseIndex(live - 1)] : 0;
  }

  /**
   * Drops queued echoes of the session's own change, identified by its modseq (flags, expunge) or UID
   * (exists of an own APPEND/COPY into this mailbox is NOT dropped: the client learns of it by EXISTS).
   */
  forget(kind: 'flags' | 'expunge', modseq: number): void {
    this.#pending = this.#pending.filter((c) => !(c.kind === kind && c.modseq === modseq));
  }

  /** Applies the session's own flag change to the view (the command reports it itself). */
  updateOwnFlags(changed: MessageInfo[]): void {
    for (const info of changed) {
      const i = this.indexOfUid(info.uid);
      if (i >= 0) this.#setFlags(i, this.#flagLists.get(info.flags), info.modseq);
      if (info.modseq > this.highestModseq) this.highestModseq = info.modseq;
    }
  }

  #setFlags(i: number, flags: readonly string[], modseq: number): void {
    const live = this.#baseLive;
    if (i >= live) {
      const m = this.#appended[i - live];
      m.flags = flags;
      m.modseq = modseq;
      return;
    }
    this.#changed ??= new Map();
    this.#changed.set(this.#baseIndex(i), { flags, modseq });
    this.#maybeCompact();
  }

  /** Applies the session's own expunge; returns the sequence numbers removed, in the order to announce. */
  removeOwn(uids: number[], modseq: number): number[] {
    const seqs: number[] = [];
    // RFC 9051 §7.5.1: each EXPUNGE renumbers the messages after it; taking the UIDs in ascending
    // order, each one's number is its number after the removals before it.
    for (const uid of [...new Set(uids)].sort((a, b) => a - b)) {
      const i = this.indexOfUid(uid);
      if (i < 0) continue;
      seqs.push(i + 1);
      this.#removeAt(i);
    }
    if (modseq > this.highestModseq) this.highestModseq = modseq;
    return seqs;
  }

  /**
   * Applies queued changes and tells the client through `sink`. Expunges are held back when
   * `allowExpunge` is false (during FETCH, STORE, SEARCH: RFC 9051 §7.4.1), and with them everything
   * after them, to keep the order of events. With `limit`, at most that many changes are taken (IDLE
   * announces a long queue in slices, giving other sessions their turn between them).
   */
  announce(sink: AnnounceSink, opts: { allowExpunge: boolean; vanished: boolean; limit?: number }): void {
    if (this.#pending.length === 0) return;
    const pending = this.#pending;
    let i = 0;
    const added: Appended[] = [];
    const end = Math.min(pending.length, opts.limit ?? pending.length);
    for (; i < end; i++) {
      const c = pending[i];
      if (c.kind === 'exists') {
        if (c.uid <= this.maxUid || added.some((a) => a.uid === c.uid)) continue;
        added.push({
          uid: c.uid,
          flags: FlagLists.EMPTY,
          modseq: c.modseq,
          size: 0,
          blobId: 0,
          internalDate: 0,
          recent: false,
        });
      } else if (c.kind === 'flags') {
        const at = this.indexOfUid(c.uid);
        // A change the view already has (the echo of the session's own STORE, or older than what a
        // command just read from the store) would put back older flags: skip it.
        let shown = false;
        if (at >= 0) {
          if (c.modseq > this.modseqAt(at)) {
            this.#setFlags(at, this.#flagLists.get(c.flags), c.modseq);
            sink.flags(at + 1, this.message(at));
            shown = true;
          }
        } else {
          const a = added.find((x) => x.uid === c.uid);
          if (a && c.modseq > a.modseq) {
            a.flags = this.#flagLists.get(c.flags);
            a.modseq = c.modseq;
          }
        }
        if (!shown) sink.keywords(c.flags);
      } else {
        // An expunge of messages the session never saw, or already removed (its own EXPUNGE/MOVE), is
        // nothing to announce, and must not hold back what follows it.
        if (!c.uids.some((u) => this.indexOfUid(u) >= 0 || added.some((a) => a.uid === u))) {
          if (c.modseq > this.highestModseq) this.highestModseq = c.modseq;
          continue;
        }
        if (!opts.allowExpunge) break;
        this.#flushAdded(added, sink);
        const present = c.uids.filter((u) => this.indexOfUid(u) >= 0);
        if (opts.vanished) {
          for (const uid of present) this.#removeAt(this.indexOfUid(uid));
          if (present.length) sink.vanished(present);
        } else {
          for (const uid of present) {
            const at = this.indexOfUid(uid);
            this.#removeAt(at);
            sink.expunge(at + 1);
          }
        }
      }
      if (c.modseq > this.highestModseq) this.highestModseq = c.modseq;
    }
    this.#flushAdded(added, sink);
    this.#pending = pending.slice(i);
    this.announceRecent(sink);
  }

  /**
   * RFC 3501 §7.3.2: `n RECENT` is sent when the number of recent messages changes. An EXISTS carries
   * it already; after an EXPUNGE (own or announced) of recent messages the new count goes out alone,
   * after the EXPUNGE responses. Call once the removals are told.
   */
  announceRecent(sink: AnnounceSink): void {
    if (this.recentCount === this.#recentTold) return;
    this.#recentTold = this.recentCount;
    sink.recent(this.recentCount);
  }

  #removeAt(i: number): void {
    if (this.recentAt(i)) this.recentCount--;
    const live = this.#baseLive;
    if (i >= live) {
      this.#appended.splice(i - live, 1);
      return;
    }
    const k = this.#baseIndex(i);
    this.#removed.splice(this.#removedBelow(k), 0, k);
    this.#changed?.delete(k);
    this.#maybeCompact();
  }

  #flushAdded(added: Appended[], sink: AnnounceSink): void {
    if (added.length === 0) return;
    added.sort((a, b) => a.uid - b.uid);
    for (const a of added) {
      this.#appended.push(a);
      if (a.uid >= this.uidNext) this.uidNext = a.uid + 1;
      // RFC 3501 §2.3.2: the first session notified of a new message sees it \Recent.
      if (this.claims) {
        const recent = this.readOnly
          ? a.uid > this.claims.claimed(this.mailbox)
          : this.claims.claim(this.mailbox, a.uid) < a.uid;
        if (recent) {
          a.recent = true;
          this.recentCount++;
        }
      }
    }
    added.length = 0;
    this.#recentTold = this.recentCount;
    sink.exists(this.exists, this.recentCount);
  }

  /** Messages announced by EXISTS whose details (flags, size, date, blob) are still to be read. */
  needsDetails(): SelectedMessage[] {
    return this.#appended.filter((m) => m.blobId === 0);
  }

  /** Fills in details of messages announced by EXISTS from the store. */
  fill(infos: MessageInfo[]): void {
    for (const info of infos) {
      const i = this.indexOfUid(info.uid);
      const live = this.#baseLive;
      if (i < live) continue;
      const m = this.#appended[i - live];
      if (m.blobId !== 0) continue;
      m.flags = this.#flagLists.get(info.flags);
      m.modseq = info.modseq;
      m.size = info.size;
      m.blobId = info.blobId;
      m.internalDate = info.internalDate.getTime();
    }
    this.#maybeCompact();
  }

  /** Entries in the overlay (for the tests). */
  get overlaySize(): number {
    return this.#removed.length + (this.#changed?.size ?? 0) + this.#appended.length;
  }

  /** The snapshot under the view (for the tests: sessions on one mailbox share it). */
  get snapshot(): MailboxSnapshot {
    return this.#base;
  }

  /**
   * When the overlay has grown past `compactAt`, rebuilds the view into a snapshot of its own (not
   * shared: a view is not a consistent cut of the store, so the cache never gets it). Waits while a
   * message's details are still to be read. Checked after each change to the overlay, so its lists
   * stay short (the removed list is kept sorted by insertion); the view is the same before and after.
   */
  #maybeCompact(): void {
    if (this.overlaySize <= this.compactAt) return;
    if (this.#appended.some((m) => m.blobId === 0)) return;
    for (const a of this.#appended) {
      if (!a.recent) continue;
      this.#recentKept ??= new Set();
      this.#recentKept.add(a.uid);
    }
    this.#base = this.#base.derive(this.highestModseq, this.#removed, this.#changed ?? new Map(), this.#appended);
    this.#removed = [];
    this.#changed = null;
    this.#appended = [];
  }
}

/**
 * One frozen array per distinct flag list, shared by the messages that have it: a mailbox has few
 * distinct flag lists (most messages have none or just \Seen), and an array per message was most of
 * the view's memory. The key keeps the list's order, so a message's FLAGS are sent exactly as before.
 * Per view, so lists are dropped with it.
 */
class FlagLists {
  static readonly EMPTY: readonly string[] = Object.freeze([]);
  /** Made for the first non-empty list: a view that never meets one (IDLE on an empty INBOX) has none. */
  #lists: Map<string, readonly string[]> | null = null;

  get(flags: readonly string[]): readonly string[] {
    if (flags.length === 0) return FlagLists.EMPTY;
    // Flags are atoms: they contain no space, so the joined list identifies it.
    const key = flags.join(' ');
    this.#lists ??= new Map();
    let list = this.#lists.get(key);
    if (!list) {
      list = Object.freeze([...flags]);
      this.#lists.set(key, list);
    }
    return list;
  }
}
