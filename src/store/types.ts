/**
 * The one Store interface. Protocol engines, delivery, auth and the CLI reach storage only through it.
 *
 * Contract (every backend, checked by test/store-contract/):
 * - Every method is async and backend-neutral: no SQL, no driver types cross this line.
 * - A write's promise resolves only after the change is durable (on disk, fsynced). Backends may batch
 *   concurrent writes into one transaction (group commit) but never acknowledge before the commit.
 * - Addresses and domain names are stored and matched lower-case; mailbox names are case-sensitive
 *   except INBOX, which is case-insensitive (RFC 9051 §5.1).
 * - UIDs in a mailbox are strictly ascending and never reused; UIDVALIDITY never changes for a mailbox
 *   that keeps its name. Every change to a message bumps the mailbox's HIGHESTMODSEQ and stamps the
 *   message (or the expunged row) with the new value (RFC 7162).
 * - Message bytes are stored once per distinct content (blob) and referenced by every mailbox copy and
 *   queue entry; a blob disappears when its last reference goes.
 * - Changes to mailboxes are published on `changes` after they are durable, to every subscriber of that
 *   mailbox in any process that shares the store.
 * - Quota is decided inside the write that adds messages (deliver, append, copy, move to another
 *   account), in the same transaction as the insert, so two concurrent writes cannot both pass a check
 *   that only one of them fits: a write that would take an account beyond `quotaLimit` (usage plus the
 *   new bytes) rejects with `OverQuotaError` and changes nothing (`deliver` has its own rule, see
 *   `DeliveryRequest.overQuota`). Writes that remove or move within an account never check it.
 * - A write that fails for lack of storage space (disk full) rejects with `StoreFullError` and changes
 *   nothing. Writes that free space or are needed to (deleting and moving messages, flag changes,
 *   deleting mailboxes and accounts, queue bookkeeping) may use the storage reserve (space.ts) and keep
 *   working on a full disk; other writes are refused while the reserve is spent.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface Account {
  id: number;
  /** Lower-case `local@domain`. */
  address: string;
  /** PHC-style string, e.g. `$scrypt$ln=14,r=8,p=1$<salt>$<hash>`. */
  passwordHash: string;
  /** Encrypted recoverable secret for APOP/CRAM-MD5, or null when not stored. */
  apopSecret: string | null;
  /**
   * SCRAM-SHA-256 keys derived from the password (auth/scram.ts `formatScramKeys`), or null for accounts
   * whose password was last set before SCRAM existed (they get keys at their next password login).
   */
  scramSha256: string | null;
  /** The account's own storage quota in bytes, or null: then `Store.defaultQuotaBytes` applies. */
  quotaBytes: number | null;
  disabled: boolean;
  createdAt: Date;
}

export interface NewAccount {
  address: string;
  passwordHash: string;
  apopSecret?: string | null;
  scramSha256?: string | null;
  quotaBytes?: number | null;
}

/** Mailboxes every new account gets, with their RFC 6154 special-use attribute. */
export const DEFAULT_MAILBOXES: readonly { name: string; specialUse: string | null }[] = [
  { name: 'INBOX', specialUse: null },
  { name: 'Drafts', specialUse: '\\Drafts' },
  { name: 'Sent', specialUse: '\\Sent' },
  { name: 'Trash', specialUse: '\\Trash' },
  { name: 'Junk', specialUse: '\\Junk' },
  { name: 'Archive', specialUse: '\\Archive' },
];

export interface Mailbox {
  id: number;
  accountId: number;
  /** Full hierarchical name with `/` as separator, UTF-8. `INBOX` is always spelled upper-case. */
  name: string;
  uidValidity: number;
  uidNext: number;
  highestModseq: number;
  specialUse: string | null;
  subscribed: boolean;
}

export interface MailboxStatus {
  messages: number;
  unseen: number;
  /** Sum of message sizes in octets. */
  size: number;
  uidNext: number;
  uidValidity: number;
  highestModseq: number;
}

/** System flags are stored with their backslash, keywords as given. */
export interface MessageInfo {
  mailboxId: number;
  uid: number;
  blobId: number;
  /** Size in octets of the stored message (CRLF line endings, as delivered). */
  size: number;
  flags: string[];
  internalDate: Date;
  modseq: number;
}

export interface Blob {
  id: number;
  /** Lower-case hex SHA-256 of the bytes. */
  hash: string;
  size: number;
  /** What src/mail parsed once at delivery (header offsets, envelope, MIME structure). */
  meta: JsonValue;
}

export interface LocalTarget {
  accountId: number;
  /** Mailbox name; when it does not exist the message goes to INBOX. */
  mailbox: string;
  flags?: string[];
}

export interface QueueRecipient {
  address: string;
  /** DSN NOTIFY values (RFC 3461), e.g. ['FAILURE','DELAY'], or null when not given. */
  notify: string[] | null;
  /** DSN ORCPT, e.g. `rfc822;bob@example.org`, or null. */
  orcpt: string | null;
}

export interface NewQueueEntry {
  envelopeFrom: string;
  recipients: QueueRecipient[];
  /** DSN RET (FULL|HDRS) and ENVID from MAIL FROM, when given. */
  dsnRet: 'FULL' | 'HDRS' | null;
  dsnEnvid: string | null;
}

export interface DeliveryRequest {
  /** The message bytes exactly as they will be stored (trace headers already prepended). */
  raw: Buffer;
  meta: JsonValue;
  internalDate?: Date;
  local: LocalTarget[];
  /** Recipients on other servers: one outbound queue entry for all of them. */
  remote?: NewQueueEntry;
  /**
   * What to do with local copies that take their account beyond its quota (usage + `raw.length` >
   * `quotaLimit`), decided in the write itself:
   * - `'refuse'` (default): when the message fits *none* of the local targets, reject with
   *   OverQuotaError (naming them all) and store nothing, the queue entry included. When it fits at
   *   least one, every copy is stored: a grace of one message, as Dovecot's quota_grace, because the
   *   SMTP client has one answer for all recipients.
   * - `'accept'`: store every copy regardless (the message was accepted for other recipients anyway).
   * Either way the accounts that went over are reported in `DeliveryResult.overQuota`.
   */
  overQuota?: 'refuse' | 'accept';
}

