/**
 * LIST (RFC 9051 §6.3.9) with LIST-EXTENDED (RFC 5258), SPECIAL-USE (RFC 6154), LIST-STATUS (RFC 5819)
 * and CHILDREN (RFC 3348); LSUB (RFC 3501 §6.3.9, kept for IMAP4rev1 clients).
 *
 * How the hierarchy looks:
 * - Every name in the store is a real, selectable mailbox. A superior level without a mailbox of its
 *   own (left behind when `a` is deleted and `a/b` stays, RFC 9051 §6.3.5) is a hierarchy-only name.
 *   LIST shows one only where the RFCs ask: for a pattern ending in `%` as `\Noselect \HasChildren`
 *   (RFC 9051 §6.3.9), and for RECURSIVEMATCH as `\NonExistent` with CHILDINFO (RFC 5258 §3.5).
 * - \HasChildren / \HasNoChildren are always sent (RFC 3348; RFC 5258 §4 allows them without
 *   RETURN (CHILDREN)), and so are special-use attributes (RFC 6154 §2; the server MAY send them
 *   unasked; Apple Mail relies on that). \Subscribed only when asked for by the selection or return
 *   option SUBSCRIBED (RFC 5258 §3.1, §3.2). No \Marked/\Unmarked; no \Noinferiors (any mailbox,
 *   INBOX too, may have children).
 * - A subscribed name whose mailbox was deleted stays subscribed (RFC 3501 §6.3.6; the store keeps
 *   it): LIST (SUBSCRIBED) shows it as `\NonExistent \Subscribed` (RFC 5258 §3.1), LSUB as
 *   `\Noselect`-free subscribed name (RFC 3501 §6.3.9), and it counts for RECURSIVEMATCH.
 * - Order: INBOX first, then by name; each name at most once however many patterns match it
 *   (RFC 5258 §3).
 */
import type { Mailbox } from '../../store/types.js';
import { ListPattern, parentsOf, SEPARATOR } from '../mailbox-names.js';
import type { ImapSession } from '../session.js';
import { type ParseContext, printable } from '../wire/commands.js';
import { LPAREN } from './grammar.js';
import { type StatusItem, statusItems, statusResponse } from './status.js';
import { AUTHED, command } from './types.js';

interface Tree {
  boxes: Map<string, Mailbox>;
  /** Subscribed names without a mailbox (only loaded when `withOrphans`). */
  orphans: Set<string>;
  /** Names (mailboxes or hierarchy-only levels) with at least one mailbox below them. */
  parents: Set<string>;
  /** Every mailbox and every hierarchy level above one, INBOX first, then sorted. */
  names: string[];
}

async function loadTree(s: ImapSession, withOrphans = false): Promise<Tree> {
  const list = await s.store.mailboxes.list(s.user!.id);
  const boxes = new Map(list.map((b) => [b.name, b]));
  const orphans = new Set(withOrphans ? await s.store.mailboxes.subscribedWithoutMailbox(s.user!.id) : []);
  for (const name of boxes.keys()) orphans.delete(name);
  const parents = new Set<string>();
  for (const b of list) for (const p of parentsOf(b.name)) parents.add(p);
  const names = [...new Set([...boxes.keys(), ...parents, ...orphans])].sort(byName);
  return { boxes, orphans, parents, names };
}

