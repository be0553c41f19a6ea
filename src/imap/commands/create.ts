/** CREATE (RFC 9051 §6.3.4) with USE (CREATE-SPECIAL-USE, RFC 6154 §3). Name rules: ../mailbox-names.ts. */
import { MAX_MAILBOXES } from '../../mail/mailbox-name.js';
import { StoreConflictError } from '../../store/types.js';
import { checkNewName, parentsOf, SEPARATOR } from '../mailbox-names.js';
import { type ParseContext, printable } from '../wire/commands.js';
import { mailboxArg } from './grammar.js';
import { mailboxObjectId } from './status.js';
import { AUTHED, command } from './types.js';

/** More mailboxes than this per account is refused with [LIMIT] (src/mail/mailbox-name.ts). */
export { MAX_MAILBOXES };

/** The special uses the store keeps (RFC 6154 §2); \All and \Flagged would be virtual mailboxes. */
const SPECIAL_USES = new Set(['\\Archive', '\\Drafts', '\\Junk', '\\Sent', '\\Trash']);

export const create = command({
  name: 'CREATE',
  parse: parseCreate,
  states: AUTHED,
  async run(s, tag, cmd) {
    // RFC 9051 §6.3.4: a trailing separator declares that children will follow; the name is created
    // without it.
    const requested = cmd.mailbox.endsWith(SEPARATOR) ? cmd.mailbox.slice(0, -1) : cmd.mailbox;
    const check = checkNewName(requested);
    if (!check.ok) return s.no(tag, check.reason, check.limit ? 'LIMIT' : 'CANNOT');
    const name = check.name;
    // RFC 9051 §6.3.4: it is an error to create INBOX or a name that exists.
    if (name === 'INBOX') return s.no(tag, 'INBOX always exists', 'ALREADYEXISTS');
    // RFC 6154 §3: USE gives the new mailbox a special use; if it cannot be given, nothing is created
    // and the reply carries [USEATTR].
    if (cmd.specialUse.length > 1) return s.no(tag, 'A mailbox can have only one special use here', 'USEATTR');
    const specialUse = cmd.specialUse[0] ?? null;
    if (specialUse !== null && !SPECIAL_USES.has(specialUse)) {
      return s.no(tag, `${specialUse} is not supported; use \\Drafts, \\Sent, \\Trash, \\Junk or \\Archive`, 'USEATTR');
    }
    const userId = s.user!.id;
    const existing = new Set((await s.store.mailboxes.list(userId)).map((b) => b.name));
    if (existing.has(name)) return s.no(tag, `Mailbox "${name}" already exists`, 'ALREADYEXISTS');
    // RFC 9051 §6.3.4: the server SHOULD create the superior names the new name needs.
    const parents = parentsOf(name).filter((p) => !existing.has(p));
    if (existing.size + parents.length + 1 > MAX_MAILBOXES) {
      return s.no(tag, `An account can have at most ${MAX_MAILBOXES} mailboxes`, 'LIMIT');
    }
    for (const parent of parents) {
      try {
        await s.store.mailboxes.create(userId, parent, null, { subscribed: false });
      } catch (err) {
        if (!(err instanceof StoreConflictError)) throw err; // created meanwhile by another session: fine
      }
    }
    try {
      // RFC 9051 §6.3.4 / §6.3.7: CREATE does not subscribe (SUBSCRIBE does); as in Dovecot.
      const mailbox = await s.store.mailboxes.create(userId, name, specialUse, { subscribed: false });
      // RFC 8474 §4: the tagged OK of CREATE carries the new mailbox's id.
      s.ok(tag, 'CREATE completed', { code: 'MAILBOXID', id: mailboxObjectId(mailbox) });
    } catch (err) {
      if (err instanceof StoreConflictError) return s.no(tag, `Mailbox "${name}" already exists`, 'ALREADYEXISTS');
      throw err;
    }
  },
});

/** RFC 9051 §6.3.4: the new mailbox, and the special uses asked for (RFC 6154 §3). */
export interface CreateCommand {
  name: 'CREATE';
  mailbox: string;
  specialUse: string[];
}

const USE_ATTRS = new Map(
  ['\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Junk', '\\Sent', '\\Trash'].map((a) => [a.toUpperCase(), a]),
);

/**
 * RFC 9051 §6.3.4: `create = "CREATE" SP mailbox [create-params]` (RFC 4466 §2.2); RFC 6154 §6:
 * `create-param =/ "USE" SP "(" [use-attr *(SP use-attr)] ")"`.
 */
function parseCreate(ctx: ParseContext): CreateCommand {
  const { r } = ctx;
  const mailbox = mailboxArg(ctx);
  const specialUse: string[] = [];
  if (r.trySp()) {
    r.list(
      () => {
        const at = r.pos;
        const param = r.keyword('a CREATE parameter');
        if (param !== 'USE') r.fail(`unknown CREATE parameter "${printable(param)}"`, at);
        r.sp('after USE');
        r.list(
          () => {
            r.byte(0x5c, 'a special-use attribute such as \\Drafts');
            const attr = `\\${r.atom('a special-use attribute name')}`;
            specialUse.push(USE_ATTRS.get(attr.toUpperCase()) ?? attr);
          },
          { allowEmpty: true, what: 'the USE list' },
        );
      },
      { what: 'the CREATE parameters' },
    );
  }
  return { name: 'CREATE', mailbox, specialUse };
}