export interface DeliveryResult {
  local: { accountId: number; mailboxId: number; uid: number }[];
  queueId: number | null;
  /** Accounts (ids, in the order of `local`) that got their copy beyond their quota; see `overQuota`. */
  overQuota: number[];
}

export type RecipientState = 'pending' | 'delivered' | 'failed';

export interface QueueEntry {
  id: number;
  envelopeFrom: string;
  blobId: number;
  size: number;
  dsnRet: 'FULL' | 'HDRS' | null;
  dsnEnvid: string | null;
  createdAt: Date;
  nextAttemptAt: Date;
  attempts: number;
  lastError: string | null;
  /** When a delay warning (DSN Action: delayed) was sent for this entry; null when none was. */
  delayWarnedAt: Date | null;
  recipients: (QueueRecipient & { state: RecipientState; lastError: string | null })[];
}

export type MailboxChange =
  | { kind: 'exists'; mailboxId: number; uid: number; modseq: number }
  | { kind: 'expunge'; mailboxId: number; uids: number[]; modseq: number }
  | { kind: 'flags'; mailboxId: number; uid: number; flags: string[]; modseq: number };

export interface AccountStore {
  /** Creates the account and its DEFAULT_MAILBOXES. Throws StoreConflictError when the address exists. */
  create(input: NewAccount): Promise<Account>;
  get(address: string): Promise<Account | null>;
  getById(id: number): Promise<Account | null>;
  list(): Promise<Account[]>;
  /**
   * The accounts whose local part (the address up to its last `@`) is `localPart`, in any case, by
   * address: who a bare name (an SMTP HELO, a login without a domain) may mean, without reading every
   * account.
   */
  withLocalPart(localPart: string): Promise<Account[]>;
  /**
   * Changes the given fields. A new `passwordHash` without `scramSha256` clears the SCRAM keys (they
   * belong to the old password).
   */
  update(
    address: string,
    patch: Partial<Pick<Account, 'passwordHash' | 'apopSecret' | 'scramSha256' | 'quotaBytes' | 'disabled'>>,
  ): Promise<boolean>;
  /**
   * Stores SCRAM keys derived from the password whose hash is `passwordHash`, only while that is still
   * the account's hash (a password changed meanwhile wins). False when nothing was stored.
   */
  setScram(address: string, passwordHash: string, scramSha256: string): Promise<boolean>;
  /** Deletes the account with its mailboxes and messages. False when there was no such account. */
  delete(address: string): Promise<boolean>;
  /** Bytes used by all messages of the account. */
  usage(accountId: number): Promise<number>;
  /**
   * Several of the reads above at once, in one snapshot (on PostgreSQL one statement, one round trip):
   * what resolving a recipient or attributing a session asks first (store/directory.ts). Optional: a
   * backend whose reads are in process (SQLite) gains nothing by it, and DirectoryReads falls back to
   * the single reads.
   */
  lookup?(query: DirectoryQuery): Promise<DirectoryFacts>;
}

/** What `AccountStore.lookup` reads; names as for the single reads (the store normalizes them). */
export interface DirectoryQuery {
  /** Which of these domains are local (`DomainStore.has`). */
  domains?: readonly string[];
  /** Which of these addresses (or `@domain` catch-alls) are aliases, with their targets (`AliasStore.get`). */
  aliases?: readonly string[];
  /** Which of these addresses are accounts (`AccountStore.get`). */
  accounts?: readonly string[];
  /** The accounts with each of these local parts (`AccountStore.withLocalPart`). */
  localParts?: readonly string[];
  /** Also the usage (`AccountStore.usage`) of every account found by `accounts`. */
  usage?: boolean;
}

/** What `AccountStore.lookup` found, keyed by normalized name (normalize.ts `normalizeAddress`). */
export interface DirectoryFacts {
  domains: ReadonlySet<string>;
  aliases: ReadonlyMap<string, string[]>;
  accounts: ReadonlyMap<string, Account>;
  /** By account id: the accounts found by `accounts`, when `usage` was asked. */
  usage: ReadonlyMap<number, number>;
  /** Every asked local part, with its accounts by address (possibly none). */
  localParts: ReadonlyMap<string, Account[]>;
}

export interface DomainStore {
  /** False when it already existed. */
  add(name: string): Promise<boolean>;
  remove(name: string): Promise<boolean>;
  list(): Promise<string[]>;
  has(name: string): Promise<boolean>;
}

export interface AliasStore {
  /** Sets (replaces) the targets of an alias. `@domain` is a catch-all for that domain. */
  set(alias: string, targets: string[]): Promise<void>;
  remove(alias: string): Promise<boolean>;
  list(): Promise<{ alias: string; targets: string[] }[]>;
  /** Targets of an exact alias, or null. (Catch-all resolution is the delivery layer's policy.) */
  get(alias: string): Promise<string[] | null>;
}

