/**
 * The selected mailbox as one session sees it (RFC 9051 §2.3.1): message sequence numbers ↔ UIDs,
 * each message's flags and modseq, and the changes made by others that the session has not been told
 * about yet.
 *
 * Invariants:
 * - `messages` is in ascending UID order; sequence number n is `messages[n - 1]`. It changes only when
 *   the session announces the change (EXISTS, EXPUNGE/VANISHED), never behind the client's back, so the
 *   numbers a client sees stay valid between announcements (RFC 9051 §7.4.1).
 * - Changes from the store's feed are queued in `#pending` as they arrive (from any session, POP3,
 *   SMTP delivery) and applied by `announce()` at the points the protocol allows.
 * - The session's own changes are answered by its command; `forget()` drops their echo from the feed so
 *   the client is not told twice (e.g. `STORE ... .SILENT` stays silent).
 */
import type { Mailbox, MailboxChange, MessageInfo } from '../store/types.js';
import type { RecentClaims } from './recent.js';
import { NumberSet } from './wire/seqset.js';

/**
 * One message of the view. A session keeps one per message for as long as the mailbox is selected, so
 * it is kept small: `flags` is shared between messages with the same flags (frozen, see `FlagLists`;
 * a change assigns a new list) and `internalDate` is a number, not a Date.
 */
