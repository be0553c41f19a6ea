/**
 * Mailbox commands over a real listener and store: LIST (wildcards, LIST-EXTENDED, LIST-STATUS,
 * SPECIAL-USE), LSUB, CREATE, DELETE, RENAME, SUBSCRIBE/UNSUBSCRIBE, STATUS, QUOTA, mailbox-name
 * rules, modified UTF-7 and UTF-8 names, a second session, Python's imaplib, and quota on SMTP delivery.
 *
 * Where the RFC examples show attributes we do not keep (\Marked, \NoInferiors on INBOX) or omit ones
 * we always send (\HasChildren/\HasNoChildren, special-use), the expected lines say so; the set of
 * names and the CHILDINFO data are the RFCs'. Each test uses its own account.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type ImapHarness, type ImapTestClient, startImap } from '../../test/harness/imap-harness.js';
import { Delivery } from '../delivery/delivery.js';
import { silentLogger } from '../log.js';
import { NetServer } from '../net/listener.js';
import { smtpHandler } from '../smtp/index.js';
import { TraceBus } from '../trace/bus.js';
import { checkNewName, ListPattern, parentsOf } from './mailbox-names.js';
import { quotaCheck } from './quota.js';
import { encodeModifiedUtf7 } from './wire/utf7.js';

const DEFAULTS = ['Archive', 'Drafts', 'Junk', 'Sent', 'Trash'];

function message(subject: string, bodyBytes = 10): string {
  return `From: a@example.test\r\nSubject: ${subject}\r\n\r\n${'x'.repeat(bodyBytes)}\r\n`;
}

describe('IMAP mailbox commands', () => {
  let h: ImapHarness;
  let n = 0;

  before(async () => {
    h = await startImap();
  });
  after(() => h.stop());

  /**
   * A fresh account and a logged-in client for it; `clean` removes the default mailboxes but INBOX
   * (unsubscribed first: a deleted mailbox's subscription would stay, RFC 3501 §6.3.6).
   */
  async function fresh(opts: { clean?: boolean; names?: string[] } = {}): Promise<{
    c: ImapTestClient;
    id: number;
    user: string;
  }> {
    const user = `u${++n}@example.test`;
    const id = await h.account(user, 'pw');
    if (opts.clean) {
      for (const name of DEFAULTS) {
        await h.store.mailboxes.setSubscribed(id, name, false);
        await h.store.mailboxes.delete(id, name);
      }
    }
    for (const name of opts.names ?? []) await h.store.mailboxes.create(id, name);
    const c = await h.connect({ user });
    return { c, id, user };
  }

  async function ok(c: ImapTestClient, command: string): Promise<string[]> {
    const r = await c.cmd(command);
    assert.equal(r.status, 'OK', `${command}: ${r.tagged}`);
    return r.untagged;
  }

  async function no(c: ImapTestClient, command: string, code: string | null, text?: RegExp): Promise<string> {
    const r = await c.cmd(command);
    assert.equal(r.status, 'NO', `${command}: ${r.tagged}`);
    if (code) assert.match(r.tagged, new RegExp(`^t\\d+ NO \\[${code}\\] `), r.tagged);
    if (text) assert.match(r.tagged, text);
    return r.tagged;
  }

  async function unsubscribeAll(id: number): Promise<void> {
    for (const b of await h.store.mailboxes.list(id)) await h.store.mailboxes.setSubscribed(id, b.name, false);
  }

  it('advertises the mailbox extensions after login', async () => {
    const { c } = await fresh();
    const caps = (await ok(c, 'CAPABILITY'))[0].split(' ');
    for (const cap of [
      'CHILDREN',
      'SPECIAL-USE',
      'CREATE-SPECIAL-USE',
      'LIST-EXTENDED',
      'LIST-STATUS',
      'STATUS=SIZE',
      'QUOTA',
      'QUOTA=RES-STORAGE',
    ]) {
      assert.ok(caps.includes(cap), `missing ${cap}`);
    }
  });

  describe('LIST', () => {
    it('lists a new account: INBOX first, special-use attributes, children', async () => {
      const { c } = await fresh();
      assert.deepEqual(await ok(c, 'LIST "" "*"'), [
        '* LIST (\\HasNoChildren) "/" "INBOX"',
        '* LIST (\\HasNoChildren \\Archive) "/" "Archive"',
        '* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"',
        '* LIST (\\HasNoChildren \\Junk) "/" "Junk"',
        '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
        '* LIST (\\HasNoChildren \\Trash) "/" "Trash"',
      ]);
    });

    it('LIST "" "" returns the hierarchy delimiter (RFC 9051 §6.3.9)', async () => {
      const { c } = await fresh();
      assert.deepEqual(await ok(c, 'LIST "" ""'), ['* LIST (\\Noselect) "/" ""']);
      assert.deepEqual(await ok(c, 'LIST "Drafts" ""'), ['* LIST (\\Noselect) "/" ""']);
      assert.deepEqual(await ok(c, 'LSUB "" ""'), ['* LSUB (\\Noselect) "/" ""']);
      // RFC 5258 §3: no special meaning in the extended form.
      assert.deepEqual(await ok(c, 'LIST "" ("")'), []);
    });

    it('matches * and % with reference names (wildcard table)', async () => {
      const { c } = await fresh({
        clean: true,
        names: ['Fruit', 'Fruit/Apple', 'Fruit/Banana', 'Tofu', 'Vegetable', 'Vegetable/Broccoli', 'Vegetable/Corn'],
      });
      const names = async (ref: string, pattern: string) =>
        (await ok(c, `LIST ${ref} ${pattern}`)).map((l) => l.slice(l.lastIndexOf(' "') + 2, -1));
      const table: [string, string, string[]][] = [
        [
          '""',
          '*',
          [
            'INBOX',
            'Fruit',
            'Fruit/Apple',
            'Fruit/Banana',
            'Tofu',
            'Vegetable',
            'Vegetable/Broccoli',
            'Vegetable/Corn',
          ],
        ],
        ['""', '%', ['INBOX', 'Fruit', 'Tofu', 'Vegetable']],
        ['""', 'Fruit/%', ['Fruit/Apple', 'Fruit/Banana']],
        ['"Fruit/"', '%', ['Fruit/Apple', 'Fruit/Banana']],
        ['Fruit', '*', ['Fruit', 'Fruit/Apple', 'Fruit/Banana']], // RFC 9051 §6.3.9: concatenated
        ['Fruit', '%', ['Fruit']],
        ['""', '%/%', ['Fruit/Apple', 'Fruit/Banana', 'Vegetable/Broccoli', 'Vegetable/Corn']],
        ['""', 'V%', ['Vegetable']],
        ['""', 'V*', ['Vegetable', 'Vegetable/Broccoli', 'Vegetable/Corn']],
        ['""', '*n', ['Vegetable/Corn']],
        ['""', '*a', ['Fruit/Banana']],
        ['""', '%n', []],
        ['""', '*o*', ['Tofu', 'Vegetable/Broccoli', 'Vegetable/Corn']],
        ['""', 'Fruit', ['Fruit']],
        ['""', 'fruit', []], // names are case-sensitive ...
        ['""', 'inbox', ['INBOX']], // ... except INBOX (RFC 9051 §5.1)
        ['""', 'iNbOx', ['INBOX']],
        ['""', 'In%', []], // RFC 9051 §6.3.9: the upper-case "INBOX" must match the pattern
      ];
      for (const [ref, pattern, expected] of table) {
        assert.deepEqual(await names(ref, pattern), expected, `LIST ${ref} ${pattern}`);
      }
      assert.deepEqual(await names('""', '**%%*'), await names('""', '*'));
      assert.deepEqual(await names('""', '%%'), await names('""', '%'));
      // A pathological pattern is answered at once (no backtracking).
      const started = Date.now();
      assert.deepEqual(await names('""', `"${'%a'.repeat(400)}b"`), []);
      assert.ok(Date.now() - started < 1000);
    });

    it('shows a hierarchy level without a mailbox as \\Noselect for a trailing % only', async () => {
      const { c } = await fresh({ clean: true });
      await ok(c, 'CREATE a/b/c');
      assert.deepEqual(await ok(c, 'LIST "" "a*"'), [
        '* LIST (\\HasChildren) "/" "a"',
        '* LIST (\\HasChildren) "/" "a/b"',
        '* LIST (\\HasNoChildren) "/" "a/b/c"',
      ]);
      await ok(c, 'DELETE a');
      // RFC 9051 §6.3.5 second example: "*" no longer shows "a", "%" shows it as \Noselect.
      assert.deepEqual(await ok(c, 'LIST "" "*"'), [
        '* LIST (\\HasNoChildren) "/" "INBOX"',
        '* LIST (\\HasChildren) "/" "a/b"',
        '* LIST (\\HasNoChildren) "/" "a/b/c"',
      ]);
      assert.deepEqual(await ok(c, 'LIST "" "%"'), [
        '* LIST (\\HasNoChildren) "/" "INBOX"',
        '* LIST (\\Noselect \\HasChildren) "/" "a"',
      ]);
      assert.deepEqual(await ok(c, 'LIST "" "a"'), []);
      await no(c, 'DELETE a', 'HASCHILDREN');
      await no(c, 'SELECT a', 'NONEXISTENT');
      await no(c, 'RENAME a z', 'NONEXISTENT', /hierarchy level/);
      await ok(c, 'CREATE a');
      assert.deepEqual(await ok(c, 'LIST "" "%"'), [
        '* LIST (\\HasNoChildren) "/" "INBOX"',
        '* LIST (\\HasChildren) "/" "a"',
      ]);
    });

    it('refuses unknown options and a lone RECURSIVEMATCH with BAD (RFC 5258 §3)', async () => {
      const { c } = await fresh();
      assert.equal((await c.cmd('LIST (RECURSIVEMATCH) "" "*"')).status, 'BAD');
      assert.equal((await c.cmd('LIST (REMOTE RECURSIVEMATCH) "" "*"')).status, 'BAD');
      assert.equal((await c.cmd('LIST (FOO) "" "*"')).status, 'BAD');
      assert.equal((await c.cmd('LIST "" "*" RETURN (FOO)')).status, 'BAD');
      assert.equal((await c.cmd('LIST "" "*" RETURN (STATUS (FOO))')).status, 'BAD');
    });

    describe('RFC 5258 §5 examples', () => {
      let c: ImapTestClient;
      before(async () => {
        const f = await fresh({
          clean: true,
          names: [
            'Fruit',
            'Fruit/Apple',
            'Fruit/Banana',
            'Fruit/Peach',
            'Tofu',
            'Vegetable',
            'Vegetable/Broccoli',
            'Vegetable/Corn',
          ],
        });
        c = f.c;
        // Example 2's subscriptions; "Fruit/Peach" stays subscribed after its mailbox is deleted.
        for (const name of ['Fruit', 'Fruit/Apple', 'Tofu', 'Vegetable/Corn']) {
          await h.store.mailboxes.setSubscribed(f.id, name, false);
        }
        await h.store.mailboxes.delete(f.id, 'Fruit/Peach');
      });

      it('1: the whole hierarchy ("inbox" has \\HasNoChildren here, not \\Marked \\NoInferiors)', async () => {
        assert.deepEqual(await ok(c, 'LIST "" "*"'), [
          '* LIST (\\HasNoChildren) "/" "INBOX"',
          '* LIST (\\HasChildren) "/" "Fruit"',
          '* LIST (\\HasNoChildren) "/" "Fruit/Apple"',
          '* LIST (\\HasNoChildren) "/" "Fruit/Banana"',
          '* LIST (\\HasNoChildren) "/" "Tofu"',
          '* LIST (\\HasChildren) "/" "Vegetable"',
          '* LIST (\\HasNoChildren) "/" "Vegetable/Broccoli"',
          '* LIST (\\HasNoChildren) "/" "Vegetable/Corn"',
        ]);
      });

      const subscribed = [
        '* LIST (\\HasNoChildren \\Subscribed) "/" "INBOX"',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "Fruit/Banana"',
        '* LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" "Fruit/Peach"',
        '* LIST (\\HasChildren \\Subscribed) "/" "Vegetable"',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "Vegetable/Broccoli"',
      ];
      it('2: LIST (SUBSCRIBED)', async () => {
        assert.deepEqual(await ok(c, 'LIST (SUBSCRIBED) "" "*"'), subscribed);
      });

      const children = [
        '* LIST (\\HasNoChildren) "/" "INBOX"',
        '* LIST (\\HasChildren) "/" "Fruit"',
        '* LIST (\\HasNoChildren) "/" "Tofu"',
        '* LIST (\\HasChildren) "/" "Vegetable"',
      ];
      it('3: RETURN (CHILDREN)', async () => {
        assert.deepEqual(await ok(c, 'LIST () "" "%" RETURN (CHILDREN)'), children);
      });

      it('4 and 5: REMOTE changes nothing without remote mailboxes', async () => {
        assert.deepEqual(await ok(c, 'LIST (REMOTE) "" "%" RETURN (CHILDREN)'), children);
        assert.deepEqual(await ok(c, 'LIST (REMOTE SUBSCRIBED) "" "*"'), subscribed);
      });

      it('6: RETURN (SUBSCRIBED)', async () => {
        assert.deepEqual(await ok(c, 'LIST (REMOTE) "" "*" RETURN (SUBSCRIBED)'), [
          '* LIST (\\HasNoChildren \\Subscribed) "/" "INBOX"',
          '* LIST (\\HasChildren) "/" "Fruit"',
          '* LIST (\\HasNoChildren) "/" "Fruit/Apple"',
          '* LIST (\\HasNoChildren \\Subscribed) "/" "Fruit/Banana"',
          '* LIST (\\HasNoChildren) "/" "Tofu"',
          '* LIST (\\HasChildren \\Subscribed) "/" "Vegetable"',
          '* LIST (\\HasNoChildren \\Subscribed) "/" "Vegetable/Broccoli"',
          '* LIST (\\HasNoChildren) "/" "Vegetable/Corn"',
        ]);
      });

      it('7: several patterns, each name once', async () => {
        const f = await fresh({ names: ['Sent/March2004', 'Sent/December2003', 'Sent/August2004'] });
        assert.deepEqual(await ok(f.c, 'LIST "" ("INBOX" "Drafts" "Sent/%" "Sent/*")'), [
          '* LIST (\\HasNoChildren) "/" "INBOX"',
          '* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"',
          '* LIST (\\HasNoChildren) "/" "Sent/August2004"',
          '* LIST (\\HasNoChildren) "/" "Sent/December2003"',
          '* LIST (\\HasNoChildren) "/" "Sent/March2004"',
        ]);
      });

      it('8: \\HasNoChildren versus CHILDINFO', async () => {
        const f = await fresh({ clean: true, names: ['Foo', 'Foo/Bar', 'Foo/Baz', 'Moo'] });
        assert.deepEqual(await ok(f.c, 'LIST "" "%" RETURN (CHILDREN)'), [
          '* LIST (\\HasNoChildren) "/" "INBOX"',
          '* LIST (\\HasChildren) "/" "Foo"',
          '* LIST (\\HasNoChildren) "/" "Moo"',
        ]);
        // A) only Foo/Baz is subscribed.
        await unsubscribeAll(f.id);
        await ok(f.c, 'SUBSCRIBE Foo/Baz');
        assert.deepEqual(await ok(f.c, 'LIST (SUBSCRIBED) "" "*"'), [
          '* LIST (\\HasNoChildren \\Subscribed) "/" "Foo/Baz"',
        ]);
        assert.deepEqual(await ok(f.c, 'LIST (SUBSCRIBED) "" "%"'), []);
        assert.deepEqual(await ok(f.c, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"'), [
          '* LIST (\\HasChildren) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))',
        ]);
        // A1) Foo subscribed too.
        await ok(f.c, 'SUBSCRIBE Foo');
        assert.deepEqual(await ok(f.c, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)'), [
          '* LIST (\\HasChildren \\Subscribed) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))',
        ]);
        // A2) Foo is not part of the hierarchy (deleted; its children stay) and not subscribed (a deleted
        // mailbox's subscription stays until UNSUBSCRIBE, RFC 3501 §6.3.6).
        await ok(f.c, 'DELETE Foo');
        await ok(f.c, 'UNSUBSCRIBE Foo');
        assert.deepEqual(await ok(f.c, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"'), [
          '* LIST (\\NonExistent \\HasChildren) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))',
        ]);
        // B) nothing subscribed: no responses, although Foo has children.
        await ok(f.c, 'CREATE Foo');
        await unsubscribeAll(f.id);
        assert.deepEqual(await ok(f.c, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"'), []);
        // C) Foo and Moo subscribed: Foo has children, none of them subscribed.
        await ok(f.c, 'SUBSCRIBE Foo');
        await ok(f.c, 'SUBSCRIBE Moo');
        assert.deepEqual(await ok(f.c, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)'), [
          '* LIST (\\HasChildren \\Subscribed) "/" "Foo"',
          '* LIST (\\HasNoChildren \\Subscribed) "/" "Moo"',
        ]);
      });

      it('9: CHILDINFO whether or not children match the pattern', async () => {
        const f = await fresh({
          clean: true,
          names: [
            'foo2',
            'foo2/bar1',
            'foo2/bar2',
            'baz2',
            'baz2/bar2',
            'baz2/bar22',
            'baz2/bar222',
            'eps2',
            'eps2/mamba',
            'qux2/bar2', // no "qux2" mailbox, as in the RFC
          ],
        });
        for (const name of ['INBOX', 'foo2', 'baz2']) await h.store.mailboxes.setSubscribed(f.id, name, false);
        assert.deepEqual(await ok(f.c, 'LIST (SUBSCRIBED) "" "*"'), [
          '* LIST (\\HasNoChildren \\Subscribed) "/" "baz2/bar2"',
          '* LIST (\\HasNoChildren \\Subscribed) "/" "baz2/bar22"',
          '* LIST (\\HasNoChildren \\Subscribed) "/" "baz2/bar222"',
          '* LIST (\\HasChildren \\Subscribed) "/" "eps2"',
          '* LIST (\\HasNoChildren \\Subscribed) "/" "eps2/mamba"',
          '* LIST (\\HasNoChildren \\Subscribed) "/" "foo2/bar1"',
          '* LIST (\\HasNoChildren \\Subscribed) "/" "foo2/bar2"',
          '* LIST (\\HasNoChildren \\Subscribed) "/" "qux2/bar2"',
        ]);
        // D03: baz2 is left out (all its subscribed children match "*2"); foo2 and eps2 get CHILDINFO.
        assert.deepEqual(await ok(f.c, 'LIST (RECURSIVEMATCH SUBSCRIBED) "" "*2"'), [
          '* LIST (\\HasNoChildren \\Subscribed) "/" "baz2/bar2"',
          '* LIST (\\HasNoChildren \\Subscribed) "/" "baz2/bar22"',
          '* LIST (\\HasNoChildren \\Subscribed) "/" "baz2/bar222"',
          '* LIST (\\HasChildren \\Subscribed) "/" "eps2" ("CHILDINFO" ("SUBSCRIBED"))',
          '* LIST (\\HasChildren) "/" "foo2" ("CHILDINFO" ("SUBSCRIBED"))',
          '* LIST (\\HasNoChildren \\Subscribed) "/" "foo2/bar2"',
          '* LIST (\\HasNoChildren \\Subscribed) "/" "qux2/bar2"',
        ]);
        // With "%" every top level has subscribed children outside the pattern; qux2 does not exist.
        assert.deepEqual(await ok(f.c, 'LIST (RECURSIVEMATCH SUBSCRIBED) "" "%"'), [
          '* LIST (\\HasChildren) "/" "baz2" ("CHILDINFO" ("SUBSCRIBED"))',
          '* LIST (\\HasChildren \\Subscribed) "/" "eps2" ("CHILDINFO" ("SUBSCRIBED"))',
          '* LIST (\\HasChildren) "/" "foo2" ("CHILDINFO" ("SUBSCRIBED"))',
          '* LIST (\\NonExistent \\HasChildren) "/" "qux2" ("CHILDINFO" ("SUBSCRIBED"))',
        ]);
      });
    });

    it('LIST-STATUS: the RFC 5819 example, STATUS after each selectable mailbox', async () => {
      const f = await fresh({ clean: true, names: ['foo', 'bar/x'] });
      await h.store.mailboxes.delete(f.id, 'bar/x');
      await h.store.mailboxes.create(f.id, 'bar/y');
      const first = await h.deliver(f.id, message('one'));
      await h.deliver(f.id, message('two'));
      await h.store.messages.setFlags({
        mailboxId: (await h.store.mailboxes.get(f.id, 'INBOX'))!.id,
        uids: [first],
        op: 'add',
        flags: ['\\Seen'],
      });
      for (let i = 0; i < 3; i++) await h.deliver(f.id, message(`foo ${i}`), 'foo');
      assert.deepEqual(await ok(f.c, 'LIST "" % RETURN (STATUS (MESSAGES UNSEEN))'), [
        '* LIST (\\HasNoChildren) "/" "INBOX"',
        '* STATUS "INBOX" (MESSAGES 2 UNSEEN 1)',
        '* LIST (\\Noselect \\HasChildren) "/" "bar"',
        '* LIST (\\HasNoChildren) "/" "foo"',
        '* STATUS "foo" (MESSAGES 3 UNSEEN 3)',
      ]);
      // With other return options, and for the selected mailbox (after its pending EXISTS).
      await ok(f.c, 'SELECT INBOX');
      await h.deliver(f.id, message('three'));
      assert.deepEqual(await ok(f.c, 'LIST "" "INBOX" RETURN (SUBSCRIBED STATUS (MESSAGES UIDNEXT))'), [
        '* 3 EXISTS',
        '* 3 RECENT', // all three are \\Recent in this session, the first to be told of them
        '* LIST (\\HasNoChildren \\Subscribed) "/" "INBOX"',
        '* STATUS "INBOX" (MESSAGES 3 UIDNEXT 4)',
      ]);
    });

    it('SPECIAL-USE selection and return options (RFC 6154 §5)', async () => {
      const { c } = await fresh();
      await ok(c, 'CREATE Lists/Sent2 (USE (\\Sent))');
      assert.deepEqual(await ok(c, 'LIST (SPECIAL-USE) "" "*"'), [
        '* LIST (\\HasNoChildren \\Archive) "/" "Archive"',
        '* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"',
        '* LIST (\\HasNoChildren \\Junk) "/" "Junk"',
        '* LIST (\\HasNoChildren \\Sent) "/" "Lists/Sent2"',
        '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
        '* LIST (\\HasNoChildren \\Trash) "/" "Trash"',
      ]);
      assert.deepEqual(await ok(c, 'LIST "" "%" RETURN (SPECIAL-USE)'), [
        '* LIST (\\HasNoChildren) "/" "INBOX"',
        '* LIST (\\HasNoChildren \\Archive) "/" "Archive"',
        '* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"',
        '* LIST (\\HasNoChildren \\Junk) "/" "Junk"',
        '* LIST (\\HasChildren) "/" "Lists"',
        '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
        '* LIST (\\HasNoChildren \\Trash) "/" "Trash"',
      ]);
      assert.deepEqual(await ok(c, 'LIST (SPECIAL-USE RECURSIVEMATCH) "" "L%"'), [
        '* LIST (\\HasChildren) "/" "Lists" ("CHILDINFO" ("SPECIAL-USE"))',
      ]);
    });
  });

  describe('CREATE', () => {
    it('creates, with implicit parents, a trailing separator and [MAILBOXID]', async () => {
      const { c, id } = await fresh({ clean: true });
      const r = await c.cmd('CREATE x/y/z');
      assert.match(r.tagged, /^t\d+ OK \[MAILBOXID \(M\d+\)\] CREATE completed$/);
      const made = await h.store.mailboxes.get(id, 'x/y/z');
      assert.equal(r.tagged.match(/\(M(\d+)\)/)?.[1], String(made!.uidValidity));
      // RFC 9051 §6.3.4: the superiors exist as real mailboxes.
      assert.deepEqual(await ok(c, 'LIST "" "x*"'), [
        '* LIST (\\HasChildren) "/" "x"',
        '* LIST (\\HasChildren) "/" "x/y"',
        '* LIST (\\HasNoChildren) "/" "x/y/z"',
      ]);
      await ok(c, 'CREATE New/');
      assert.deepEqual(await ok(c, 'LIST "" "New*"'), ['* LIST (\\HasNoChildren) "/" "New"']);
      await ok(c, 'CREATE inbox/Sub');
      assert.deepEqual(await ok(c, 'LIST "" "inbox/*"'), ['* LIST (\\HasNoChildren) "/" "INBOX/Sub"']);
      assert.ok(await h.store.mailboxes.get(id, 'INBOX/Sub'));
    });

    it('refuses existing names and INBOX with [ALREADYEXISTS]', async () => {
      const { c } = await fresh();
      await no(c, 'CREATE Sent', 'ALREADYEXISTS');
      await no(c, 'CREATE Sent/', 'ALREADYEXISTS');
      await no(c, 'CREATE INBOX', 'ALREADYEXISTS');
      await no(c, 'CREATE inbox', 'ALREADYEXISTS');
    });

    it('refuses unsafe or ambiguous names with clear texts', async () => {
      const { c, id } = await fresh();
      const before = (await h.store.mailboxes.list(id)).length;
      await no(c, 'CREATE "a//b"', 'CANNOT', /empty hierarchy level/);
      await no(c, 'CREATE "/a"', 'CANNOT', /cannot start with the hierarchy separator/);
      await no(c, 'CREATE "//"', 'CANNOT', /separator/);
      await no(c, 'CREATE ""', 'CANNOT', /cannot be empty/);
      await no(c, 'CREATE "/"', 'CANNOT', /cannot be empty/);
      await no(c, 'CREATE "a*"', 'CANNOT', /wildcards/);
      await no(c, 'CREATE "a%b"', 'CANNOT', /wildcards/);
      await no(c, 'CREATE "x/../y"', 'CANNOT', /"\.\."/);
      await no(c, 'CREATE "./y"', 'CANNOT', /"\."/);
      await no(c, `CREATE "${'n'.repeat(1025)}"`, 'LIMIT', /1024 bytes/);
      await ok(c, `CREATE "${'n'.repeat(1024)}"`);
      // A name no CREATE could make is no TRYCREATE for COPY, MOVE and APPEND (RFC 9051 §7.1).
      await no(c, 'APPEND "" {1+}\r\nx', 'CANNOT', /cannot be empty/);
      await no(c, 'APPEND "a*" {1+}\r\nx', 'CANNOT', /wildcards/);
      await no(c, 'APPEND "nope" {1+}\r\nx', 'TRYCREATE');
      await ok(c, 'APPEND INBOX {1+}\r\nx');
      await ok(c, 'SELECT INBOX');
      await no(c, 'COPY 1 ""', 'CANNOT', /cannot be empty/);
      await no(c, 'MOVE 1 "x//y"', 'CANNOT', /empty hierarchy level/);
      await no(c, 'COPY 1 nope', 'TRYCREATE');
      // Control characters never get past the parser: BAD (syntax), not NO.
      const tag = c.nextTag();
      c.write(`${tag} CREATE {3+}\r\na\x00b\r\n`);
      assert.match((await c.until(tag)).tagged, /BAD .*NUL/);
      const tag2 = c.nextTag();
      c.write(`${tag2} CREATE {3+}\r\na\rb\r\n`);
      assert.match((await c.until(tag2)).tagged, /BAD .*control character/);
      assert.equal((await h.store.mailboxes.list(id)).length, before + 1);
    });

    it('CREATE-SPECIAL-USE: USE (\\Drafts), and [USEATTR] for what cannot be given', async () => {
      const { c, id } = await fresh();
      await ok(c, 'CREATE Entwurf (USE (\\Drafts))');
      assert.deepEqual(await ok(c, 'LIST "" Entwurf'), ['* LIST (\\HasNoChildren \\Drafts) "/" "Entwurf"']);
      await no(c, 'CREATE All (USE (\\All))', 'USEATTR');
      await no(c, 'CREATE Two (USE (\\Sent \\Trash))', 'USEATTR');
      assert.equal(await h.store.mailboxes.get(id, 'All'), null);
      assert.equal(await h.store.mailboxes.get(id, 'Two'), null);
      await ok(c, 'CREATE Plain (USE ())');
      assert.equal((await c.cmd('CREATE X (FOO)')).status, 'BAD');
    });
  });

  describe('DELETE', () => {
    it('deletes a mailbox with its messages and keeps its children', async () => {
      const { c, id } = await fresh();
      await ok(c, 'CREATE Old/Child');
      await h.deliver(id, message('old'), 'Old');
      await ok(c, 'DELETE Old');
      await no(c, 'STATUS Old (MESSAGES)', 'NONEXISTENT');
      assert.ok(await h.store.mailboxes.get(id, 'Old/Child'));
      await no(c, 'DELETE Old', 'HASCHILDREN');
      await ok(c, 'DELETE Old/Child');
      await no(c, 'DELETE Old', 'NONEXISTENT');
    });

    it('refuses INBOX and unknown names', async () => {
      const { c } = await fresh();
      await no(c, 'DELETE INBOX', 'CANNOT', /INBOX cannot be deleted/);
      await no(c, 'DELETE inbox', 'CANNOT');
      await no(c, 'DELETE Nope', 'NONEXISTENT');
    });
  });

  describe('RENAME', () => {
    it('renames with children, keeping UIDVALIDITY and MAILBOXID', async () => {
      const { c } = await fresh();
      await ok(c, 'CREATE Fruit/Apple');
      await ok(c, 'CREATE Fruit/Banana');
      const before = await ok(c, 'STATUS Fruit (UIDVALIDITY MAILBOXID)');
      await ok(c, 'RENAME Fruit Obst');
      assert.deepEqual(await ok(c, 'LIST "" "Fruit*"'), []);
      assert.deepEqual(await ok(c, 'LIST "" "Obst*"'), [
        '* LIST (\\HasChildren) "/" "Obst"',
        '* LIST (\\HasNoChildren) "/" "Obst/Apple"',
        '* LIST (\\HasNoChildren) "/" "Obst/Banana"',
      ]);
      assert.deepEqual(await ok(c, 'STATUS Obst (UIDVALIDITY MAILBOXID)'), [before[0].replace('"Fruit"', '"Obst"')]);
    });

    it('creates the superiors of the new name, also when moving into its own subtree', async () => {
      const { c } = await fresh({ clean: true });
      await ok(c, 'CREATE Tofu');
      await ok(c, 'RENAME Tofu deep/er/Tofu');
      assert.deepEqual(await ok(c, 'LIST "" "deep*"'), [
        '* LIST (\\HasChildren) "/" "deep"',
        '* LIST (\\HasChildren) "/" "deep/er"',
        '* LIST (\\HasNoChildren) "/" "deep/er/Tofu"',
      ]);
      // Only SUBSCRIBE subscribes (RFC 9051 §6.3.7): the superiors a RENAME makes are not, like CREATE's.
      assert.deepEqual(await ok(c, 'LSUB "" "deep*"'), []);
      await ok(c, 'CREATE x/c');
      await ok(c, 'RENAME x x/y');
      assert.deepEqual(await ok(c, 'LIST "" "x*"'), [
        '* LIST (\\HasChildren) "/" "x"',
        '* LIST (\\HasChildren) "/" "x/y"',
        '* LIST (\\HasNoChildren) "/" "x/y/c"',
      ]);
    });

    it('renames INBOX by moving its messages (RFC 9051 §6.3.6)', async () => {
      const { c, id } = await fresh();
      await h.deliver(id, message('a'));
      await h.deliver(id, message('b'));
      await ok(c, 'CREATE INBOX/Kept');
      const inbox = await ok(c, 'STATUS INBOX (UIDVALIDITY UIDNEXT)');
      await ok(c, 'SELECT INBOX');
      // The selected INBOX loses its messages: EXPUNGE responses before the tagged OK, then the new
      // RECENT count (they were \Recent in this session; RFC 3501 §7.3.2).
      assert.deepEqual(await ok(c, 'RENAME INBOX "Old Inbox"'), ['* 1 EXPUNGE', '* 1 EXPUNGE', '* 0 RECENT']);
      assert.deepEqual(await ok(c, 'STATUS INBOX (MESSAGES)'), ['* STATUS "INBOX" (MESSAGES 0)']);
      assert.deepEqual(await ok(c, 'STATUS "Old Inbox" (MESSAGES UIDNEXT)'), [
        '* STATUS "Old Inbox" (MESSAGES 2 UIDNEXT 3)',
      ]);
      assert.deepEqual(await ok(c, 'STATUS INBOX (UIDVALIDITY UIDNEXT)'), inbox);
      assert.ok(await h.store.mailboxes.get(id, 'INBOX/Kept'));
    });

    it('refuses unknown sources, taken targets and bad names', async () => {
      const { c } = await fresh();
      await no(c, 'RENAME Nope X', 'NONEXISTENT');
      await no(c, 'RENAME Sent Trash', 'ALREADYEXISTS');
      await no(c, 'RENAME Sent INBOX', 'ALREADYEXISTS');
      await no(c, 'RENAME Sent inbox', 'ALREADYEXISTS');
      await no(c, 'RENAME Sent Sent', 'ALREADYEXISTS');
      await no(c, 'RENAME Sent "a//b"', 'CANNOT');
      await no(c, 'RENAME Sent "S*"', 'CANNOT');
      await ok(c, 'CREATE p/child');
      await no(c, `RENAME p "${'q'.repeat(1020)}"`, 'LIMIT', /child/);
    });
  });

  describe('SUBSCRIBE, UNSUBSCRIBE, LSUB', () => {
    it('tracks subscriptions of existing mailboxes', async () => {
      const { c } = await fresh();
      await ok(c, 'UNSUBSCRIBE Junk');
      assert.ok(!(await ok(c, 'LIST (SUBSCRIBED) "" "*"')).some((l) => l.endsWith('"Junk"')));
      assert.deepEqual(await ok(c, 'LSUB "" "*"'), [
        '* LSUB () "/" "INBOX"',
        '* LSUB () "/" "Archive"',
        '* LSUB () "/" "Drafts"',
        '* LSUB () "/" "Sent"',
        '* LSUB () "/" "Trash"',
      ]);
      assert.ok(
        (await ok(c, 'LIST "" "*" RETURN (SUBSCRIBED)')).includes('* LIST (\\HasNoChildren \\Junk) "/" "Junk"'),
      );
      await ok(c, 'SUBSCRIBE Junk');
      assert.ok((await ok(c, 'LSUB "" "J*"')).includes('* LSUB () "/" "Junk"'));
      await ok(c, 'UNSUBSCRIBE Nope'); // not subscribed afterwards, as asked
      await ok(c, 'UNSUBSCRIBE Junk');
      await ok(c, 'UNSUBSCRIBE Junk');
      await no(c, 'SUBSCRIBE Nope', 'NONEXISTENT', /CREATE it first/);
      await ok(c, 'SUBSCRIBE inbox');
      // A refused SUBSCRIBE leaves nothing behind: a mailbox of that name made later is not subscribed.
      await ok(c, 'CREATE Elsewhere');
      await ok(c, 'RENAME Elsewhere Nope/Inner');
      assert.deepEqual(await ok(c, 'LSUB "" "Nope*"'), []);
    });

    it('LSUB with a trailing % returns unsubscribed levels above subscribed ones as \\Noselect', async () => {
      const { c, id } = await fresh({ clean: true });
      await ok(c, 'CREATE p/q'); // CREATE subscribes neither p/q nor its superior p
      await ok(c, 'SUBSCRIBE p/q');
      assert.deepEqual(await ok(c, 'LSUB "" "%"'), ['* LSUB () "/" "INBOX"', '* LSUB (\\Noselect) "/" "p"']);
      assert.deepEqual(await ok(c, 'LSUB "" "*"'), ['* LSUB () "/" "INBOX"', '* LSUB () "/" "p/q"']);
      assert.deepEqual(await ok(c, 'LSUB "p/" "%"'), ['* LSUB () "/" "p/q"']);
      await h.store.mailboxes.setSubscribed(id, 'p/q', false);
      assert.deepEqual(await ok(c, 'LSUB "" "%"'), ['* LSUB () "/" "INBOX"']);
    });
  });

  describe('STATUS', () => {
    it('returns every item, in the order asked, each once', async () => {
      const { c, id } = await fresh();
      const inbox = (await h.store.mailboxes.get(id, 'INBOX'))!;
      const uids = [
        await h.deliver(id, message('one', 100)),
        await h.deliver(id, message('two', 2000)),
        await h.deliver(id, message('three', 300)),
      ];
      await h.store.messages.setFlags({ mailboxId: inbox.id, uids: [uids[0]], op: 'add', flags: ['\\Seen'] });
      await h.store.messages.setFlags({ mailboxId: inbox.id, uids: [uids[1]], op: 'add', flags: ['\\Deleted'] });
      const infos = await h.store.messages.list(inbox.id);
      const size = infos.reduce((s, m) => s + m.size, 0);
      const current = (await h.store.mailboxes.get(id, 'INBOX'))!;
      const [line] = await ok(
        c,
        'STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ APPENDLIMIT MAILBOXID DELETED-STORAGE RECENT MESSAGES)',
      );
      assert.equal(
        line,
        `* STATUS "INBOX" (MESSAGES 3 UIDNEXT 4 UIDVALIDITY ${inbox.uidValidity} UNSEEN 2 DELETED 1 SIZE ${size} ` +
          `HIGHESTMODSEQ ${current.highestModseq} APPENDLIMIT ${10 * 1024 * 1024} MAILBOXID (M${inbox.uidValidity}) ` +
          `DELETED-STORAGE ${Math.ceil(infos[1].size / 1024)} RECENT 3)`, // no session has selected INBOX yet
      );
      await no(c, 'STATUS Nope (MESSAGES)', 'NONEXISTENT');
      assert.equal((await c.cmd('STATUS INBOX (BOGUS)')).status, 'BAD');
      assert.equal((await c.cmd('STATUS INBOX ()')).status, 'BAD');
    });

    it('works on the selected mailbox, announcing pending changes first', async () => {
      const { c, id } = await fresh();
      await ok(c, 'SELECT INBOX');
      await h.deliver(id, message('new'));
      assert.deepEqual(await ok(c, 'STATUS inbox (MESSAGES)'), [
        '* 1 EXISTS',
        '* 1 RECENT', // IMAP4rev1: RECENT follows EXISTS (RFC 3501 §7.3.2)
        '* STATUS "INBOX" (MESSAGES 1)',
      ]);
    });
  });

  describe('international names', () => {
    it('modified UTF-7 for IMAP4rev1 clients, UTF-8 after ENABLE IMAP4rev2', async () => {
      const { c, id, user } = await fresh({ clean: true });
      await ok(c, 'CREATE "Entw&APw-rfe"');
      assert.ok(await h.store.mailboxes.get(id, 'Entwürfe'));
      assert.deepEqual(await ok(c, 'LIST "" "Entw*"'), ['* LIST (\\HasNoChildren) "/" "Entw&APw-rfe"']);
      assert.deepEqual(await ok(c, 'STATUS "Entw&APw-rfe" (MESSAGES)'), ['* STATUS "Entw&APw-rfe" (MESSAGES 0)']);
      assert.equal((await c.cmd('CREATE "Größe"')).status, 'BAD'); // 8-bit needs UTF-8 mode

      const d = await h.connect({ user });
      await ok(d, 'ENABLE IMAP4rev2');
      assert.deepEqual(await ok(d, 'LIST "" "Entw*"'), ['* LIST (\\HasNoChildren) "/" "Entwürfe"']);
      assert.deepEqual(await ok(d, 'STATUS "Entwürfe" (MESSAGES)'), ['* STATUS "Entwürfe" (MESSAGES 0)']);
      await ok(d, 'CREATE "Größe/Maß"');
      await ok(d, 'RENAME "Entwürfe" "Entwürfe alt"');

      const utf7 = encodeModifiedUtf7('Größe');
      assert.equal(utf7, 'Gr&APYA3w-e');
      assert.deepEqual(await ok(c, 'LIST "" "*"'), [
        '* LIST (\\HasNoChildren) "/" "INBOX"',
        '* LIST (\\HasNoChildren) "/" "Entw&APw-rfe alt"',
        '* LIST (\\HasChildren) "/" "Gr&APYA3w-e"',
        '* LIST (\\HasNoChildren) "/" "Gr&APYA3w-e/Ma&AN8-"',
      ]);
      await ok(c, 'DELETE "Gr&APYA3w-e/Ma&AN8-"');
      assert.deepEqual(await ok(d, 'LIST "" "Gr*"'), ['* LIST (\\HasNoChildren) "/" "Größe"']);
    });
  });

  describe('QUOTA', () => {
    it('an account without a limit has no quota root (RFC 9208 §4.2.2)', async () => {
      const { c } = await fresh();
      assert.deepEqual(await ok(c, 'GETQUOTAROOT INBOX'), ['* QUOTAROOT "INBOX"']);
      assert.deepEqual(await ok(c, 'GETQUOTAROOT inbox'), ['* QUOTAROOT "INBOX"']);
      await no(c, 'GETQUOTA ""', 'NONEXISTENT', /no quota/);
      await no(c, 'GETQUOTA "other"', 'NONEXISTENT');
      await no(c, 'GETQUOTAROOT Nope', 'NONEXISTENT');
      await no(c, 'SETQUOTA "" (STORAGE 100)', 'NOPERM', /postbode user quota/);
      assert.equal((await c.cmd('GETQUOTA')).status, 'BAD');
    });

    it('reports STORAGE in KiB and gives APPEND its check', async () => {
      const { c, id, user } = await fresh();
      await h.store.accounts.update(user, { quotaBytes: 10 * 1024 + 500 });
      await h.deliver(id, message('big', 1500));
      const used = await h.store.accounts.usage(id);
      assert.deepEqual(await ok(c, 'GETQUOTAROOT INBOX'), [
        '* QUOTAROOT "INBOX" ""',
        `* QUOTA "" (STORAGE ${Math.ceil(used / 1024)} 10)`,
      ]);
      assert.deepEqual(await ok(c, 'GETQUOTA ""'), [`* QUOTA "" (STORAGE ${Math.ceil(used / 1024)} 10)`]);
      assert.deepEqual(await quotaCheck(h.store, id, 100), { ok: true, used, limit: 10 * 1024 + 500 });
      assert.deepEqual(await quotaCheck(h.store, id, 10 * 1024), { ok: false, used, limit: 10 * 1024 + 500 });
      const other = await fresh();
      assert.deepEqual(await quotaCheck(h.store, other.id, 1e12), { ok: true, used: 0, limit: null });
    });
  });

  describe('with a second session', () => {
    it('keeps a selected mailbox working through RENAME and tells it about DELETE', async () => {
      const { c: a, id, user } = await fresh();
      await ok(a, 'CREATE Work');
      await h.deliver(id, message('w1'), 'Work');
      await h.deliver(id, message('w2'), 'Work');
      const b = await h.connect({ user });
      const sel = await ok(b, 'SELECT Work');
      assert.ok(sel.includes('* 2 EXISTS'));
      await ok(a, 'RENAME Work Play');
      assert.deepEqual(await ok(b, 'NOOP'), []);
      assert.deepEqual(await ok(b, 'STATUS Play (MESSAGES)'), ['* STATUS "Play" (MESSAGES 2)']);
      await h.deliver(id, message('w3'), 'Play');
      assert.deepEqual(await ok(b, 'NOOP'), ['* 3 EXISTS', '* 3 RECENT']); // B selected Work first
      // B idles while A creates a mailbox; B's LIST sees it afterwards.
      const tag = b.nextTag();
      b.write(`${tag} IDLE\r\n`);
      assert.equal(await b.line(), '+ idling');
      await ok(a, 'CREATE Fresh');
      b.write('DONE\r\n');
      assert.equal((await b.until(tag)).status, 'OK');
      assert.deepEqual(await ok(b, 'LIST "" Fresh'), ['* LIST (\\HasNoChildren) "/" "Fresh"']);
      // A deletes the mailbox B has selected: B learns of the expunged messages at its next NOOP.
      await ok(a, 'DELETE Play');
      assert.deepEqual(await ok(b, 'NOOP'), ['* 1 EXPUNGE', '* 1 EXPUNGE', '* 1 EXPUNGE', '* 0 RECENT']);
      assert.ok((await ok(b, 'SELECT INBOX')).includes('* 0 EXISTS'));
      await no(b, 'SELECT Play', 'NONEXISTENT');
    });

    it('deleting the mailbox this session has selected sends its EXPUNGEs', async () => {
      const { c, id } = await fresh();
      await ok(c, 'CREATE Gone');
      await h.deliver(id, message('g'), 'Gone');
      await ok(c, 'SELECT Gone');
      const r = await ok(c, 'DELETE Gone');
      const rest = r.length ? r : await ok(c, 'NOOP');
      // The message was \Recent in this session: RECENT follows with the new count (RFC 3501 §7.3.2).
      assert.deepEqual(rest, ['* 1 EXPUNGE', '* 0 RECENT']);
      await ok(c, 'SELECT INBOX');
    });

    it("keeps one account away from another account's mailboxes", async () => {
      const alice = await fresh();
      const bob = await fresh();
      await ok(alice.c, 'CREATE Secret');
      await h.deliver(alice.id, message('secret'), 'Secret');
      await no(bob.c, 'SELECT Secret', 'NONEXISTENT');
      await no(bob.c, 'STATUS Secret (MESSAGES)', 'NONEXISTENT');
      await no(bob.c, `STATUS "../${alice.user}/Secret" (MESSAGES)`, 'NONEXISTENT');
      await no(bob.c, 'DELETE Secret', 'NONEXISTENT');
      await no(bob.c, 'RENAME Secret Mine', 'NONEXISTENT');
      assert.deepEqual(await ok(bob.c, 'LIST "" "*Secret*"'), []);
      await ok(bob.c, 'CREATE Secret');
      assert.deepEqual(await ok(bob.c, 'STATUS Secret (MESSAGES)'), ['* STATUS "Secret" (MESSAGES 0)']);
      assert.deepEqual(await ok(alice.c, 'STATUS Secret (MESSAGES)'), ['* STATUS "Secret" (MESSAGES 1)']);
    });
  });

  it('works with Python imaplib: list, create, rename, status, delete', async () => {
    const { user } = await fresh();
    const script = `
import imaplib, json, sys
M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
M.login(sys.argv[2], 'pw')
out = {}
out['create'] = M.create('Py/Sub')[0]
M.subscribe('Py')
M.subscribe('Py/Sub')
out['rename'] = M.rename('Py', 'Py2')[0]
typ, data = M.list('""', 'Py2*')
out['list'] = [d.decode() for d in data]
typ, data = M.status('Py2/Sub', '(MESSAGES UIDNEXT)')
out['status'] = data[0].decode()
out['delete'] = M.delete('Py2/Sub')[0]
out['delete_inbox'] = M.delete('INBOX')[0]
out['lsub'] = [d.decode() for d in M.lsub('""', 'Py2*')[1]]
M.logout()
print(json.dumps(out))
`;
    const { stdout } = await promisify(execFile)('python3', ['-c', script, String(h.port), user], { timeout: 20000 });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    assert.equal(out.create, 'OK');
    assert.equal(out.rename, 'OK');
    assert.deepEqual(out.list, ['(\\HasChildren) "/" "Py2"', '(\\HasNoChildren) "/" "Py2/Sub"']);
    assert.equal(out.status, '"Py2/Sub" (MESSAGES 0 UIDNEXT 1)');
    assert.equal(out.delete, 'OK');
    assert.equal(out.delete_inbox, 'NO');
    // Subscriptions move with RENAME; the deleted Py2/Sub stays subscribed (RFC 3501 §6.3.6).
    assert.deepEqual(out.lsub, ['() "/" "Py2"', '() "/" "Py2/Sub"']);
  });

  describe('quota on SMTP delivery', () => {
    let smtpPort: number;
    let server: NetServer;
    before(async () => {
      const log = silentLogger();
      server = new NetServer({
        bus: new TraceBus(),
        log,
        limits: { connectionsPerIp: 100, maxConnections: 100 },
        tlsContext: () => {
          throw new Error('no TLS in this test');
        },
      });
      const delivery = new Delivery(h.store, { hostname: 'mx.example.test', product: 'postbode', log });
      const handler = smtpHandler(
        {
          hostname: 'mx.example.test',
          product: 'postbode',
          showVersion: false,
          strict: false,
          role: 'mx',
          maxMessageSize: 10 * 1024 * 1024,
          maxRecipients: 100,
          maxLineLength: 4096,
          idleTimeoutMs: 10_000,
          maxErrors: 50,
          maxAuthFailures: 3,
          authOnMx: false,
          tlsContext: null,
        },
        {
          plaintextAllowed: () => false,
          login: async () => ({ ok: false, reason: 'invalid' }),
          resolve: (a) => delivery.resolve(a),
          deliver: (m) => delivery.deliver(m),
        },
        log,
      );
      smtpPort = (await server.listen({ name: 'smtp', host: '127.0.0.1', port: 0, implicitTls: false, handler })).port;
    });
    after(() => server.close());

    it('452 at RCPT when full, 552 when SIZE= never fits, 552 after DATA when the message does not fit', async () => {
      const full = await fresh();
      const roomy = await fresh();
      await h.store.accounts.update(full.user, { quotaBytes: 4096 });
      const smtp = await SmtpLine.connect(smtpPort);
      assert.match(await smtp.reply(), /^220 /);
      assert.match(await smtp.send('EHLO client.example.test'), /^250 /);
      // SIZE larger than the whole quota: permanent.
      assert.match(await smtp.send('MAIL FROM:<s@ext.test> SIZE=5000'), /^250 /);
      assert.match(await smtp.send(`RCPT TO:<${full.user}>`), /^552 5\.2\.2 /);
      assert.match(await smtp.send('RSET'), /^250 /);
      // No SIZE: accepted at RCPT, refused after DATA (single recipient), nothing stored.
      assert.match(await smtp.send('MAIL FROM:<s@ext.test>'), /^250 /);
      assert.match(await smtp.send(`RCPT TO:<${full.user}>`), /^250 /);
      assert.match(await smtp.send('DATA'), /^354 /);
      assert.match(await smtp.send(`${message('big', 5000)}.`), /^552 5\.2\.2 Mailbox full/);
      assert.equal(await h.store.accounts.usage(full.id), 0);
      // A small one fits.
      assert.match(await smtp.send('MAIL FROM:<s@ext.test>'), /^250 /);
      assert.match(await smtp.send(`RCPT TO:<${full.user}>`), /^250 /);
      assert.match(await smtp.send('DATA'), /^354 /);
      assert.match(await smtp.send(`${message('small', 1000)}.`), /^250 /);
      const used = await h.store.accounts.usage(full.id);
      assert.ok(used > 1000 && used < 4096);
      // A declared size that does not fit now: temporary.
      assert.match(await smtp.send('MAIL FROM:<s@ext.test> SIZE=3500'), /^250 /);
      assert.match(await smtp.send(`RCPT TO:<${full.user}>`), /^452 4\.2\.2 /);
      assert.match(await smtp.send('RSET'), /^250 /);
      // Two recipients, one without room: both copies are delivered (grace; see delivery.ts).
      assert.match(await smtp.send('MAIL FROM:<s@ext.test>'), /^250 /);
      assert.match(await smtp.send(`RCPT TO:<${full.user}>`), /^250 /);
      assert.match(await smtp.send(`RCPT TO:<${roomy.user}>`), /^250 /);
      assert.match(await smtp.send('DATA'), /^354 /);
      assert.match(await smtp.send(`${message('shared', 3500)}.`), /^250 /);
      assert.ok((await h.store.accounts.usage(full.id)) > 4096);
      assert.ok((await h.store.accounts.usage(roomy.id)) > 3500);
      // Now the mailbox is full: refused at RCPT.
      assert.match(await smtp.send('MAIL FROM:<s@ext.test>'), /^250 /);
      assert.match(await smtp.send(`RCPT TO:<${full.user}>`), /^452 4\.2\.2 .*Mailbox full/);
      assert.match(await smtp.send(`RCPT TO:<${roomy.user}>`), /^250 /);
      assert.match(await smtp.send('QUIT'), /^221 /);
      smtp.close();
      // IMAP shows the overdraft.
      assert.match((await ok(full.c, 'GETQUOTA ""'))[0], /^\* QUOTA "" \(STORAGE [5-9] 4\)$/);
    });
  });
});