export interface MailboxStore {
  list(accountId: number): Promise<Mailbox[]>;
  get(accountId: number, name: string): Promise<Mailbox | null>;
  getById(id: number): Promise<Mailbox | null>;
  /**
   * Throws StoreConflictError when it exists. New mailboxes are subscribed unless `subscribed: false`
   * (IMAP CREATE); a name still subscribed from a deleted mailbox stays subscribed either way.
   */
  create(
    accountId: number,
    name: string,
    specialUse?: string | null,
    opts?: { subscribed?: boolean },
  ): Promise<Mailbox>;
  /** Renames a mailbox and its children. Throws StoreConflictError / StoreNotFoundError. */
  rename(accountId: number, from: string, to: string): Promise<void>;
  /** Deletes a mailbox and its messages. */
  delete(accountId: number, name: string): Promise<boolean>;
  /**
   * Sets the subscription mark of an existing mailbox (false when there is none). Unsubscribing also
   * removes a subscription kept from a deleted mailbox (then true).
   */
  setSubscribed(accountId: number, name: string, subscribed: boolean): Promise<boolean>;
  /** Subscribed names whose mailbox was deleted (RFC 3501 §6.3.6 keeps them), sorted. */
  subscribedWithoutMailbox(accountId: number): Promise<string[]>;
  status(mailboxId: number): Promise<MailboxStatus>;
}

export interface NewMessage {
  mailboxId: number;
  raw: Buffer;
  meta: JsonValue;
  flags?: string[];
  internalDate?: Date;
}

export interface SetFlagsInput {
  mailboxId: number;
  uids: number[];
  op: 'add' | 'remove' | 'replace';
  flags: string[];
  /**
   * RFC 7162 §3.1.3 UNCHANGEDSINCE: a message whose modseq is greater is left alone and reported in
   * `modified`. The test and the change are one atomic step.
   */
  unchangedSince?: number;
}

/** The outcome of a flag change, for IMAP STORE (RFC 9051 §6.4.6, RFC 7162 §3.1.3). */
export interface StoreFlagsResult {
  /** Messages whose flags changed, with their new flags and the operation's modseq. */
  changed: MessageInfo[];
  /** Messages that passed the UNCHANGEDSINCE test (or had none) but already had the requested flags. */
  unchanged: MessageInfo[];
  /** Messages that failed the UNCHANGEDSINCE test, with their current flags and modseq. */
  modified: MessageInfo[];
}

/** Bytes to read of one message: all of it, or [start, end) (cut at its end). */
export interface MessageRead {
  uid: number;
  start?: number;
  end?: number;
}

/**
 * A mailbox's messages as columns, for IMAP's shared snapshot of a selected mailbox
 * (src/imap/snapshot.ts): entry k of every column is the k-th message in ascending UID order. Flags
 * are interned: `flagIds[k]` indexes `flagLists`, which holds each distinct flag list of the mailbox
 * once (in `MessageInfo.flags` order). No object per message is made, so a 100,000-message mailbox
 * reads into a few typed arrays.
 */
export interface MessageColumns {
  uids: Uint32Array;
  modseqs: Float64Array;
  sizes: Float64Array;
  /** INTERNALDATE in milliseconds since the epoch. */
  internalDates: Float64Array;
  blobIds: Float64Array;
  flagIds: Uint32Array;
  flagLists: string[][];
}

export interface MessageStore {
  /** All messages of a mailbox in ascending UID order. */
  list(mailboxId: number): Promise<MessageInfo[]>;
  /** The same as `list`, as columns (IMAP SELECT). */
  listColumns(mailboxId: number): Promise<MessageColumns>;
  /**
   * The messages of a mailbox whose modseq is greater than `sinceModseq` (new ones and those whose
   * flags changed), ascending by UID. With `expungedSince`, what brings a copy of the mailbox taken at
   * `sinceModseq` up to date (IMAP's shared snapshot): every write that adds a message or changes its
   * flags stamps it with a new modseq, and every removal is in `expungedSince`.
   */
  changedSince(mailboxId: number, sinceModseq: number): Promise<MessageInfo[]>;
  /** How many messages `changedSince` would return (from the modseq index, without reading them). */
  countChangedSince(mailboxId: number, sinceModseq: number): Promise<number>;
  get(mailboxId: number, uid: number): Promise<MessageInfo | null>;
  /**
   * Stores one message into an existing mailbox (IMAP APPEND). OverQuotaError when it does not fit
   * the account's quota.
   */
  append(input: NewMessage): Promise<MessageInfo>;
  /**
   * Stores several messages atomically, in order (IMAP MULTIAPPEND, RFC 3502 §3: all or none). Every
   * mailbox must exist (StoreNotFoundError otherwise, and nothing is stored); all of them together must
   * fit the quota of each account they go to (OverQuotaError otherwise, and nothing is stored).
   */
  appendMany(inputs: NewMessage[]): Promise<MessageInfo[]>;
  /** Changes flags; returns the messages that changed with their new flags and modseq. */
  setFlags(input: SetFlagsInput): Promise<MessageInfo[]>;
  /** Like setFlags, with the full outcome (what changed, what already had the flags, what failed UNCHANGEDSINCE). */
  storeFlags(input: SetFlagsInput): Promise<StoreFlagsResult>;
  /** Removes messages; returns the UIDs that were removed. */
  expunge(mailboxId: number, uids: number[]): Promise<number[]>;
  /**
   * IMAP EXPUNGE / UID EXPUNGE / CLOSE (RFC 9051 §6.4.3, RFC 4315 §2.1): removes those of `uids` whose
   * \Deleted flag is set at the moment of removal. Returns the removed UIDs (ascending) and the modseq
   * of the removal (0 when nothing was removed).
   */
  expungeDeleted(mailboxId: number, uids: number[]): Promise<{ uids: number[]; modseq: number }>;
  /**
   * Copies messages to another mailbox (same blobs); returns [sourceUid, newUid] pairs. OverQuotaError,
   * copying nothing, when the copies do not fit the target account's quota (copies count in full).
   */
  copy(fromMailboxId: number, uids: number[], toMailboxId: number): Promise<[number, number][]>;
  /**
   * IMAP MOVE (RFC 6851 §3.3): copies the messages (flags and dates kept) and expunges them from the
   * source in one atomic step. Returns [sourceUid, newUid] pairs in ascending source order and the
   * modseq of the removal from the source (0 when nothing moved). Publishes `exists` on the target and
   * `expunge` on the source. Within one account it adds no storage and never checks the quota; into
   * another account's mailbox it is refused with OverQuotaError as a copy is.
   */
  move(
    fromMailboxId: number,
    uids: number[],
    toMailboxId: number,
  ): Promise<{ pairs: [number, number][]; modseq: number }>;
  /** UIDs expunged with a modseq greater than `sinceModseq` (RFC 7162 VANISHED). */
  expungedSince(mailboxId: number, sinceModseq: number): Promise<number[]>;
  /**
   * The stored meta and content hash of several messages, by UID (IMAP FETCH). Messages that are not in
   * the mailbox (any more) are absent from the map.
   */
  metaMany(mailboxId: number, uids: readonly number[]): Promise<Map<number, { hash: string; meta: JsonValue }>>;
  /**
   * Bytes of several messages, by UID (IMAP FETCH): reads only the requested ranges. Messages that are
   * not in the mailbox (any more) are absent from the map. Buffers are the caller's.
   */
  readMany(mailboxId: number, reads: readonly MessageRead[]): Promise<Map<number, Buffer>>;
  /**
   * The body search index (IMAP SEARCH BODY/TEXT, RFC 9051 §6.4.4): the UIDs of the mailbox's messages
   * that may contain `needle`, or null when the index cannot answer (no index in this backend, or a
   * needle it cannot look up, such as one shorter than 3 characters). The answer only narrows:
   * every message whose text contains the needle is among the candidates (case-folded as src/mail
   * `fold` does, in the decoded text parts for 'body', and also in the message and MIME headers for
   * 'text'), and so is every message not indexed yet; a candidate need not match. The caller decides
   * each candidate by its text.
   */
  searchText(mailboxId: number, field: 'body' | 'text', needle: string): Promise<Set<number> | null>;
}

