/**
 * RENAME (RFC 9051 §6.3.6).
 *
 * - Children move along (`a/x` becomes `b/x`); the store renames the subtree in one transaction and
 *   keeps each mailbox's id, UIDVALIDITY, UIDs, subscription and special use (so MAILBOXID stays,
 *   RFC 8474 §4).
 * - Renaming INBOX moves its messages to the new mailbox and leaves INBOX empty, its children staying
 *   where they are (RFC 9051 §6.3.6); the store implements that.
 * - The new name obeys the CREATE rules (../mailbox-names.ts); the renamed children must fit the length
 *   limit too. The superiors of the new name are created when missing (RFC 9051 §6.3.6 SHOULD).
 * - Sessions with the mailbox selected keep it: selection is by id, not by name. Sessions with INBOX
 *   selected see its messages expunged when INBOX is renamed.
 */
import { StoreConflictError, StoreNotFoundError } from '../../store/types.js';
import { canonicalName, checkNewName, isBelow, MAX_NAME_BYTES, parentsOf } from '../mailbox-names.js';
import type { ParseContext } from '../wire/commands.js';
import { mailboxArg } from './grammar.js';
import { AUTHED, command } from './types.js';

export const rename = command({
  name: 'RENAME',
  parse: parseRename,
  states: AUTHED,
  async run(s, tag, cmd) {
    const userId = s.user!.id;
    const from = canonicalName(cmd.from);
    const check = checkNewName(cmd.to);
    if (!check.ok) return s.no(tag, check.reason, check.limit ? 'LIMIT' : 'CANNOT');
    const to = check.name;
    const all = await s.store.mailboxes.list(userId);
    const names = new Set(all.map((b) => b.name));
    // RFC 9051 §6.3.6: it is an error to rename from a name that does not exist or to one that does.
    if (!names.has(from)) {
      const level = all.some((b) => isBelow(b.name, from));
      return s.no(
        tag,
        level
          ? `"${from}" is a hierarchy level, not a mailbox; rename the mailboxes below it`
          : `Mailbox "${from}" does not exist`,
        'NONEXISTENT',
      );
    }
    if (names.has(to)) return s.no(tag, `Mailbox "${to}" already exists`, 'ALREADYEXISTS');
    if (from !== 'INBOX') {
      for (const b of all) {
        if (!isBelow(b.name, from)) continue;
        const moved = to + b.name.slice(from.length);
        if (Buffer.byteLength(moved, 'utf8') > MAX_NAME_BYTES) {
          return s.no(tag, `The child "${b.name}" would get a name longer than ${MAX_NAME_BYTES} bytes`, 'LIMIT');
        }
      }
    }
    try {
      await s.store.mailboxes.rename(userId, from, to);
    } catch (err) {
      if (err instanceof StoreConflictError) {
        return s.no(tag, `Cannot rename "${from}" to "${to}": a mailbox with a new name exists`, 'ALREADYEXISTS');
      }
      if (err instanceof StoreNotFoundError) return s.no(tag, `Mailbox "${from}" does not exist`, 'NONEXISTENT');
      throw err;
    }
    // RFC 9051 §6.3.6: create the superior names the new name needs (after the move: `a` → `a/b`).
    const now = new Set((await s.store.mailboxes.list(userId)).map((b) => b.name));
    for (const parent of parentsOf(to)) {
      if (now.has(parent)) continue;
      try {
        await s.store.mailboxes.create(userId, parent, null, { subscribed: false });
      } catch (err) {
        if (!(err instanceof StoreConflictError)) throw err;
      }
    }
    // Renaming the selected INBOX moved its messages away: tell the client now (EXPUNGE responses).
    if (from === 'INBOX' && s.selected?.mailbox.name === 'INBOX') await s.announce(true);
    s.ok(tag, 'RENAME completed');
  },
});

/** RFC 9051 §6.3.6: the existing name and the new one. */
export interface RenameCommand {
  name: 'RENAME';
  from: string;
  to: string;
}

/** RFC 9051 §6.3.6: `rename = "RENAME" SP mailbox SP mailbox`. */
function parseRename(ctx: ParseContext): RenameCommand {
  const from = mailboxArg(ctx);
  ctx.r.sp('before the new mailbox name');
  return { name: 'RENAME', from, to: ctx.r.mailbox(ctx, 'the new mailbox name') };
}