function byName(a: string, b: string): number {
  if (a === 'INBOX' || b === 'INBOX') return a === b ? 0 : a === 'INBOX' ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `* LIST (attrs) "/" name [extended]` (RFC 9051 §7.3.1; RFC 5258 §6 mbox-list-extended). */
function listLine(s: ImapSession, verb: 'LIST' | 'LSUB', attrs: string[], name: string, childInfo: string[] | null) {
  const w = s
    .builder()
    .untagged()
    .raw(`${verb} (${attrs.join(' ')}) "${SEPARATOR}" `)
    .mailbox(name);
  // RFC 5258 §3.5: CHILDINFO lists the selection options a descendant matched, as quoted strings.
  if (childInfo) w.raw(` ("CHILDINFO" (${childInfo.map((o) => `"${o}"`).join(' ')}))`);
  return w.crlf();
}

export const list = command({
  name: 'LIST',
  parse: parseList,
  states: AUTHED,
  async run(s, tag, cmd) {
    // RFC 9051 §6.3.9: an empty mailbox argument asks for the hierarchy delimiter and the root of the
    // reference; our names are never rooted, so the root is "" (the RFC allows it for non-rooted names).
    if (!cmd.extended && cmd.patterns.length === 1 && cmd.patterns[0] === '') {
      s.untagged(`LIST (\\Noselect) "${SEPARATOR}" ""`);
      return s.ok(tag, 'LIST completed');
    }
    // RFC 5258 §3: in the extended form the empty pattern has no special meaning; it matches nothing.
    const patterns = cmd.patterns.filter((p) => p !== '').map((p) => new ListPattern(cmd.reference, p));
    const { selection: sel, returns: ret } = cmd;
    // RFC 5258 §3.1: REMOTE only widens the set (we have no remote mailboxes); SUBSCRIBED and
    // SPECIAL-USE (RFC 6154) restrict it, together.
    const filtered = sel.subscribed || sel.specialUse;
    const meets = (b: Mailbox | undefined): b is Mailbox =>
      b !== undefined && (!sel.subscribed || b.subscribed) && (!sel.specialUse || b.specialUse !== null);
    const matchesAny = (name: string) => patterns.some((p) => p.matches(name));
    const childInfoOpts = [...(sel.subscribed ? ['SUBSCRIBED'] : []), ...(sel.specialUse ? ['SPECIAL-USE'] : [])];

    const tree = await loadTree(s, sel.subscribed);
    // RFC 5258 §3.1 RECURSIVEMATCH / §3.5 CHILDINFO: a matching name is returned (with CHILDINFO) when a
    // descendant meets the selection criteria but does not match the pattern itself.
    const childInfo = new Set<string>();
    if (sel.recursiveMatch) {
      for (const b of tree.boxes.values()) {
        if (meets(b) && !matchesAny(b.name)) for (const p of parentsOf(b.name)) childInfo.add(p);
      }
      for (const name of tree.orphans) {
        if (!sel.specialUse && !matchesAny(name)) for (const p of parentsOf(name)) childInfo.add(p);
      }
    }
    // RFC 9051 §6.3.11 / RFC 5819: STATUS of the selected mailbox reflects what the client was told.
    if (ret.status && s.selected) await s.announce(true);

    for (const name of tree.names) {
      if (!matchesAny(name)) continue;
      const box = tree.boxes.get(name);
      const info = childInfo.has(name);
      // RFC 5258 §3.1: a subscribed name without a mailbox meets SUBSCRIBED (it has no special use).
      const orphan = tree.orphans.has(name) && !sel.specialUse;
      if (filtered) {
        if (!meets(box) && !info && !orphan) continue;
      } else if (!box && !patterns.some((p) => p.trailingPercent && p.matches(name))) {
        // RFC 9051 §6.3.9: hierarchy levels that are not mailboxes are returned only for a trailing "%".
        continue;
      }
      const attrs: string[] = [];
      // RECURSIVEMATCH: \NonExistent, which implies \Noselect (RFC 5258 §3, RFC 9051 §7.3.1); "%": §6.3.9.
      if (!box) attrs.push(filtered ? '\\NonExistent' : '\\Noselect');
      attrs.push(tree.parents.has(name) ? '\\HasChildren' : '\\HasNoChildren'); // RFC 3348, RFC 9051 §7.3.1
      if ((box?.subscribed || orphan) && (sel.subscribed || ret.subscribed)) attrs.push('\\Subscribed'); // RFC 5258 §3.2
      if (box?.specialUse) attrs.push(box.specialUse); // RFC 6154 §2
      s.send(listLine(s, 'LIST', attrs, name, info ? childInfoOpts : null));
      // RFC 5819 §2: STATUS follows the LIST response, and only for mailboxes that can be selected.
      if (ret.status && box) {
        const w = await statusResponse(s, box, ret.status);
        if (w) s.send(w);
      }
    }
    s.ok(tag, 'LIST completed');
  },
});

export const lsub = command({
  name: 'LSUB',
  parse: parseLsub,
  states: AUTHED,
  async run(s, tag, cmd) {
    if (cmd.pattern === '') {
      s.untagged(`LSUB (\\Noselect) "${SEPARATOR}" ""`);
      return s.ok(tag, 'LSUB completed');
    }
    const pattern = new ListPattern(cmd.reference, cmd.pattern);
    const tree = await loadTree(s, true);
    const aboveSubscribed = new Set<string>();
    for (const b of tree.boxes.values()) if (b.subscribed) for (const p of parentsOf(b.name)) aboveSubscribed.add(p);
    for (const name of tree.orphans) for (const p of parentsOf(name)) aboveSubscribed.add(p);
    for (const name of tree.names) {
      if (!pattern.matches(name)) continue;
      const box = tree.boxes.get(name);
      if (box?.subscribed || tree.orphans.has(name)) s.send(listLine(s, 'LSUB', [], name, null));
      // RFC 3501 §6.3.9: with a trailing "%", a level that is not subscribed itself but has subscribed
      // mailboxes below it is returned with \Noselect.
      else if (pattern.trailingPercent && aboveSubscribed.has(name))
        s.send(listLine(s, 'LSUB', ['\\Noselect'], name, null));
    }
    s.ok(tag, 'LSUB completed');
  },
});

/** RFC 9051 §6.3.9, RFC 5258: the reference, the patterns, and the extended LIST options. */
export interface ListCommand {
  name: 'LIST';
  reference: string;
  patterns: string[];
  selection: ListSelection;
  returns: ListReturn;
  /** The client used RFC 5258 syntax (options or a pattern list): extended LIST response rules apply. */
  extended: boolean;
}

/** RFC 3501 §6.3.9: the reference and one pattern. */
export interface LsubCommand {
  name: 'LSUB';
  reference: string;
  pattern: string;
}

/** RFC 5258 §3.1 selection options (+ SPECIAL-USE, RFC 6154 §5.1). */
export interface ListSelection {
  subscribed: boolean;
  remote: boolean;
  recursiveMatch: boolean;
  specialUse: boolean;
}

/** RFC 5258 §3.2 return options (+ SPECIAL-USE RFC 6154 §5.2, STATUS RFC 5819 §2). */
export interface ListReturn {
  subscribed: boolean;
  children: boolean;
  specialUse: boolean;
  status: StatusItem[] | null;
}

/**
 * RFC 9051 §6.3.9 and RFC 5258 §6: `list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
 * [SP list-return-opts]`; `mbox-or-pat = list-mailbox / patterns`.
 */
function parseList(ctx: ParseContext): ListCommand {
  const { r } = ctx;
  r.sp('after LIST');
  const selection: ListSelection = { subscribed: false, remote: false, recursiveMatch: false, specialUse: false };
  const returns: ListReturn = { subscribed: false, children: false, specialUse: false, status: null };
  let extended = false;
  if (r.peek() === LPAREN) {
    extended = true;
    const at = r.pos;
    r.list(
      () => {
        const optAt = r.pos;
        const opt = r.keyword('a LIST selection option');
        if (opt === 'SUBSCRIBED') selection.subscribed = true;
        else if (opt === 'REMOTE') selection.remote = true;
        else if (opt === 'RECURSIVEMATCH') selection.recursiveMatch = true;
        else if (opt === 'SPECIAL-USE')
          selection.specialUse = true; // RFC 6154 §5.1
        else r.fail(`unknown LIST selection option "${printable(opt)}"`, optAt); // RFC 5258 §3 MUST BAD
      },
      { allowEmpty: true, what: 'the LIST selection options' },
    );
    // RFC 5258 §3.1: RECURSIVEMATCH alone (or with REMOTE only) MUST be answered with BAD.
    if (selection.recursiveMatch && !selection.subscribed && !selection.specialUse) {
      r.fail('RECURSIVEMATCH needs another selection option such as SUBSCRIBED (RFC 5258 section 3.1)', at);
    }
    r.sp('after the LIST selection options');
  }
  const reference = r.mailbox(ctx, 'a reference name');
  r.sp('after the reference name');
  let patterns: string[];
  if (r.peek() === LPAREN) {
    extended = true;
    patterns = r.list(() => r.listMailbox(ctx), { what: 'the mailbox pattern list' });
  } else {
    patterns = [r.listMailbox(ctx)];
  }
  if (r.trySp()) {
    if (!r.tryKeyword('RETURN')) r.expected('RETURN');
    r.sp('after RETURN');
    extended = true;
    r.list(
      () => {
        const optAt = r.pos;
        const opt = r.keyword('a LIST return option');
        if (opt === 'SUBSCRIBED') returns.subscribed = true;
        else if (opt === 'CHILDREN') returns.children = true;
        else if (opt === 'SPECIAL-USE')
          returns.specialUse = true; // RFC 6154 §5.2
        else if (opt === 'STATUS') {
          // RFC 5819 §2: return-option =/ "STATUS" SP "(" status-att *(SP status-att) ")"
          r.sp('after STATUS');
          returns.status = statusItems(r);
        } else r.fail(`unknown LIST return option "${printable(opt)}"`, optAt);
      },
      { allowEmpty: true, what: 'the LIST return options' },
    );
  }
  return { name: 'LIST', reference, patterns, selection, returns, extended };
}

/** RFC 3501 §6.3.9: `lsub = "LSUB" SP mailbox SP list-mailbox`. */
function parseLsub(ctx: ParseContext): LsubCommand {
  const { r } = ctx;
  r.sp('after LSUB');
  const reference = r.mailbox(ctx, 'a reference name');
  r.sp('after the reference name');
  return { name: 'LSUB', reference, pattern: r.listMailbox(ctx) };
}