/** The body search index's bookkeeping, for `postbode reindex` and `postbode status`. */
export interface SearchIndexStatus {
  /** Whether this backend keeps the index at all (SQLite: FTS5 with the trigram tokenizer). */
  available: boolean;
  /** Stored messages (distinct contents) in the index. */
  indexed: number;
  /** Stored contents not in the index yet (searched by reading them until `reindex` takes them). */
  pending: number;
}

export interface SearchIndexStore {
  status(): Promise<SearchIndexStatus>;
  /**
   * Indexes up to `limit` of the pending contents (fewer when they are large: one call is kept short),
   * durably; returns how many it took (0: none left). Safe while the server runs.
   */
  indexPending(limit: number): Promise<number>;
  /** Marks every stored content pending, so that `indexPending` indexes it again (`reindex --all`). */
  markAllPending(): Promise<number>;
}

export interface BlobStore {
  read(blobId: number): Promise<Buffer>;
  /** Bytes [start, end) of a blob. */
  readRange(blobId: number, start: number, end: number): Promise<Buffer>;
  get(blobId: number): Promise<Blob | null>;
}

/**
 * A claim on queue entries (`QueueStore.claim`): who works on them and for how long the claim holds
 * unless renewed. See docs/store.md ("The outbound queue: claims and leases").
 */
export interface QueueLease {
  /** The claiming worker: its node name and process id, `node:pid`. */
  owner: string;
  /** The lease runs out `leaseMs` after the claim's (or renewal's) `now`. */
  leaseMs: number;
}

export interface QueueStore {
  list(): Promise<QueueEntry[]>;
  get(id: number): Promise<QueueEntry | null>;
  /** Entries whose next attempt is due, leased or not (for looking; a worker claims instead). */
  due(now: Date, limit: number): Promise<QueueEntry[]>;
  /**
   * Takes up to `limit` due entries that nobody holds (no lease, or one that ran out before `now`), in
   * the order of their next attempt, and leases them to `lease.owner` until `now + lease.leaseMs`.
   * Exclusive across processes and nodes: while a lease runs, no other claim returns its entry.
   */
  claim(now: Date, limit: number, lease: QueueLease): Promise<QueueEntry[]>;
  /**
   * Extends the leases `lease.owner` holds on `ids` to `now + lease.leaseMs` (also a lease that ran out,
   * as long as nobody took the entry over); returns the ids it still holds.
   */
  renew(ids: readonly number[], now: Date, lease: QueueLease): Promise<number[]>;
  /** Ends the leases `owner` holds (only on `ids`, when given): the entries can be claimed at once. Returns how many. */
  release(owner: string, ids?: readonly number[]): Promise<number>;
  /** Who holds leases (run out or not), with how many entries and the latest end of them. */
  leases(): Promise<{ owner: string; entries: number; until: Date }[]>;
  /**
   * Records an attempt: per-recipient results and the next attempt time; an entry with no recipient
   * left pending is removed. Ends the entry's lease. With `lease.owner`, the attempt counts only while
   * that owner still holds the entry (its lease may have run out, but nobody took the entry over);
   * otherwise nothing changes (the new holder records its own attempt). Resolves false when nothing
   * was recorded: the entry is gone or held by another owner.
   */
  recordAttempt(
    id: number,
    result: {
      recipients: { address: string; state: RecipientState; error: string | null }[];
      nextAttemptAt: Date;
      error: string | null;
    },
    lease?: { owner: string },
  ): Promise<boolean>;
  /** Makes an entry due now (an entry being attempted keeps its lease: it is not sent twice). */
  retry(id: number): Promise<boolean>;
  /** Records that a delay warning was sent for an entry (durably); false when the entry is gone. */
  markDelayWarned(id: number, at: Date): Promise<boolean>;
  delete(id: number): Promise<boolean>;
  count(): Promise<number>;
  /** Totals for `postbode status`, read in one consistent snapshot. */
  summary(opts?: { maxErrorGroups?: number }): Promise<QueueSummary>;
}

