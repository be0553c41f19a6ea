/**
 * The row shapes both store backends read (SQLite and PostgreSQL have the same columns) and their
 * conversion to the types of types.ts, plus what a delivery computes before its write. Backend-neutral:
 * the backends import this; nothing here runs SQL.
 *
 * Invariants:
 * - A boolean column is an INTEGER 0/1 on SQLite and a boolean on PostgreSQL: the row types accept both
 *   and the converters read them with `Boolean`.
 * - Keywords are stored space-separated (normalize.ts splits and joins them); an empty column is none.
 */
import { createHash } from 'node:crypto';
import type { IndexText } from '../mail/search.js';
import { joinFlags } from './normalize.js';
import { INDEX_MAX_BYTES, prepareIndexText } from './search-text.js';
import type { Account, JsonValue, Mailbox, MessageColumns, MessageInfo } from './types.js';

export interface AccountRow {
  id: number;
  address: string;
  password_hash: string;
  apop_secret: string | null;
  scram_sha256: string | null;
  quota_bytes: number | null;
  disabled: number | boolean;
  created_at: number;
}

export const ACCOUNT_COLUMNS =
  'id, address, password_hash, apop_secret, scram_sha256, quota_bytes, disabled, created_at';

export function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    address: row.address,
    passwordHash: row.password_hash,
    apopSecret: row.apop_secret,
    scramSha256: row.scram_sha256,
    quotaBytes: row.quota_bytes,
    disabled: Boolean(row.disabled),
    createdAt: new Date(row.created_at),
  };
}

/** The columns of `mailboxes` that make a `Mailbox`. */
export interface MailboxRowBase {
  id: number;
  account_id: number;
  name: string;
  uidvalidity: number;
  uidnext: number;
  highestmodseq: number;
  special_use: string | null;
  subscribed: number | boolean;
}

export function toMailbox(row: MailboxRowBase): Mailbox {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    uidValidity: row.uidvalidity,
    uidNext: row.uidnext,
    highestModseq: row.highestmodseq,
    specialUse: row.special_use,
    subscribed: Boolean(row.subscribed),
  };
}

export interface MessageRow {
  mailbox_id: number;
  uid: number;
  blob_id: number;
  size: number;
  flags: number;
  keywords: string;
  internaldate: number;
  modseq: number;
}

export const MESSAGE_COLUMNS = 'mailbox_id, uid, blob_id, size, flags, keywords, internaldate, modseq';

/** The keywords of a `keywords` column. */
export function keywordList(column: string): string[] {
  return column === '' ? [] : column.split(' ');
}

export function toMessage(row: MessageRow): MessageInfo {
  return {
    mailboxId: row.mailbox_id,
    uid: row.uid,
    blobId: row.blob_id,
    size: row.size,
    flags: joinFlags(row.flags, keywordList(row.keywords)),
    internalDate: new Date(row.internaldate),
    modseq: row.modseq,
  };
}

/**
 * Builds `MessageColumns` row by row (SQLite and PostgreSQL `listColumns`), interning each distinct
 * (flags, keywords) pair of columns into one flag list.
 */
export class ColumnsBuilder {
  #uids: Uint32Array;
  #modseqs: Float64Array;
  #sizes: Float64Array;
  #dates: Float64Array;
  #blobIds: Float64Array;
  #flagIds: Uint32Array;
  readonly #lists: string[][] = [];
  readonly #ids = new Map<string, number>();
  #n = 0;

  /** `capacity`: the expected number of messages (the columns grow beyond it when needed). */
  constructor(capacity: number) {
    const c = Math.max(16, capacity);
    this.#uids = new Uint32Array(c);
    this.#modseqs = new Float64Array(c);
    this.#sizes = new Float64Array(c);
    this.#dates = new Float64Array(c);
    this.#blobIds = new Float64Array(c);
    this.#flagIds = new Uint32Array(c);
  }

  /** Adds the next message (ascending UID). */
  add(
    uid: number,
    blobId: number,
    size: number,
    flags: number,
    keywords: string,
    internalDate: number,
    modseq: number,
  ): void {
    const k = this.#n;
    if (k === this.#uids.length) this.#grow();
    this.#uids[k] = uid;
    this.#blobIds[k] = blobId;
    this.#sizes[k] = size;
    this.#dates[k] = internalDate;
    this.#modseqs[k] = modseq;
    const key = `${flags} ${keywords}`;
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#lists.length;
      this.#lists.push(joinFlags(flags, keywordList(keywords)));
      this.#ids.set(key, id);
    }
    this.#flagIds[k] = id;
    this.#n = k + 1;
  }

  #grow(): void {
    const c = this.#uids.length * 2;
    const grown = <T extends Uint32Array | Float64Array>(a: T, b: T): T => {
      b.set(a);
      return b;
    };
    this.#uids = grown(this.#uids, new Uint32Array(c));
    this.#modseqs = grown(this.#modseqs, new Float64Array(c));
    this.#sizes = grown(this.#sizes, new Float64Array(c));
    this.#dates = grown(this.#dates, new Float64Array(c));
    this.#blobIds = grown(this.#blobIds, new Float64Array(c));
    this.#flagIds = grown(this.#flagIds, new Uint32Array(c));
  }

  done(): MessageColumns {
    const n = this.#n;
    return {
      uids: this.#uids.subarray(0, n),
      modseqs: this.#modseqs.subarray(0, n),
      sizes: this.#sizes.subarray(0, n),
      internalDates: this.#dates.subarray(0, n),
      blobIds: this.#blobIds.subarray(0, n),
      flagIds: this.#flagIds.subarray(0, n),
      flagLists: this.#lists,
    };
  }
}

/** What a blob write needs, computed before the write to keep its transaction short. */
export interface PreparedBlob {
  hash: string;
  raw: Buffer;
  meta: string;
  /** The body search index's texts (search-text.ts); null when not indexed now (no index, queue only). */
  text: IndexText | null;
}

/** `index`: compute the search index's texts (for blobs that go into a mailbox, when indexing at write). */
export function prepareBlob(raw: Buffer, meta: JsonValue, index: boolean): PreparedBlob {
  return {
    hash: createHash('sha256').update(raw).digest('hex'),
    raw,
    meta: JSON.stringify(meta ?? null),
    text: index && raw.length <= INDEX_MAX_BYTES ? prepareIndexText(raw, meta) : null,
  };
}

/** Bytes to be added per account id, for the quota decision of a write (the backends' quota.ts). */
export type QuotaAdditions = Map<number, number>;

export function addBytes(additions: QuotaAdditions, accountId: number, bytes: number): void {
  additions.set(accountId, (additions.get(accountId) ?? 0) + bytes);
}
