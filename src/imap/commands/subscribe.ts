/**
 * SUBSCRIBE and UNSUBSCRIBE (RFC 9051 §6.3.7, §6.3.8; RFC 3501 §6.3.6, §6.3.7).
 *
 * Subscriptions are by name. CREATE does not subscribe (create.ts), and a subscribed mailbox that is
 * deleted stays subscribed ("MUST NOT unilaterally remove", RFC 3501 §6.3.6): the store keeps the name
 * (table `subscriptions`), LIST (SUBSCRIBED) shows it `\NonExistent \Subscribed` and LSUB lists it
 * (list.ts), and a mailbox created or renamed to that name later is subscribed again.
 * - SUBSCRIBE of a name without a mailbox is refused with [NONEXISTENT] (RFC 9051 §6.3.7 lets a server
 *   check that the mailbox exists).
 * - UNSUBSCRIBE of a name that is not subscribed succeeds: afterwards it is not subscribed, as asked.
 *   It also removes a name kept from a deleted mailbox.
 */
import type { ParseContext } from '../wire/commands.js';
import { mailboxArg } from './grammar.js';
import { AUTHED, command } from './types.js';

export const subscribe = command({
  name: 'SUBSCRIBE',
  parse: (ctx: ParseContext): SubscribeCommand => ({ name: 'SUBSCRIBE', mailbox: mailboxArg(ctx) }),
  states: AUTHED,
  async run(s, tag, cmd) {
    if (!(await s.store.mailboxes.setSubscribed(s.user!.id, cmd.mailbox, true))) {
      return s.no(
        tag,
        `Mailbox "${cmd.mailbox}" does not exist; CREATE it first (only existing mailboxes can be subscribed here)`,
        'NONEXISTENT',
      );
    }
    s.ok(tag, 'SUBSCRIBE completed');
  },
});

export const unsubscribe = command({
  name: 'UNSUBSCRIBE',
  parse: (ctx: ParseContext): SubscribeCommand => ({ name: 'UNSUBSCRIBE', mailbox: mailboxArg(ctx) }),
  states: AUTHED,
  async run(s, tag, cmd) {
    await s.store.mailboxes.setSubscribed(s.user!.id, cmd.mailbox, false);
    s.ok(tag, 'UNSUBSCRIBE completed');
  },
});

/** RFC 9051 §6.3.7, §6.3.8: `subscribe = "SUBSCRIBE" SP mailbox`, `unsubscribe = "UNSUBSCRIBE" SP mailbox`. */
export interface SubscribeCommand {
  name: 'SUBSCRIBE' | 'UNSUBSCRIBE';
  mailbox: string;
}
