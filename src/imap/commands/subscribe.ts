/**
 * SUBSCRIBE and UNSUBSCRIBE (RFC 9051 §6.3.7, §6.3.8).
 *
 * The store keeps the subscription as a mark on an existing mailbox (new mailboxes start subscribed).
 * So SUBSCRIBE of a name without a mailbox is refused with [NONEXISTENT] — RFC 9051 §6.3.7 lets a
 * server check that the mailbox exists — and deleting a mailbox drops its subscription, which the RFC
 * advises against ("SHOULD NOT unilaterally remove"); keeping subscriptions of absent names needs a
 * subscription list in the store. UNSUBSCRIBE of a name that is not subscribed succeeds: afterwards it
 * is not subscribed, as asked.
 */
import { AUTHED, command } from './types.js';

export const subscribe = command({
  name: 'SUBSCRIBE',
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
  states: AUTHED,
  async run(s, tag, cmd) {
    await s.store.mailboxes.setSubscribed(s.user!.id, cmd.mailbox, false);
    s.ok(tag, 'UNSUBSCRIBE completed');
  },
});
