import type { NewQueueEntry, QueueStore } from '../types.js';
import type { PgContext, PgTx } from './db.js';
import { notYet } from './todo.js';

/** Inserts a queue entry due now. Call inside a transaction. */
export async function insertQueueEntry(
  _tx: PgTx,
  _blobId: number,
  _entry: NewQueueEntry,
  _now: number,
): Promise<number> {
  throw new Error('postgres insertQueueEntry: not implemented yet');
}
export function pgQueue(_ctx: PgContext): QueueStore {
  return notYet('queue');
}
