/** SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3), CLOSE (§6.4.1), UNSELECT (RFC 3691, §6.4.2). */
import { SelectedMailbox } from '../selected.js';
import type { ImapSession } from '../session.js';
import { AUTHED, command, SELECTED } from './types.js';

const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];

async function open(s: ImapSession, tag: string, name: string, readOnly: boolean, condstore: boolean): Promise<void> {
  // RFC 9051 §6.3.2: a SELECT first deselects, even if it then fails.
  const hadSelected = s.selected !== null;
  s.deselect();
  if (hadSelected && s.qresync) s.untagged('OK [CLOSED] Previous mailbox closed');
  if (condstore) s.enabled.add('CONDSTORE');
  const mailbox = await s.store.mailboxes.get(s.user!.id, name);
  if (!mailbox) return s.no(tag, `Mailbox "${name}" does not exist; LIST "" "*" shows your mailboxes`, 'NONEXISTENT');
  const infos = await s.store.messages.list(mailbox.id);
  const sel = new SelectedMailbox(mailbox, readOnly, infos).listen((id, fn) => s.store.changes.subscribe(id, fn));
  s.selected = sel;
  s.state = 'selected';
  s.conn.trace.state(`selected ${mailbox.name}`);
  const keywords = new Set<string>();
  let firstUnseen = 0;
  sel.messages.forEach((m, i) => {
    for (const f of m.flags) if (!f.startsWith('\\')) keywords.add(f);
    if (!firstUnseen && !m.flags.includes('\\Seen')) firstUnseen = i + 1;
  });
  const flags = [...SYSTEM_FLAGS, ...keywords];
  s.untagged(`${sel.exists} EXISTS`);
  if (!s.rev2) {
    s.untagged('0 RECENT');
    if (firstUnseen) s.reply(null, 'OK', `First unseen message`, { code: 'UNSEEN', value: firstUnseen });
  }
  s.send(s.builder().untagged().raw('FLAGS ').flags(flags).crlf());
  s.reply(null, 'OK', readOnly ? 'No permanent flags in a read-only mailbox' : 'Flags you can change permanently', {
    code: 'PERMANENTFLAGS',
    flags: readOnly ? [] : [...flags, '\\*'],
  });
  s.reply(null, 'OK', 'UIDs valid', { code: 'UIDVALIDITY', value: mailbox.uidValidity });
  s.reply(null, 'OK', 'Predicted next UID', { code: 'UIDNEXT', value: mailbox.uidNext });
  if (s.condstore) s.reply(null, 'OK', 'Highest', { code: 'HIGHESTMODSEQ', value: mailbox.highestModseq });
  if (s.rev2) s.send(s.builder().untagged().raw('LIST () "/" ').mailbox(mailbox.name).crlf());
  s.ok(tag, `${readOnly ? 'EXAMINE' : 'SELECT'} completed`, readOnly ? 'READ-ONLY' : 'READ-WRITE');
}

export const select = command({
  name: 'SELECT',
  states: AUTHED,
  run: (s, tag, cmd) => open(s, tag, cmd.mailbox, false, cmd.condstore || cmd.qresync !== null),
});

export const examine = command({
  name: 'EXAMINE',
  states: AUTHED,
  run: (s, tag, cmd) => open(s, tag, cmd.mailbox, true, cmd.condstore || cmd.qresync !== null),
});

export const unselect = command({
  name: 'UNSELECT',
  states: SELECTED,
  run(s, tag) {
    s.deselect();
    s.ok(tag, 'UNSELECT completed');
  },
});

export const close = command({
  name: 'CLOSE',
  states: SELECTED,
  async run(s, tag) {
    const sel = s.selected!;
    // RFC 9051 §6.4.1: CLOSE expunges \Deleted messages silently (no EXPUNGE responses), unless read-only.
    if (!sel.readOnly) {
      const uids = sel.messages.filter((m) => m.flags.includes('\\Deleted')).map((m) => m.uid);
      if (uids.length) await s.store.messages.expunge(sel.mailbox.id, uids);
    }
    s.deselect();
    s.ok(tag, 'CLOSE completed');
  },
});
