/**
 * DELETE (RFC 9051 §6.3.5).
 *
 * - INBOX cannot be deleted; a name that is no mailbox gets [NONEXISTENT].
 * - A mailbox with children is deleted and its children stay (RFC 9051 §6.3.5: DELETE MUST NOT remove
 *   inferior names); the name then lives on as a hierarchy-only level, which LIST "" "%" shows as
 *   \Noselect, as in the RFC's second example. Deleting such a level is an error: [HASCHILDREN].
 * - A subscribed mailbox stays subscribed by name (RFC 3501 §6.3.6; see subscribe.ts).
 * - Its messages go with it. Sessions that have it selected (this one included) are told by EXPUNGE
 *   responses through the change feed and keep an empty, dead selection until they select another
 *   mailbox (Dovecot disconnects them instead; the RFC leaves it open).
 */
import { canonicalName, isBelow } from '../mailbox-names.js';
import type { ParseContext } from '../wire/commands.js';
import { mailboxArg } from './grammar.js';
import { AUTHED, command } from './types.js';

export const del = command({
  name: 'DELETE',
  parse: (ctx: ParseContext): DeleteCommand => ({ name: 'DELETE', mailbox: mailboxArg(ctx) }),
  states: AUTHED,
  async run(s, tag, cmd) {
    const name = canonicalName(cmd.mailbox);
    // RFC 9051 §6.3.5: it is an error to delete INBOX.
    if (name === 'INBOX') return s.no(tag, 'INBOX cannot be deleted; you can delete the messages in it', 'CANNOT');
    const userId = s.user!.id;
    const box = await s.store.mailboxes.get(userId, name);
    if (!box) {
      const all = await s.store.mailboxes.list(userId);
      // RFC 9051 §6.3.5: deleting a \Noselect name that has inferior names is an error.
      if (all.some((b) => isBelow(b.name, name))) {
        return s.no(tag, `Name "${name}" has inferior hierarchical names but is not a mailbox itself`, 'HASCHILDREN');
      }
      return s.no(tag, `Mailbox "${name}" does not exist`, 'NONEXISTENT');
    }
    if (!(await s.store.mailboxes.delete(userId, name))) {
      return s.no(tag, `Mailbox "${name}" does not exist`, 'NONEXISTENT');
    }
    if (s.selected?.mailbox.id === box.id) await s.announce(true);
    s.ok(tag, 'DELETE completed');
  },
});

/** RFC 9051 §6.3.5: `delete = "DELETE" SP mailbox`. */
export interface DeleteCommand {
  name: 'DELETE';
  mailbox: string;
}