describe('mailbox-names', () => {
  it('checks new names', () => {
    assert.deepEqual(checkNewName('inbox/x'), { ok: true, name: 'INBOX/x' });
    assert.deepEqual(checkNewName('Entwürfe/2024'), { ok: true, name: 'Entwürfe/2024' });
    for (const bad of ['', '/a', 'a/', 'a//b', 'a*', 'a%', '.', 'a/./b', '..', 'a/..', 'a\u0000', 'a\nb', 'a\u0085']) {
      assert.equal(checkNewName(bad).ok, false, JSON.stringify(bad));
    }
    assert.deepEqual(checkNewName('ü'.repeat(513)), {
      ok: false,
      reason: 'Mailbox names are limited to 1024 bytes',
      limit: true,
    });
    assert.equal(checkNewName('ü'.repeat(512)).ok, true);
    assert.deepEqual(parentsOf('a/b/c'), ['a', 'a/b']);
    assert.deepEqual(parentsOf('a'), []);
  });

  it('matches patterns', () => {
    const table: [string, string, string, boolean][] = [
      ['', '*', 'a/b', true],
      ['', '%', 'a/b', false],
      ['', '%', 'a', true],
      ['', 'a/%', 'a/b', true],
      ['', 'a/%', 'a/b/c', false],
      ['', 'a/*', 'a/b/c', true],
      ['', '*/c', 'a/b/c', true],
      ['', '%/c', 'a/b/c', false],
      ['', '%/%/c', 'a/b/c', true],
      ['', 'a%c', 'abc', true],
      ['', 'a%c', 'a/c', false],
      ['', 'a*c', 'a/c', true],
      ['', '', '', true],
      ['', 'x', '', false],
      ['a/', 'b', 'a/b', true],
      ['a', 'b', 'ab', true],
      ['', 'inbox', 'INBOX', true],
      ['', 'inbox/%', 'INBOX/x', true],
      ['inbox/', '%', 'INBOX/x', true],
      ['', 'Inbox%', 'INBOX', false],
      ['', '*ü*', 'Entwürfe', true],
      ['', '%%%%%%%%b', 'aaaaaaaaaaaaaaaaaaaaaa', false],
    ];
    for (const [ref, pattern, name, expected] of table) {
      assert.equal(new ListPattern(ref, pattern).matches(name), expected, `${ref}|${pattern} vs ${name}`);
    }
  });
});

/** A minimal SMTP client: one command, its (possibly multi-line) reply's last line. */
class SmtpLine {
  #buf = '';
  #waiters: (() => void)[] = [];
  private constructor(private socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.#buf += d;
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static async connect(port: number): Promise<SmtpLine> {
    const socket = net.connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new SmtpLine(socket);
  }

  async reply(): Promise<string> {
    for (;;) {
      const lines = this.#buf.split('\r\n');
      for (let i = 0; i < lines.length - 1; i++) {
        if (/^\d{3} /.test(lines[i])) {
          this.#buf = lines.slice(i + 1).join('\r\n');
          return lines[i];
        }
      }
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`SMTP timeout; buffered ${JSON.stringify(this.#buf)}`)), 5000);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  send(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  close(): void {
    this.socket.destroy();
  }
}