export interface QueueSummary {
  /** Queue entries (messages). */
  messages: number;
  /** Recipients still `pending` across all entries. */
  recipientsPending: number;
  /** Creation time of the oldest entry, or null when the queue is empty. */
  oldestCreatedAt: Date | null;
  /** The earliest next attempt of any entry, or null when the queue is empty. */
  nextAttemptAt: Date | null;
  /** Pending recipients with a last error (tried at least once and deferred). */
  deferred: number;
  /** Deferred recipients grouped by their exact last error, most frequent first, at most `maxErrorGroups` (default 100). */
  deferredByError: { error: string; recipients: number }[];
}

export interface MailboxLocks {
  /** Exclusive lock of a mailbox for a POP3 session. False when someone else holds it. */
  tryAcquire(mailboxId: number, owner: string): Promise<boolean>;
  release(mailboxId: number, owner: string): Promise<void>;
}

export interface ChangeFeed {
  /** Calls `listener` for each durable change of the mailbox; returns the unsubscribe function. */
  subscribe(mailboxId: number, listener: (change: MailboxChange) => void): () => void;
  /**
   * Resolves once every change of the mailbox committed from now on will reach its subscribers. A
   * session subscribes, awaits this, and only then reads its view of the mailbox (subscribe-then-read:
   * a change committed in between arrives as an event, and the view drops the events it already holds).
   * Absent or immediate for a feed that publishes synchronously at commit (SQLite).
   */
  ready?(mailboxId: number): Promise<void>;
}

/** A node of a multi-node store (PostgreSQL): one `postbode serve` process. */
export interface StoreNode {
  name: string;
  host: string;
  pid: number;
  version: string;
  startedAt: Date;
  heartbeatAt: Date;
}

/** The nodes sharing a store, with their last heartbeat (`postbode status`). */
export interface StoreNodes {
  list(): Promise<StoreNode[]>;
}

/**
 * Digests of the key files every node's data dir must hold alike (`secret.key`, `dkim/…`), so that all
 * nodes of a shared store seal APOP secrets and sign mail with the same keys (src/server/node-keys.ts).
 * Multi-node backends only; the database holds SHA-256 digests, never a key.
 *
 * Contract:
 * - Files are named relative to the data dir with `/` (`secret.key`, `dkim/example.org.mail.key`).
 * - `recordIfNone` records `files` when nothing is recorded yet, atomically (of two nodes that both find
 *   nothing, one records and the other gets that record), and returns the record as it is afterwards.
 * - `replace` swaps the recorded files whose names start with `prefix` for those of `files`; it records
 *   nothing and returns false while nothing is recorded (the first node's start records everything).
 */
export interface NodeKeyStore {
  /** The recorded digests (hex) by file; empty when nothing is recorded. */
  list(): Promise<Map<string, string>>;
  recordIfNone(files: ReadonlyMap<string, string>, by: string): Promise<Map<string, string>>;
  replace(prefix: string, files: ReadonlyMap<string, string>, by: string): Promise<boolean>;
}

/** A certificate and its key as the nodes of a shared store keep them (`CertificateStore`). */
export interface StoredCertificate {
  /** The full chain (PEM). */
  cert: string;
  /** The private key as the caller stored it (the server seals it with `secret.key` first). */
  key: string;
  /** The node that stored it, and when (unix ms). */
  storedBy: string;
  storedAt: number;
}

/** Who holds the right to order a certificate now (`CertificateStore.lease`). */
export type CertificateLease = { held: true } | { held: false; by: string; remainingMs: number };

/**
 * ACME certificates shared by the nodes of a multi-node store (src/net/acme.ts), so that every node
 * serves one certificate and only one node orders or renews it at a time. Single-node backends leave
 * it out: the ACME manager keeps its files in the data dir. Times are unix milliseconds.
 *
 * Contract:
 * - Certificates are keyed by their name set: the names as the caller lists them (the subject first),
 *   which every node derives alike from its configuration.
 * - `put` replaces the certificate of a name set and tells the other nodes (`watch`); the key is stored
 *   as given (opaque to the store).
 * - `lease` gives the caller the right to order for `ms` from now when nobody else holds it (a free or
 *   expired lease, or one held under the caller's own node name, such as before a restart); otherwise
 *   it says who holds it and for how much longer. Calling it again extends the caller's lease; `release`
 *   frees it. Lease times are the database's clock, so the nodes' clocks need not agree.
 * - Challenges (RFC 8555 §8.3 http-01): `putChallenge` stores a token's key authorization until
 *   `expiresAt`, so that any node can answer the CA; `challenge` returns it until then, else null.
 * - `watch(fn)` calls `fn` (at most once per hint, with no arguments) when another node may have stored
 *   a certificate; it is a hint that can be lost, so readers also poll. Returns the unsubscribe function.
 */
export interface CertificateStore {
  get(names: readonly string[]): Promise<StoredCertificate | null>;
  put(names: readonly string[], pair: { cert: string; key: string }, by: string): Promise<void>;
  lease(names: readonly string[], node: string, ms: number): Promise<CertificateLease>;
  release(names: readonly string[], node: string): Promise<void>;
  putChallenge(token: string, keyAuthorization: string, by: string, expiresAt: number): Promise<void>;
  challenge(token: string): Promise<string | null>;
  deleteChallenge(token: string): Promise<void>;
  watch(fn: () => void): () => void;
}

/** Who a web login is: an admin of the web lab or a mail user (src/web/session-auth.ts). */
export interface WebLogin {
  name: string;
  role: 'admin' | 'user';
}

