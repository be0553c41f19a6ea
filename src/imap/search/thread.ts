/**
 * THREAD (RFC 5256 §3, BASE.6.4.THREAD): the ORDEREDSUBJECT and REFERENCES algorithms, and the
 * `* THREAD` response (§4 BASE.7.2.THREAD, grammar §5 `thread-list`). "REFERENCES (n)" below names
 * the numbered steps of that algorithm.
 *
 * Invariants:
 * - Every walk over a thread tree is iterative (explicit stacks, post-order by reversed pre-order),
 *   so a reply chain of 100,000 messages cannot overflow the stack.
 * - Message-ID comparisons are case-sensitive (RFC 5256 §3 REFERENCES (1)(A)); base subjects compare after
 *   case folding (RFC 5256 §2.1, §7).
 * - Sent dates follow §2.2 (Date header in UTC, else INTERNALDATE); equal dates are ordered by
 *   sequence number.
 * - The References and In-Reply-To fields are read from the header bytes and kept on the cached
 *   digest (the stored meta has Message-ID and In-Reply-To, but no References).
 */
import { fieldValue, scanHeader, unfold } from '../../mail/header.js';
import { CHUNK, type MessageDigest, Pacer, type ThreadIds } from './digest.js';
import type { SearchScope } from './evaluate.js';
import { digestsOf, sentTime } from './sort.js';

export type ThreadAlgorithm = 'ORDEREDSUBJECT' | 'REFERENCES';
export const THREAD_ALGORITHMS: readonly ThreadAlgorithm[] = ['ORDEREDSUBJECT', 'REFERENCES'];

/** One matched message as the algorithms see it. */
interface Item {
  /** Index into the view (sequence number - 1). */
  idx: number;
  /** The number the response shows: sequence number or UID. */
  num: number;
  time: number;
  base: string;
  replyOrForward: boolean;
}

/** A node of the thread tree; `item` null for a dummy (RFC 5256 §3 REFERENCES (1)(A)). */
interface TNode {
  item: Item | null;
  parent: TNode | null;
  children: TNode[];
}

/**
 * Threads the matched messages (view indices, ascending) and returns the `* THREAD` response's
 * data: `(2)(3 6 (4 23)(44 7 96))`, or '' when nothing matched.
 */
export async function threadMessages(
  scope: SearchScope,
  indices: readonly number[],
  algorithm: ThreadAlgorithm,
  uid: boolean,
): Promise<string> {
  const sel = scope.selected;
  const digests = await digestsOf(scope, indices);
  const items: Item[] = indices.map((idx, k) => {
    const d = digests[k];
    const base = d?.base() ?? { base: '', replyOrForward: false };
    return {
      idx,
      num: uid ? sel.uidAt(idx) : idx + 1,
      time: sentTime(d, sel.message(idx).internalDate),
      base: base.base,
      replyOrForward: base.replyOrForward,
    };
  });
  if (algorithm === 'ORDEREDSUBJECT') return formatThreads(orderedSubject(items));
  await loadThreadIds(scope, indices, digests);
  const ids = digests.map((d) => d?.threadIds ?? NO_IDS);
  return formatThreads(references(items, ids));
}

// ---------------------------------------------------------------------------------------------------
// Sent-date order (RFC 5256 §2.2): by date, then by sequence number.

function itemOrder(a: Item, b: Item): number {
  return a.time - b.time || a.idx - b.idx;
}

/** A node's sort item: its own, or for a dummy its first child's (RFC 5256 §3 REFERENCES (4), (6)). */
function firstItem(n: TNode): Item {
  let x = n;
  while (x.item === null) x = x.children[0];
  return x.item;
}

function nodeOrder(a: TNode, b: TNode): number {
  return itemOrder(firstItem(a), firstItem(b));
}

// ---------------------------------------------------------------------------------------------------
// ORDEREDSUBJECT (RFC 5256 §3)

function orderedSubject(items: Item[]): TNode[] {
  // "sorted by base subject and then by the sent date"
  const sorted = [...items].sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : itemOrder(a, b)));
  const threads: TNode[] = [];
  let head: TNode | null = null;
  for (const item of sorted) {
    const node: TNode = { item, parent: null, children: [] };
    if (head !== null && head.item!.base === item.base) {
      // "The second message of a thread is the child of the first message, and subsequent messages
      // of the thread are siblings of the second message": no grandchildren.
      node.parent = head;
      head.children.push(node);
    } else {
      head = node;
      threads.push(node);
    }
  }
  // "the threads are sorted by the sent date of the first message in the thread"
  return threads.sort(nodeOrder);
}