export interface SelectedMessage {
  uid: number;
  flags: readonly string[];
  modseq: number;
  size: number;
  blobId: number;
  /** INTERNALDATE in milliseconds since the epoch. */
  internalDate: number;
  /** \Recent in this session (RFC 3501 §2.3.2, see recent.ts). */
  recent: boolean;
}

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
  readonly messages: SelectedMessage[];
  highestModseq: number;
  uidNext: number;
  #pending: MailboxChange[] = [];
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
   * shows it (see `learnKeywords`).
   */
  readonly keywords = new Map<string, string>();
  /** How many messages are \Recent in this session. */
  recentCount = 0;
  /** The recent count the client was last told (by SELECT's RECENT, EXISTS + RECENT, or RECENT). */
  #recentTold = 0;
  readonly #flagLists = new FlagLists();

  constructor(
    readonly mailbox: Mailbox,
    readonly readOnly: boolean,
    infos: MessageInfo[],
    readonly claims: RecentClaims | null = null,
  ) {
    this.messages = infos.map((info) => toSelected(info, this.#flagLists));
    this.highestModseq = mailbox.highestModseq;
    this.uidNext = mailbox.uidNext;
    for (const m of this.messages) this.learnKeywords(m.flags);
    if (claims) {
      // RFC 3501 §6.3.1/§6.3.2: SELECT claims the recent messages (they are not recent to later
      // sessions); EXAMINE only looks.
      const before = readOnly ? claims.claimed(mailbox) : claims.claim(mailbox, this.maxUid);
      for (const m of this.messages) this.#markRecent(m, m.uid > before);
    }
    // SELECT/EXAMINE answer with `n RECENT` of this count (src/imap/commands/select.ts).
    this.#recentTold = this.recentCount;
  }

  #markRecent(m: SelectedMessage, recent: boolean): void {
    if (recent === m.recent) return;
    m.recent = recent;
    this.recentCount += recent ? 1 : -1;
  }

  /** Adds the keywords among `flags` to `keywords`; true if any was new. */
  learnKeywords(flags: readonly string[]): boolean {
    let added = false;
    for (const f of flags) {
      if (f.startsWith('\\')) continue;
      const k = f.toLowerCase();
      if (!this.keywords.has(k)) {
        this.keywords.set(k, f);
        added = true;
      }
    }
    return added;
  }

  /** Starts queueing the mailbox's changes; returns itself for chaining. */
  listen(subscribe: (mailboxId: number, fn: (c: MailboxChange) => void) => () => void): this {
    this.#unsubscribe = subscribe(this.mailbox.id, (change) => {
      this.#pending.push(change);
      this.onChange?.();
    });
    return this;
  }

  close(): void {
    this.#unsubscribe();
    this.#pending = [];
  }

  get exists(): number {
    return this.messages.length;
  }

  get hasPending(): boolean {
    return this.#pending.length > 0;
  }

  /** Sequence number of a UID, or 0 when the session does not know it. */
  seqOf(uid: number): number {
    let lo = 0;
    let hi = this.messages.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.messages[mid].uid;
      if (v === uid) return mid + 1;
      if (v < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  byUid(uid: number): SelectedMessage | null {
    const seq = this.seqOf(uid);
    return seq ? this.messages[seq - 1] : null;
  }

  /** The largest UID known to the session (0 when empty). */
  get maxUid(): number {
    return this.messages.length ? this.messages[this.messages.length - 1].uid : 0;
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
      const m = this.byUid(info.uid);
      if (m) {
        m.flags = this.#flagLists.get(info.flags);
        m.modseq = info.modseq;
      }
      if (info.modseq > this.highestModseq) this.highestModseq = info.modseq;
    }
  }

  /** Applies the session's own expunge; returns the sequence numbers removed, in the order to announce. */
  removeOwn(uids: number[], modseq: number): number[] {
    const seqs: number[] = [];
    const gone = new Set(uids);
    // Announce from the highest sequence number down? RFC 9051 §7.5.1: each EXPUNGE renumbers, so sending
    // in ascending order requires adjusting; we send each as it is removed from a shrinking list.
    for (let i = 0; i < this.messages.length; ) {
      if (gone.has(this.messages[i].uid)) {
        seqs.push(i + 1);
        if (this.messages[i].recent) this.recentCount--;
        this.messages.splice(i, 1);
      } else {
        i++;
      }
    }
    if (modseq > this.highestModseq) this.highestModseq = modseq;
    return seqs;
  }

  /**
   * Applies queued changes and tells the client through `sink`. Expunges are held back when
   * `allowExpunge` is false (during FETCH, STORE, SEARCH: RFC 9051 §7.4.1), and with them everything
   * after them, to keep the order of events.
   */
  announce(sink: AnnounceSink, opts: { allowExpunge: boolean; vanished: boolean }): void {
    if (this.#pending.length === 0) return;
    const pending = this.#pending;
    let i = 0;
    const added: SelectedMessage[] = [];
    for (; i < pending.length; i++) {
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
        const m = this.byUid(c.uid) ?? added.find((a) => a.uid === c.uid);
        // A change the view already has (the echo of the session's own STORE, or older than what a
        // command just read from the store) would put back older flags: skip it.
        let shown = false;
        if (m && c.modseq > m.modseq) {
          m.flags = this.#flagLists.get(c.flags);
          m.modseq = c.modseq;
          const seq = this.seqOf(c.uid);
          if (seq) sink.flags(seq, m);
          shown = seq > 0;
        }
        if (!shown) sink.keywords(c.flags);
      } else {
        // An expunge of messages the session never saw, or already removed (its own EXPUNGE/MOVE), is
        // nothing to announce, and must not hold back what follows it.
        if (!c.uids.some((u) => this.seqOf(u) > 0 || added.some((a) => a.uid === u))) {
          if (c.modseq > this.highestModseq) this.highestModseq = c.modseq;
          continue;
        }
        if (!opts.allowExpunge) break;
        this.#flushAdded(added, sink);
        const present = c.uids.filter((u) => this.seqOf(u) > 0);
        if (opts.vanished) {
          for (const uid of present) this.#removeAt(this.seqOf(uid) - 1);
          if (present.length) sink.vanished(present);
        } else {
          for (const uid of present) {
            const seq = this.seqOf(uid);
            this.#removeAt(seq - 1);
            sink.expunge(seq);
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
    if (this.messages[i].recent) this.recentCount--;
    this.messages.splice(i, 1);
  }

  #flushAdded(added: SelectedMessage[], sink: AnnounceSink): void {
    if (added.length === 0) return;
    added.sort((a, b) => a.uid - b.uid);
    this.messages.push(...added);
    for (const a of added) {
      if (a.uid >= this.uidNext) this.uidNext = a.uid + 1;
      // RFC 3501 §2.3.2: the first session notified of a new message sees it \Recent.
      if (this.claims) {
        const recent = this.readOnly
          ? a.uid > this.claims.claimed(this.mailbox)
          : this.claims.claim(this.mailbox, a.uid) < a.uid;
        this.#markRecent(a, recent);
      }
    }
    added.length = 0;
    this.#recentTold = this.recentCount;
    sink.exists(this.messages.length, this.recentCount);
  }

  /** Fills in details (flags, size, date, blob) of messages announced by EXISTS from the store. */
  needsDetails(): SelectedMessage[] {
    return this.messages.filter((m) => m.blobId === 0);
  }

  fill(infos: MessageInfo[]): void {
    for (const info of infos) {
      const m = this.byUid(info.uid);
      if (m && m.blobId === 0) Object.assign(m, toSelected(info, this.#flagLists), { recent: m.recent });
    }
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
  readonly #lists = new Map<string, readonly string[]>();

  get(flags: readonly string[]): readonly string[] {
    if (flags.length === 0) return FlagLists.EMPTY;
    // Flags are atoms: they contain no space, so the joined list identifies it.
    const key = flags.join(' ');
    let list = this.#lists.get(key);
    if (!list) {
      list = Object.freeze([...flags]);
      this.#lists.set(key, list);
    }
    return list;
  }
}

function toSelected(info: MessageInfo, lists: FlagLists): SelectedMessage {
  return {
    uid: info.uid,
    flags: lists.get(info.flags),
    modseq: info.modseq,
    size: info.size,
    blobId: info.blobId,
    internalDate: info.internalDate.getTime(),
    recent: false,
  };
}