export interface WebSessionLimits {
  /** Live sessions in all; beyond them a login is refused. */
  maxSessions: number;
  /** Sessions of one user; a new login ends that user's oldest. */
  perUser: number;
  /** Milliseconds without a request after which a session expires. */
  idleMs: number;
}

/**
 * Web logins kept in the store, so that a login is valid on every node of a shared store (multi-node
 * backends; otherwise src/web/session-auth.ts keeps them in memory). Times are unix milliseconds.
 *
 * Contract:
 * - Session ids are made by the caller (random, secret); the store keeps only a digest of them.
 * - `create` ends the user's oldest sessions so that the new one is at most the `perUser`th, removes
 *   expired sessions, and refuses (false, nothing stored) when `maxSessions` live sessions remain; it
 *   never ends another user's live session. Concurrent creates (from any node) keep these limits.
 * - `get` returns the user of a live session and restarts its idle time; an unknown or expired id gets
 *   null (an expired session is removed). The idle time is written at most every `idleMs / 10` (and at
 *   least every minute), so a session may expire that much earlier than `idleMs` after its last use.
 */
export interface WebSessionStore {
  create(id: string, user: WebLogin, limits: WebSessionLimits, now: number): Promise<boolean>;
  get(id: string, idleMs: number, now: number): Promise<WebLogin | null>;
  delete(id: string): Promise<void>;
  /** Ends every session of one user. */
  deleteUser(user: WebLogin): Promise<void>;
  /** Live sessions, in all or of one user (for tests and limits). */
  count(user?: WebLogin): Promise<number>;
}

/** One gate of the login limiter as the store keeps it (src/auth/limiter.ts). */
export interface LoginGateCount {
  /** Failed checks since the gate was last quiet for the window. */
  failures: number;
  /** When the last one was (ms since the epoch; 0: none). */
  lastFailure: number;
}

/** What the login limiter knows of a client address and an account before and after a check. */
export interface LoginCounts {
  address: LoginGateCount;
  account: LoginGateCount;
  /** Whether the address logged in to the account successfully within the trust time. */
  trusted: boolean;
  /** When it last did (0: not within the trust time). */
  trustedAt: number;
  /** The failures of this address at this account that a success would forgive. */
  ownFailures: number;
}

/** The limiter's settings a `LoginCountStore` call needs (src/auth/limiter.ts). */
export interface LoginCountSettings {
  /** Failures are forgotten after this long without a new one. */
  windowMs: number;
  /** How long a successful login exempts its address from the account gate. */
  trustMs: number;
  /** Rows per scope (addresses, accounts) kept at most (pruned oldest first). */
  maxEntries: number;
  /** Accounts told apart per address; failures on further ones share one bucket no success forgives. */
  perAddressAccounts: number;
  /** Trusted addresses kept per account (most recent first). */
  trustedPerAccount: number;
}

/** One attempt's keys: the address key (`clientKey`) and the lower-cased account name, at `now`. */
export interface LoginKeys {
  address: string;
  account: string;
  now: number;
}

/**
 * The login limiter's failure counts shared by the nodes of one store (multi-node backends only; one
 * process keeps them in memory). Only counts live here: the waiting lines, the attempts in flight and
 * "one check at a time while penalized" stay in each node's limiter.
 *
 * Contract:
 * - `read` is one consistent look at both gates and the trust; a gate quiet for `windowMs` reads as 0.
 * - `failed` adds one failure to both gates (a gate quiet for the window starts again at 1, and the
 *   address forgets its per-account split), and to the address's count for the account (its first
 *   `perAddressAccounts` accounts apart, the rest in one bucket); it returns the counts after.
 * - `succeeded` forgives the failures this address made on this account (on both gates), nothing else,
 *   and trusts the address for the account (`trustedPerAccount` most recent addresses).
 * - The tables stay bounded: rows older than the window (the trust time for trust) go, and beyond
 *   `maxEntries` per scope the oldest go, checked at least every `LOGIN_PRUNE_EVERY` failures a node
 *   records, so a flood of random addresses leaves at most `maxEntries` plus that many rows per node.
 */
export interface LoginCountStore {
  read(keys: LoginKeys, settings: LoginCountSettings): Promise<LoginCounts>;
  failed(keys: LoginKeys, settings: LoginCountSettings): Promise<LoginCounts>;
  succeeded(keys: LoginKeys, settings: LoginCountSettings): Promise<LoginCounts>;
}

/** How many recorded failures a node lets pass between two prunes of the shared login counts. */
export const LOGIN_PRUNE_EVERY = 256;

/**
 * One protocol session as the web lab's history keeps it (see src/web/recorder/). Times are
 * milliseconds since the epoch.
 */
export interface LoggedSession {
  /** The session id of the trace bus. */
  id: string;
  proto: 'smtp' | 'pop3' | 'imap' | 'managesieve';
  /** Listener name, e.g. `submission`. */
  listener: string;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** The account that authenticated successfully, or null. */
  user: string | null;
  /** TLS protocol and cipher once encrypted (e.g. `TLSv1.3 TLS_AES_256_GCM_SHA384`), else null. */
  tls: string | null;
  start: number;
  end: number | null;
  /** Session state after the last event, e.g. `TRANSACTION`, `selected`. */
  state: string;
  closeReason: string | null;
  /** Number of events stored (or to be stored) for the session. */
  events: number;
  /** TLS key logging was on for this session: its traffic keys were kept (its secrecy is weakened). */
  keyLogged: boolean;
  /** SMTP: the last HELO/EHLO name the client gave (lower-case), or null. */
  helo: string | null;
  /** SMTP: the last MAIL FROM address (lower-case, without <>), or null. */
  mailFrom: string | null;
}