// ---------------------------------------------------------------------------------------------------
// REFERENCES (RFC 5256 §3)

/** A msg-id: "<" id-left "@" id-right ">" (RFC 5322 §3.6.4), leniently. */
const MSG_ID = /<[^<>\s@]+@[^<>\s]+>/g;

function msgIds(value: string): string[] {
  return unfold(value).match(MSG_ID) ?? [];
}

const NO_IDS: ThreadIds = { messageId: null, references: [] };

/** Reads Message-ID, References and In-Reply-To from the header bytes; kept on the digests. */
async function loadThreadIds(
  scope: SearchScope,
  indices: readonly number[],
  digests: (MessageDigest | null)[],
): Promise<void> {
  const sel = scope.selected;
  const pacer = new Pacer(scope.cancelled);
  const want = digests.flatMap((d, k) => (d !== null && d.threadIds === undefined ? [k] : []));
  for (let j = 0; j < want.length; j++) {
    const k = want[j];
    const d = digests[k]!;
    const b = await scope.store.blobs.readRange(sel.message(indices[k]).blobId, 0, d.headerLength).catch(() => null);
    if (b !== null) d.threadIds = threadIds(b);
    if (j % CHUNK === CHUNK - 1) await pacer.pause();
  }
}

function threadIds(header: Buffer): ThreadIds {
  let messageId: string | null = null;
  let refs: string[] | null = null;
  let inReplyTo: string | null = null;
  for (const f of scanHeader(header).fields) {
    const name = f.name.toLowerCase();
    if (name === 'message-id' && messageId === null) {
      messageId = msgIds(fieldValue(header, f.valueStart, f.valueEnd))[0] ?? null;
    } else if (name === 'references' && refs === null) {
      refs = msgIds(fieldValue(header, f.valueStart, f.valueEnd));
    } else if (name === 'in-reply-to' && inReplyTo === null) {
      inReplyTo = msgIds(fieldValue(header, f.valueStart, f.valueEnd))[0] ?? null;
    }
  }
  // RFC 5256 §3 REFERENCES (1)(A): the References ids; without any valid one, the first valid In-Reply-To id.
  const references = refs !== null && refs.length > 0 ? refs : inReplyTo !== null ? [inReplyTo] : [];
  return { messageId, references };
}

/** Whether making `parent` the parent of `child` would create a loop (child is parent or its ancestor). */
function wouldLoop(parent: TNode, child: TNode): boolean {
  if (parent === child) return true;
  // Only a node with children can be an ancestor: a new message costs no walk up a long chain.
  if (child.children.length === 0) return false;
  for (let p: TNode | null = parent; p !== null; p = p.parent) if (p === child) return true;
  return false;
}

function link(parent: TNode, child: TNode): void {
  child.parent = parent;
  parent.children.push(child);
}

function unlink(child: TNode): void {
  const p = child.parent;
  if (p === null) return;
  const i = p.children.indexOf(child);
  if (i >= 0) p.children.splice(i, 1);
  child.parent = null;
}

/** All nodes below `top`, parents before their descendants (pre-order), iteratively. */
function preOrder(top: readonly TNode[]): TNode[] {
  const out: TNode[] = [];
  const stack = [...top];
  while (stack.length > 0) {
    const n = stack.pop()!;
    out.push(n);
    for (const c of n.children) stack.push(c);
  }
  return out;
}

function references(items: Item[], ids: ThreadIds[]): TNode[] {
  const table = new Map<string, TNode>();
  const all: TNode[] = [];
  const dummy = (): TNode => {
    const n: TNode = { item: null, parent: null, children: [] };
    all.push(n);
    return n;
  };
  // (1) For each searched message, in sequence order:
  items.forEach((item, k) => {
    const { messageId, references: refs } = ids[k];
    let node: TNode;
    const known = messageId === null ? undefined : table.get(messageId);
    if (known !== undefined && known.item === null) {
      node = known; // a dummy created for a reference to this message
      node.item = item;
    } else {
      // No (valid) Message-ID, or a duplicate of an earlier message's: a unique id of its own.
      node = { item, parent: null, children: [] };
      all.push(node);
      if (messageId !== null && known === undefined) table.set(messageId, node);
    }
    // (1)(A) link the references as parent/child, keeping existing parents, never making a loop.
    let prev: TNode | null = null;
    for (const ref of refs) {
      let r = table.get(ref);
      if (r === undefined) {
        r = dummy();
        table.set(ref, r);
      }
      if (prev !== null && r.parent === null && !wouldLoop(prev, r)) link(prev, r);
      prev = r;
    }
    // (1)(B) the last reference is the parent; a parent from (A) (a truncated References) is replaced.
    unlink(node);
    if (prev !== null && !wouldLoop(prev, node)) link(prev, node);
  });
  // (2) Messages without a parent are the children of the root.
  let top = all.filter((n) => n.parent === null);
  // (3) Prune dummies, children before parents.
  const order = preOrder(top);
  for (let i = order.length - 1; i >= 0; i--) order[i].children = pruneList(order[i].children, order[i]);
  top = pruneList(top, null);
  // (4) Sort the root's children by sent date; a dummy by its children's first (sorted first).
  for (const n of top) if (n.item === null) n.children.sort(nodeOrder);
  top.sort(nodeOrder);
  // (5) Gather threads with the same base subject.
  top = gatherBySubject(top);
  // (6) Sort every set of siblings by sent date, deepest first; a dummy by its first child.
  const all6 = preOrder(top);
  for (let i = all6.length - 1; i >= 0; i--) all6[i].children.sort(nodeOrder);
  return top.sort(nodeOrder);
}

