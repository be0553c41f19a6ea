/**
 * Loading what FETCH needs of a batch of messages: the parsed meta (MIME tree, ENVELOPE) and the
 * message's leading bytes, in one store call each per batch.
 *
 * Invariants:
 * - Reads go by (mailbox, UID) (store `metaMany`/`readMany`), so a message expunged by another session
 *   reads as absent and is reported, never confused with other content.
 * - Parsed metas are cached per selected mailbox, keyed by UID (a UID names one message for the life
 *   of the mailbox, RFC 9051 §2.3.1.1), at most MAX_CACHED of them; the cache goes with the selection.
 * - A stored meta from an older parser (mail `currentMeta`) is replaced by parsing the whole message
 *   again; it is not written back.
 * - Only the bytes a request needs are read: [0, end) where `end` is what the items ask for. A message
 *   over STREAM_MIN bytes has only the prefix its other items need read here (`LoadRequest.prefix`);
 *   its large byte ranges are read later, piece by piece, through `MessageContent.reader` as the
 *   response is written (render.ts deferred literals), so a batch never holds a large message whole.
 */
import { currentMeta, MESSAGE_META_VERSION, type MessageMeta } from '../../mail/index.js';
import type { Store } from '../../store/types.js';
import type { SelectedMailbox, SelectedMessage } from '../selected.js';

const MAX_CACHED = 1024;
/** Messages larger than this are streamed (see the header). */
export const STREAM_MIN = 1024 * 1024;

interface Cached {
  meta: MessageMeta;
  hash: string;
}

const caches = new WeakMap<SelectedMailbox, Map<number, Cached>>();

function cacheOf(sel: SelectedMailbox): Map<number, Cached> {
  let cache = caches.get(sel);
  if (!cache) {
    cache = new Map();
    caches.set(sel, cache);
  }
  return cache;
}

function remember(cache: Map<number, Cached>, uid: number, entry: Cached): void {
  if (cache.size >= MAX_CACHED) {
    // Drop the oldest entry (Map keeps insertion order).
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(uid, entry);
}

export interface MessageContent {
  /** The parsed meta (when asked for). */
  meta: MessageMeta | null;
  /** Hex SHA-256 of the content (with the meta). */
  hash: string | null;
  /** The message's bytes [0, end) (when end > 0 was asked for), absolute offsets. */
  bytes: Buffer | null;
  /**
   * For a streamed message: reads bytes [start, end) of it now (by mailbox and UID, so fewer or none
   * when it was expunged meanwhile); null when `bytes` holds all that was asked for.
   */
  reader: ((start: number, end: number) => Promise<Buffer>) | null;
}

export interface LoadRequest {
  meta: boolean;
  /** How many leading bytes a message needs, knowing its meta (null when meta was not asked for); 0 for none. */
  end(message: SelectedMessage, meta: MessageMeta | null): number;
  /**
   * For a message over STREAM_MIN: how many leading bytes the items that cannot be streamed need (the
   * rest are read through `reader`). Absent: nothing is streamed.
   */
  prefix?(message: SelectedMessage, meta: MessageMeta | null): number;
}

/**
 * Loads meta and bytes of `messages`. Messages that are gone from the store are absent from the result.
 */
export async function loadContents(
  store: Store,
  sel: SelectedMailbox,
  messages: readonly SelectedMessage[],
  req: LoadRequest,
): Promise<Map<number, MessageContent>> {
  const out = new Map<number, MessageContent>();
  const gone = new Set<number>();
  /** Stored metas that are not current: parsed again from the whole message. */
  const stale = new Map<number, { stored: unknown; hash: string }>();
  const cache = cacheOf(sel);
  if (req.meta) {
    const missing: number[] = [];
    for (const m of messages) {
      const hit = cache.get(m.uid);
      if (hit) out.set(m.uid, { meta: hit.meta, hash: hit.hash, bytes: null, reader: null });
      else missing.push(m.uid);
    }
    if (missing.length > 0) {
      const metas = await store.messages.metaMany(sel.mailbox.id, missing);
      for (const uid of missing) {
        const got = metas.get(uid);
        if (!got) {
          gone.add(uid);
          continue;
        }
        const stored = got.meta as { version?: unknown } | null;
        if (stored !== null && typeof stored === 'object' && stored.version === MESSAGE_META_VERSION) {
          const meta = got.meta as unknown as MessageMeta;
          remember(cache, uid, { meta, hash: got.hash });
          out.set(uid, { meta, hash: got.hash, bytes: null, reader: null });
        } else {
          stale.set(uid, { stored: got.meta, hash: got.hash });
        }
      }
    }
  }
  const reads: { uid: number; end: number }[] = [];
  const streamed = new Set<number>();
  for (const m of messages) {
    if (gone.has(m.uid)) continue;
    const meta = out.get(m.uid)?.meta ?? null;
    let end = stale.has(m.uid) ? m.size : req.end(m, meta);
    if (req.prefix && end > STREAM_MIN && !stale.has(m.uid)) {
      streamed.add(m.uid);
      end = req.prefix(m, meta);
      if (end === 0) {
        const entry = out.get(m.uid) ?? { meta: null, hash: null, bytes: null, reader: null };
        entry.reader = readerOf(store, sel.mailbox.id, m.uid);
        out.set(m.uid, entry);
        continue;
      }
    }
    if (end > 0) reads.push({ uid: m.uid, end });
    else if (!out.has(m.uid)) out.set(m.uid, { meta: null, hash: null, bytes: null, reader: null });
  }
  if (reads.length === 0) return out;
  const bytes = await store.messages.readMany(sel.mailbox.id, reads);
  for (const { uid } of reads) {
    const data = bytes.get(uid);
    if (data === undefined) {
      out.delete(uid);
      continue;
    }
    const old = stale.get(uid);
    if (old) {
      const meta = currentMeta(data, old.stored);
      remember(cache, uid, { meta, hash: old.hash });
      out.set(uid, { meta, hash: old.hash, bytes: data, reader: null });
      continue;
    }
    const reader = streamed.has(uid) ? readerOf(store, sel.mailbox.id, uid) : null;
    const entry = out.get(uid);
    if (entry) {
      entry.bytes = data;
      entry.reader = reader;
    } else out.set(uid, { meta: null, hash: null, bytes: data, reader });
  }
  return out;
}

function readerOf(store: Store, mailboxId: number, uid: number): (start: number, end: number) => Promise<Buffer> {
  return async (start, end) => (await store.messages.readMany(mailboxId, [{ uid, start, end }])).get(uid) ?? EMPTY;
}

const EMPTY = Buffer.alloc(0);