/** One event of a logged session, in `seq` order (the opening event has seq 0). */
export interface LoggedEvent {
  sessionId: string;
  seq: number;
  t: number;
  /** A trace event type: open, in, out, tls, auth, state, note, close. */
  type: string;
  /** The line (in/out) or a short description. */
  text: string;
  /** The line travelled inside TLS on the wire. */
  encrypted: boolean;
  /** Structured fields of the event (e.g. the TLS cipher, the mechanism of an auth), or null. */
  data: JsonValue;
}

export interface SessionFilter {
  proto?: 'smtp' | 'pop3' | 'imap' | 'managesieve';
  /** Exact account address (lower-case). */
  user?: string;
  /** Remote address, or its prefix (e.g. `192.168.`). */
  remote?: string;
  /**
   * Only sessions a web user may see (src/web/recorder/access.ts): those where `user` logged in, and
   * SMTP sessions without a login whose MAIL FROM is `user`, whose HELO/EHLO is one of `heloNames`, or
   * whose remote address is one of `remotes` (exact; empty: none). All lower-case.
   */
  visibleTo?: { user: string; heloNames: string[]; remotes: string[] };
  /** Only sessions that started before this time (for paging), exclusive. */
  before?: number;
  /** At most this many (default 200). */
  limit?: number;
}

/**
 * Payload bytes of a logged session (the lab's capture) in the order they crossed the wire: the
 * redacted form, with credentials masked at the same length (src/web/lab/redact.ts).
 */
export interface LoggedWire {
  sessionId: string;
  t: number;
  dir: 'in' | 'out';
  data: Buffer;
  /** The originals of the masked ranges ([offset in data, bytes]); null when they were not kept. */
  secrets: [number, Buffer][] | null;
}

/**
 * Session history for the web lab.
 *
 * Contract:
 * - `append` upserts the given session summaries and appends the events in one durable transaction;
 *   an event whose (session, seq) already exists replaces it. Events of a session that is not in the
 *   store and not in the same batch are refused (StoreNotFoundError), nothing of the batch is kept.
 * - `list` returns newest first (by start, then id); `events` in ascending seq.
 * - `prune` removes whole finished sessions (with their events) beyond the newest `keep` finished ones
 *   and those that started before `startedBefore`; it returns how many sessions it removed. Open
 *   sessions (no end) are never pruned: the recorder reads a live session's start back from the store.
 * - `finishOpen` ends sessions that have no end (after a restart nothing is live any more).
 * - `wire` returns a session's payload chunks in the order appended; they go with their session.
 * - `delete` removes the named sessions with their events and wire bytes (ids not kept are ignored);
 *   it returns how many sessions it removed (resetting a class, src/web/class-reset.ts).
 */
export interface SessionLogStore {
  append(batch: { sessions: LoggedSession[]; events: LoggedEvent[]; wire?: LoggedWire[] }): Promise<void>;
  wire(id: string): Promise<LoggedWire[]>;
  list(filter?: SessionFilter): Promise<LoggedSession[]>;
  get(id: string): Promise<LoggedSession | null>;
  events(id: string): Promise<LoggedEvent[]>;
  prune(opts: { keep?: number; startedBefore?: number }): Promise<number>;
  delete(ids: readonly string[]): Promise<number>;
  finishOpen(end: number, reason: string): Promise<number>;
}

/** One exercise of the web lab done by one student (src/web/exercises/): the first time it was done. */
export interface ExerciseDone {
  /** The student's mail address (lower-case). */
  student: string;
  /** The exercise id. */
  exercise: string;
  /** When it was done (unix ms): the reply, or the download, that completed it. */
  at: number;
  /** The lab session that did it, or null. */
  sessionId: string | null;
}

/**
 * The web lab's exercise progress: which student did which exercise, and when first.
 *
 * Contract:
 * - `record` keeps one row per (student, exercise): a new pair is inserted; a pair already kept is
 *   replaced only by an earlier `at` (the first time counts). It returns the rows it inserted or
 *   changed, so the caller can announce exactly those. Several writers (nodes) may record at once.
 * - `list` returns rows ordered by student, then exercise (byte order); with `student`, only theirs.
 * - `clear` deletes the rows of one student, or all rows; it returns how many it deleted.
 * - Rows are not tied to accounts: deleting an account keeps them (callers ignore rows older than the
 *   account, src/web/exercises/progress.ts).
 */
export interface ExerciseProgressStore {
  record(rows: ExerciseDone[]): Promise<ExerciseDone[]>;
  list(filter?: { student?: string }): Promise<ExerciseDone[]>;
  clear(student?: string): Promise<number>;
}

/** One Sieve script of an account (ManageSieve, RFC 5804; src/sieve/). */
export interface SieveScriptInfo {
  /** The script's name as the client gave it (UTF-8, 1–128 characters, no control characters). */
  name: string;
  active: boolean;
  /** Size of the source in bytes (UTF-8). */
  size: number;
  updatedAt: Date;
}

/**
 * The Sieve scripts of each account, and the per-account memory of vacation replies and `duplicate`
 * ids (issue 13): `Store.sieve`. Script names follow `sieveNameProblem` (sieve.ts), checked by callers.
 *
 * Contract:
 * - `list` is sorted by name (code point order, as the backends sort text byte-wise).
 * - At most one script per account is active. `put` creates or replaces a script and keeps its
 *   active state; it does not check the script (callers compile it first). With `maxScripts`, a new
 *   name is refused ('too-many', nothing stored) when the account has that many scripts already,
 *   decided in the write, so two writers cannot both pass the limit; replacing a script always works.
 * - `delete` refuses the active script ('active'), as RFC 5804 §2.10 wants; `rename` keeps the active
 *   state and refuses a name that exists ('exists').
 * - `setActive(accountId, null)` deactivates all; with a name that does not exist it returns false and
 *   changes nothing.
 * - Deleting an account deletes its scripts and memory; `put` and `remember` for an account that does
 *   not exist throw StoreNotFoundError.
 * - `remember(accountId, kind, key, seconds, now)` records `key` as seen until now + seconds and returns
 *   true, or returns false (recording nothing) when the key is recorded and not expired: the one atomic
 *   "answer once per period" decision, safe with several writers (nodes). `seen` only asks.
 *   Expired rows are pruned by the writes.
 */