/**
 * RFC 5256 §3 REFERENCES (3) for one set of siblings under `parent` (null: the root): a dummy without children
 * goes; a dummy with children is replaced by them, except that more than one child is not promoted
 * to the root.
 */
function pruneList(children: TNode[], parent: TNode | null): TNode[] {
  if (!children.some((c) => c.item === null)) return children;
  const out: TNode[] = [];
  for (const c of children) {
    if (c.item !== null) {
      out.push(c);
    } else if (c.children.length === 0) {
      // (3)(A) delete it
    } else if (parent !== null || c.children.length === 1) {
      // (3)(B) promote its children to the current level
      for (const g of c.children) {
        g.parent = parent;
        out.push(g);
      }
    } else {
      out.push(c);
    }
  }
  return out;
}

/** The thread subject (5)(B)(i): the base subject of the message, or of a dummy's first child. */
function threadSubject(n: TNode): string {
  return (n.item ?? n.children[0].item)?.base ?? '';
}

function gatherBySubject(top: TNode[]): TNode[] {
  // (5)(A)/(B) the subject table: one message per base subject.
  const table = new Map<string, TNode>();
  for (const n of top) {
    const subject = threadSubject(n);
    if (subject === '') continue; // (ii)
    const t = table.get(subject);
    if (t === undefined)
      table.set(subject, n); // (iv)
    else if (t.item !== null && (n.item === null || (t.item.replyOrForward && !n.item.replyOrForward))) {
      table.set(subject, n); // (v)
    }
  }
  // (5)(C) merge threads with the same subject.
  const slots: (TNode | null)[] = [...top];
  const slotOf = new Map<TNode, number>();
  top.forEach((n, i) => {
    slotOf.set(n, i);
  });
  for (let i = 0; i < top.length; i++) {
    const n = top[i];
    if (slots[i] !== n) continue; // already merged into another thread
    const subject = threadSubject(n);
    if (subject === '') continue;
    const t = table.get(subject)!;
    if (t === n) continue; // (iv)
    if (t.item === null && n.item === null) {
      // both dummies: the children of both become siblings
      for (const c of n.children) link(t, c);
      n.children = [];
    } else if (t.item === null || (n.item?.replyOrForward && !t.item.replyOrForward)) {
      // the table has a dummy, or the current message is a reply/forward and the table's is not
      link(t, n);
    } else {
      // otherwise: a new dummy holds both, and takes the table message's place
      const d: TNode = { item: null, parent: null, children: [] };
      const at = slotOf.get(t)!;
      slots[at] = d;
      slotOf.set(d, at);
      link(d, t);
      link(d, n);
      table.set(subject, d);
    }
    slots[i] = null;
  }
  return slots.filter((n): n is TNode => n !== null);
}

// ---------------------------------------------------------------------------------------------------
// The response (RFC 5256 §5): thread-list = "(" (thread-members / thread-nested) ")";
// thread-members = nz-number *(SP nz-number) [SP thread-nested]; thread-nested = 2*thread-list.

function formatThreads(top: TNode[]): string {
  const out: string[] = [];
  const stack: (TNode | string)[] = [];
  for (let i = top.length - 1; i >= 0; i--) stack.push(top[i]);
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (typeof x === 'string') {
      out.push(x);
      continue;
    }
    out.push('(');
    let n = x;
    if (n.item !== null) {
      out.push(String(n.item.num));
      while (n.children.length === 1) {
        n = n.children[0];
        out.push(` ${n.item!.num}`);
      }
      if (n.children.length === 0) {
        out.push(')');
        continue;
      }
      out.push(' ');
    }
    stack.push(')');
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
  }
  return out.join('');
}