export interface SieveStore {
  list(accountId: number): Promise<SieveScriptInfo[]>;
  get(accountId: number, name: string): Promise<string | null>;
  put(accountId: number, name: string, source: string, opts?: { maxScripts?: number }): Promise<'stored' | 'too-many'>;
  delete(accountId: number, name: string): Promise<'deleted' | 'missing' | 'active'>;
  rename(accountId: number, from: string, to: string): Promise<'renamed' | 'missing' | 'exists'>;
  setActive(accountId: number, name: string | null): Promise<boolean>;
  /** The active script's name and source, or null. */
  active(accountId: number): Promise<{ name: string; source: string } | null>;
  remember(
    accountId: number,
    kind: 'vacation' | 'duplicate',
    key: string,
    seconds: number,
    now: Date,
  ): Promise<boolean>;
  seen(accountId: number, kind: 'vacation' | 'duplicate', key: string, now: Date): Promise<boolean>;
}

/** An administrator of the web lab: a separate account, not a mail address (`postbode admin add NAME`). */
export interface Admin {
  /** Lower-case name without `@`. */
  name: string;
  /** PHC-style scrypt string, as for accounts. */
  passwordHash: string;
  createdAt: Date;
}

export interface AdminStore {
  /** Throws StoreConflictError when the name exists. */
  create(input: { name: string; passwordHash: string }): Promise<Admin>;
  get(name: string): Promise<Admin | null>;
  /** Sorted by name. */
  list(): Promise<Admin[]>;
  /** False when there was no such admin. */
  delete(name: string): Promise<boolean>;
  /** False when there was no such admin. */
  setPassword(name: string, passwordHash: string): Promise<boolean>;
}

export interface StoreStats {
  accounts: number;
  domains: number;
  aliases: number;
  messages: number;
  blobs: number;
  queue: number;
}

export interface Store {
  /** Which backend, e.g. `sqlite`. */
  readonly kind: string;
  readonly accounts: AccountStore;
  readonly domains: DomainStore;
  readonly aliases: AliasStore;
  readonly mailboxes: MailboxStore;
  readonly messages: MessageStore;
  readonly blobs: BlobStore;
  readonly queue: QueueStore;
  readonly locks: MailboxLocks;
  readonly changes: ChangeFeed;
  /** The web lab's session history. */
  readonly sessionLog: SessionLogStore;
  /** Web lab administrators. */
  readonly admins: AdminStore;
  /** The web lab's exercise progress (src/web/exercises/). */
  readonly exerciseProgress: ExerciseProgressStore;
  /** The body search index (see `MessageStore.searchText`). */
  readonly searchIndex: SearchIndexStore;
  /** Sieve scripts (ManageSieve) and the per-account memory of vacation replies and `duplicate` ids. */
  readonly sieve: SieveStore;
  /** The nodes sharing this store (multi-node backends only). */
  readonly nodes?: StoreNodes;
  /** The digests of the key files every node must hold alike (multi-node backends only). */
  readonly nodeKeys?: NodeKeyStore;
  /** Web logins valid on every node (multi-node backends only; else they live in the web process). */
  readonly webSessions?: WebSessionStore;
  /** ACME certificates and pending challenges shared by the nodes (multi-node backends only). */
  readonly certificates?: CertificateStore;
  /** The login limiter's failure counts shared by the nodes (multi-node backends only). */
  readonly loginCounts?: LoginCountStore;
  /**
   * The quota of accounts without their own (`store.default_quota`), in bytes; null or absent: none.
   * Use `quotaLimit()` for an account's limit.
   */
  readonly defaultQuotaBytes?: number | null;
  /** Stores one message for local recipients and/or the outbound queue, atomically and durably. */
  deliver(request: DeliveryRequest): Promise<DeliveryResult>;
  stats(): Promise<StoreStats>;
  close(): Promise<void>;
}

export class StoreConflictError extends Error {
  override name = 'StoreConflictError';
}

export class StoreNotFoundError extends Error {
  override name = 'StoreNotFoundError';
}

/**
 * A write failed because the disk (or the database's size limit) is full: nothing of it was stored.
 * Protocol engines answer with a temporary error (SMTP 452 4.3.1, IMAP NO [LIMIT], POP3 -ERR [SYS/TEMP]).
 */
export class StoreFullError extends Error {
  override name = 'StoreFullError';
}

/**
 * A write would take accounts beyond their storage quota (`quotaLimit`): nothing of it was stored.
 * Protocol engines answer with their quota refusal (IMAP NO [OVERQUOTA], SMTP 552 5.2.2 via delivery).
 */
export class OverQuotaError extends Error {
  override name = 'OverQuotaError';

  constructor(
    /** The accounts the write did not fit. */
    readonly accountIds: number[],
    /** The bytes it would have added to each of them (the most, when they differ). */
    readonly bytes: number,
  ) {
    super(`${bytes} more bytes exceed the storage quota of account ${accountIds.join(', ')}`);
  }
}

/** An account's storage limit in bytes: its own quota, else the store's default; null for none. */
export function quotaLimit(
  store: Pick<Store, 'defaultQuotaBytes'>,
  account: Pick<Account, 'quotaBytes'>,
): number | null {
  return account.quotaBytes ?? store.defaultQuotaBytes ?? null;
}
