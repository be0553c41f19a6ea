/**
 * Regression tests for the behaviour changed to pass Dovecot's imaptest compliance suite, one per
 * change: \Recent for IMAP4rev1 sessions (RFC 3501 §2.3.2), FLAGS/PERMANENTFLAGS before a new
 * keyword (RFC 3501 §7.2.6), NUL as 0x80 in BODY[] but exact in BINARY[] (RFC 3501 §4.3, RFC 3516),
 * names that are not modified UTF-7 (RFC 3501 §5.1.3), SORT by i;ascii-casemap (RFC 5256 §2.1),
 * subscriptions by name (RFC 3501 §6.3.4, §6.3.6; RFC 5258 §3.1), and what imaptest's checkpoints
 * showed under concurrent load: `OK [EXPUNGEISSUED]` for a FETCH naming a message expunged elsewhere
 * (RFC 5530 §3), RECENT after an EXPUNGE of recent messages (RFC 3501 §7.3.2), FLAGS after a STORE,
 * silent or not, of a new keyword. Over a real listener and store (test/harness/imap-harness.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BytesClient } from '../../test/harness/imap-bytes-client.js';
import { type ImapHarness, type ImapTestClient, startImap } from '../../test/harness/imap-harness.js';
import { fetchItems } from '../../test/harness/mail-testing.js';

const message = (subject: string) => `From: a@example.test\r\nSubject: ${subject}\r\n\r\nbody ${subject}\r\n`;

describe('IMAP conformance (imaptest) regressions', () => {
  let h: ImapHarness;
  let n = 0;

  before(async () => {
    h = await startImap();
  });
  after(() => h.stop());

  /** A fresh account with `messages` in INBOX; the user name, its id and a logged-in client. */
  async function fresh(messages: string[] = []): Promise<{ c: ImapTestClient; id: number; user: string }> {
    const user = `conf${++n}@example.test`;
    const id = await h.account(user, 'pw');
    for (const m of messages) await h.deliver(id, m);
    const c = await h.connect({ user });
    return { c, id, user };
  }

  async function ok(c: ImapTestClient, command: string): Promise<string[]> {
    const r = await c.cmd(command);
    assert.equal(r.status, 'OK', `${command}: ${r.tagged}`);
    return r.untagged;
  }

  const recentLine = (lines: string[]) => lines.find((l) => / RECENT$/.test(l));

  describe('\\Recent (RFC 3501 §2.3.2), IMAP4rev1 only', () => {
    it('is claimed by the first SELECT: a second session sees the messages as not recent', async () => {
      const { c: first, id, user } = await fresh([message('one'), message('two')]);
      const second = await h.connect({ user });
      // STATUS and EXAMINE look without claiming.
      assert.deepEqual(await ok(second, 'STATUS INBOX (RECENT)'), ['* STATUS "INBOX" (RECENT 2)']);
      const examined = await ok(second, 'EXAMINE INBOX');
      assert.equal(recentLine(examined), '* 2 RECENT');
      await ok(second, 'UNSELECT');

      const selected = await ok(first, 'SELECT INBOX');
      assert.equal(recentLine(selected), '* 2 RECENT');
      assert.deepEqual(await ok(first, 'FETCH 1:2 (FLAGS)'), [
        '* 1 FETCH (FLAGS (\\Recent))',
        '* 2 FETCH (FLAGS (\\Recent))',
      ]);
      assert.deepEqual(await ok(first, 'SEARCH RECENT'), ['* SEARCH 1 2']);
      assert.deepEqual(await ok(first, 'SEARCH NEW'), ['* SEARCH 1 2']);
      assert.deepEqual(await ok(first, 'SEARCH OLD'), ['* SEARCH']);
      // STATUS of the selected mailbox counts what this session has as \Recent.
      assert.deepEqual(await ok(first, 'STATUS INBOX (RECENT)'), ['* STATUS "INBOX" (RECENT 2)']);

      // The second session comes after the claim (no restart in between): nothing is recent for it.
      const again = await ok(second, 'SELECT INBOX');
      assert.equal(recentLine(again), '* 0 RECENT');
      assert.deepEqual(await ok(second, 'FETCH 1:2 (FLAGS)'), ['* 1 FETCH (FLAGS ())', '* 2 FETCH (FLAGS ())']);
      assert.deepEqual(await ok(second, 'SEARCH RECENT'), ['* SEARCH']);
      assert.deepEqual(await ok(second, 'SEARCH OLD'), ['* SEARCH 1 2']);
      assert.deepEqual(await ok(second, 'STATUS INBOX (RECENT)'), ['* STATUS "INBOX" (RECENT 0)']);
      const third = await h.connect({ user });
      assert.deepEqual(await ok(third, 'STATUS INBOX (RECENT)'), ['* STATUS "INBOX" (RECENT 0)']);

      // A new message is recent in the session told of it first (RECENT follows EXISTS, §7.3.2).
      await h.deliver(id, message('three'));
      assert.deepEqual(await ok(second, 'NOOP'), ['* 3 EXISTS', '* 1 RECENT']);
      assert.deepEqual(await ok(first, 'NOOP'), ['* 3 EXISTS', '* 2 RECENT']);
      assert.deepEqual(await ok(second, 'FETCH 3 (FLAGS)'), ['* 3 FETCH (FLAGS (\\Recent))']);
      assert.deepEqual(await ok(first, 'FETCH 3 (FLAGS)'), ['* 3 FETCH (FLAGS ())']);
    });

    it('is never shown to IMAP4rev2 sessions (RFC 9051 Appendix E)', async () => {
      const { c } = await fresh([message('one')]);
      assert.deepEqual(await ok(c, 'ENABLE IMAP4rev2'), ['* ENABLED IMAP4REV2']);
      const selected = await ok(c, 'SELECT INBOX');
      assert.equal(recentLine(selected), undefined);
      assert.deepEqual(await ok(c, 'FETCH 1 (FLAGS)'), ['* 1 FETCH (FLAGS ())']);
      assert.deepEqual(await ok(c, 'STORE 1 +FLAGS (\\Seen)'), ['* 1 FETCH (FLAGS (\\Seen))']);
    });
  });

  it('announces a new keyword with FLAGS and PERMANENTFLAGS before the FETCH that shows it (RFC 3501 §7.2.6)', async () => {
    const { c, user } = await fresh([message('one'), message('two')]);
    await ok(c, 'ENABLE IMAP4rev2'); // no \Recent, to keep the point in view
    const selected = await ok(c, 'SELECT INBOX');
    assert.ok(selected.includes('* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)'), selected.join('\n'));
    const other = await h.connect({ user });
    await ok(other, 'SELECT INBOX');
    await ok(other, 'STORE 1 +FLAGS.SILENT ($Fresh)');
    assert.deepEqual(await ok(c, 'NOOP'), [
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Fresh)',
      '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Fresh \\*)] Flags you can change permanently',
      '* 1 FETCH (UID 1 FLAGS ($Fresh))',
    ]);
    // Known now (in any case): no FLAGS again, and stored as first spelled (one spelling per mailbox).
    await ok(other, 'STORE 2 +FLAGS.SILENT ($fresh)');
    assert.deepEqual(await ok(c, 'NOOP'), ['* 2 FETCH (UID 2 FLAGS ($Fresh))']);
    // FLAGS with another spelling of the same keywords changes nothing (Dovecot does the same).
    assert.deepEqual(await ok(other, 'STORE 2 FLAGS.SILENT ($FRESH)'), []);
    assert.deepEqual(await ok(c, 'NOOP'), []);
    // The session's own STORE of a new keyword, and a FETCH of one it was not told of.
    assert.deepEqual(await ok(c, 'STORE 2 +FLAGS ($Mine)'), [
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Fresh $Mine)',
      '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Fresh $Mine \\*)] Flags you can change permanently',
      '* 2 FETCH (FLAGS ($Fresh $Mine))',
    ]);
    // EXAMINE: PERMANENTFLAGS is empty in a read-only mailbox, also when FLAGS changes.
    const viewer = await h.connect({ user });
    await ok(viewer, 'ENABLE IMAP4rev2');
    await ok(viewer, 'EXAMINE INBOX');
    await ok(other, 'STORE 1 +FLAGS.SILENT ($Late)');
    assert.deepEqual(await ok(viewer, 'NOOP'), [
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Fresh $Mine $Late)',
      '* OK [PERMANENTFLAGS ()] No permanent flags in a read-only mailbox',
      '* 1 FETCH (UID 1 FLAGS ($Fresh $Late))',
    ]);
  });

  it('bounds the keywords of a mailbox: NO [LIMIT] past 128, and PERMANENTFLAGS without \\* at the bound', async () => {
    const { c } = await fresh([message('one'), message('two')]);
    await ok(c, 'ENABLE IMAP4rev2'); // no \Recent
    await ok(c, 'SELECT INBOX');
    const words = (from: number, n: number) => Array.from({ length: n }, (_, i) => `k${from + i}`).join(' ');
    // One STORE of 2,000 keywords (a memory attack on a big mailbox) is refused whole.
    const refused = await c.cmd(`STORE 1:* +FLAGS.SILENT (${words(0, 2000)})`);
    assert.match(refused.tagged, /NO \[LIMIT\] Too many keywords: a mailbox holds at most 128 different ones/);
    assert.deepEqual(await ok(c, 'FETCH 1 (FLAGS)'), ['* 1 FETCH (FLAGS ())']);
    // Up to the bound is fine; at the bound new keywords can no longer be created (RFC 9051 §7.1).
    const full = await ok(c, `STORE 1 +FLAGS.SILENT (${words(0, 128)})`);
    const permanent = full.find((l) => l.includes('PERMANENTFLAGS'));
    assert.ok(permanent && !permanent.includes('\\*'), permanent);
    assert.match((await c.cmd('STORE 2 +FLAGS (k128)')).tagged, /NO \[LIMIT\]/);
    // Known keywords, and removing, still work.
    await ok(c, 'STORE 2 +FLAGS.SILENT (k5 K6)');
    await ok(c, `STORE 1 -FLAGS.SILENT (${words(0, 128)})`);
    // APPEND: a message with more keywords than a mailbox may hold.
    assert.match((await c.cmd(`APPEND INBOX (${words(0, 129)}) {3+}\r\nx\r\n`)).tagged, /NO \[LIMIT\]/);
    // The bound counts the keywords messages carry now, not all the session ever saw: k0…k127 are gone
    // but from message 2's k5 and k6, so 100 new ones fit.
    await ok(c, `STORE 1 +FLAGS.SILENT (${words(1000, 100)})`);
    // A STORE that adds no keyword is never refused, even in a mailbox that holds more than the bound
    // (APPEND and COPY bound each message, not the mailbox).
    await ok(c, `APPEND INBOX (${words(2000, 100)}) {3+}\r\nx\r\n`);
    await ok(c, 'NOOP');
    await ok(c, 'STORE 1:* +FLAGS.SILENT (\\Seen)');
    await ok(c, 'STORE 1 FLAGS.SILENT ()');
  });

  it('sends NUL as 0x80 in BODY[] and RFC822*, and exactly in BINARY[] (RFC 3501 §4.3, RFC 3516)', async () => {
    const { user } = await fresh();
    const b = await BytesClient.connect(h.port, user, 'pw');
    const head = 'Subject: nul\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n';
    const body = Buffer.from([0x61, 0, 0x62, 0, 0, 0x0d, 0x0a]);
    const raw = Buffer.concat([Buffer.from(head), body]);
    const app = await b.cmd(Buffer.concat([Buffer.from(`APPEND INBOX ~{${raw.length}+}\r\n`), raw]));
    assert.match(app.tagged, / OK /);
    assert.match((await b.cmd('SELECT INBOX')).tagged, / OK /);
    const r = await b.cmd('FETCH 1 (BODY.PEEK[] BODY.PEEK[TEXT] RFC822.TEXT BINARY.PEEK[1])');
    assert.match(r.tagged, / OK /);
    const copy = Buffer.from(r.responses[0]);
    const tilde = copy.indexOf(' ~{');
    assert.ok(tilde > 0, 'BINARY[] with NUL comes as a literal8');
    copy[tilde + 1] = 0x20; // fetchItems reads {n} literals only
    const items = fetchItems(copy);
    const literal = (name: string) => {
      const v = items.get(name);
      assert.ok(v, name);
      return v.subarray(v.indexOf('\r\n') + 2);
    };
    const noNul = Buffer.from(body.map((x) => (x === 0 ? 0x80 : x)));
    assert.deepEqual(literal('BODY[]'), Buffer.concat([Buffer.from(head), noNul]));
    assert.deepEqual(literal('BODY[TEXT]'), noNul);
    assert.deepEqual(literal('RFC822.TEXT'), noNul);
    assert.deepEqual(literal('BINARY[1]'), body);
    b.close();
  });

  it('takes names that are not modified UTF-7 as written: SELECT NO, LIST OK, CREATE/RENAME NO [CANNOT]', async () => {
    const { c } = await fresh();
    const bad = '"a&Jjo!"';
    const sel = await c.cmd(`SELECT ${bad}`);
    assert.equal(sel.status, 'NO', sel.tagged);
    assert.deepEqual(await ok(c, `LIST "" ${bad}`), []);
    const create = await c.cmd(`CREATE ${bad}`);
    assert.match(create.tagged, /^t\d+ NO \[CANNOT\] .*not valid modified UTF-7/);
    const rename = await c.cmd(`RENAME Archive ${bad}`);
    assert.match(rename.tagged, /^t\d+ NO \[CANNOT\] /);
    assert.deepEqual(await ok(c, 'LIST "" "A*"'), ['* LIST (\\HasNoChildren \\Archive) "/" "Archive"']);
    // The session goes on; valid modified UTF-7 still works.
    await ok(c, 'CREATE "Entw&APw-rfe"');
  });

  it('SORT compares i;ascii-casemap: "_" and "[" after letters (RFC 5256 §2.1, RFC 4790 §9.2)', async () => {
    // Upper-cased, "B" (0x42) < "[" (0x5B) < "_" (0x5F); lower-cased, "[" and "_" would come before "b".
    const { c } = await fresh([message('a_c'), message('abc'), message('a[c'), message('ABD')]);
    await ok(c, 'SELECT INBOX');
    assert.deepEqual(await ok(c, 'SORT (SUBJECT) UTF-8 ALL'), ['* SORT 2 4 3 1']);
    assert.deepEqual(await ok(c, 'SORT (REVERSE SUBJECT) UTF-8 ALL'), ['* SORT 1 3 4 2']);
    // A key used again changes nothing (it only breaks ties of its first use) and costs nothing.
    assert.deepEqual(await ok(c, `SORT (REVERSE SUBJECT${' SUBJECT'.repeat(5000)}) UTF-8 ALL`), ['* SORT 1 3 4 2']);
  });

  it('CREATE does not subscribe; a subscription survives DELETE and CREATE (RFC 3501 §6.3.6, RFC 5258 §3.1)', async () => {
    const { c } = await fresh();
    await ok(c, 'CREATE Keep/Child');
    assert.deepEqual(await ok(c, 'LSUB "" "Keep*"'), []);
    assert.deepEqual(await ok(c, 'LIST (SUBSCRIBED) "" "Keep*"'), []);
    await ok(c, 'SUBSCRIBE Keep/Child');
    await ok(c, 'DELETE Keep/Child');
    assert.deepEqual(await ok(c, 'LIST (SUBSCRIBED) "" "Keep*"'), [
      '* LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" "Keep/Child"',
    ]);
    assert.deepEqual(await ok(c, 'LSUB "" "Keep*"'), ['* LSUB () "/" "Keep/Child"']);
    // Keep itself is not subscribed, but has a subscribed name below it (Keep/Child has no mailbox).
    assert.deepEqual(await ok(c, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "K%"'), [
      '* LIST (\\HasNoChildren) "/" "Keep" ("CHILDINFO" ("SUBSCRIBED"))',
    ]);
    // Plain LIST shows mailboxes only.
    assert.deepEqual(await ok(c, 'LIST "" "Keep*"'), ['* LIST (\\HasNoChildren) "/" "Keep"']);
    // Created again: subscribed as before, though CREATE itself does not subscribe.
    await ok(c, 'CREATE Keep/Child');
    assert.deepEqual(await ok(c, 'LIST (SUBSCRIBED) "" "Keep*"'), [
      '* LIST (\\HasNoChildren \\Subscribed) "/" "Keep/Child"',
    ]);
    // UNSUBSCRIBE of a deleted name removes it for good.
    await ok(c, 'DELETE Keep/Child');
    await ok(c, 'UNSUBSCRIBE Keep/Child');
    assert.deepEqual(await ok(c, 'LIST (SUBSCRIBED) "" "Keep*"'), []);
    await ok(c, 'CREATE Keep/Child');
    assert.deepEqual(await ok(c, 'LSUB "" "Keep*"'), []);
  });

  it('answers a FETCH naming a message expunged elsewhere with the others and OK [EXPUNGEISSUED] (RFC 5530 §3)', async () => {
    const { c, user } = await fresh([message('a'), message('b'), message('c')]);
    await ok(c, 'SELECT INBOX');
    const other = await h.connect({ user });
    await ok(other, 'SELECT INBOX');
    await ok(other, 'STORE 2 +FLAGS.SILENT (\\Deleted)');
    await ok(other, 'EXPUNGE');
    const r = await c.cmd('FETCH 1:3 (BODY.PEEK[TEXT])');
    // Dovecot's answer: the data of the others, and a tagged OK with the code (not NO).
    assert.equal(r.status, 'OK', r.tagged);
    assert.match(r.tagged, /^t\d+ OK \[EXPUNGEISSUED\] Some messages were already expunged$/);
    assert.deepEqual(r.untagged, [
      '* 2 FETCH (UID 2 FLAGS (\\Recent \\Deleted))', // the flag change is told first; the EXPUNGE not yet
      '* 1 FETCH (BODY[TEXT] {8}\r\nbody a\r\n)',
      '* 3 FETCH (BODY[TEXT] {8}\r\nbody c\r\n)',
    ]);
    // Nothing missing: a plain OK.
    assert.match((await c.cmd('FETCH 1 (BODY.PEEK[TEXT])')).tagged, /^t\d+ OK FETCH completed$/);
    assert.deepEqual(await ok(c, 'NOOP'), ['* 2 EXPUNGE', '* 2 RECENT']);
    assert.match((await c.cmd('FETCH 1:2 (BODY.PEEK[TEXT])')).tagged, /^t\d+ OK FETCH completed$/);
  });

  it('SELECT or EXAMINE while a mailbox is selected sends OK [CLOSED] first, without QRESYNC too (RFC 9051 §6.3.2)', async () => {
    const { c } = await fresh([message('a')]);
    assert.ok(!(await ok(c, 'SELECT INBOX')).some((l) => l.includes('[CLOSED]')), 'nothing was selected');
    const again = await ok(c, 'EXAMINE INBOX');
    assert.equal(again[0], '* OK [CLOSED] Previous mailbox closed');
    // A SELECT that fails still closed the mailbox: CLOSED, then NO, and nothing is selected.
    const failed = await c.cmd('SELECT Nosuch');
    assert.deepEqual(failed.untagged, ['* OK [CLOSED] Previous mailbox closed']);
    assert.equal(failed.status, 'NO');
    assert.ok(!(await ok(c, 'SELECT INBOX')).some((l) => l.includes('[CLOSED]')));
  });

  describe('RECENT after EXPUNGE (RFC 3501 §7.3.2), IMAP4rev1 only', () => {
    it('follows an own EXPUNGE or MOVE that removed recent messages, and only then', async () => {
      const { c, id, user } = await fresh([message('a'), message('b'), message('c'), message('d')]);
      assert.equal(recentLine(await ok(c, 'SELECT INBOX')), '* 4 RECENT');
      const other = await h.connect({ user });
      await ok(other, 'SELECT INBOX'); // nothing recent for it
      await ok(c, 'STORE 1 +FLAGS.SILENT (\\Deleted)');
      assert.deepEqual(await ok(c, 'EXPUNGE'), ['* 1 EXPUNGE', '* 3 RECENT']);
      assert.deepEqual(await ok(c, 'UID EXPUNGE 2'), []); // not \Deleted: nothing changes, nothing told
      await ok(c, 'CREATE Elsewhere');
      const moved = await ok(c, 'MOVE 1 Elsewhere');
      assert.deepEqual(moved.slice(1), ['* 1 EXPUNGE', '* 2 RECENT']);
      // The other session had none recent: its EXPUNGEs come without RECENT.
      assert.deepEqual(await ok(other, 'NOOP'), ['* 1 FETCH (UID 1 FLAGS (\\Deleted))', '* 1 EXPUNGE', '* 1 EXPUNGE']);
      // A message recent in `other` (told of it first) is not recent in c: c's count stays, no RECENT.
      await h.deliver(id, message('e'));
      assert.deepEqual(await ok(other, 'NOOP'), ['* 3 EXISTS', '* 1 RECENT']);
      assert.deepEqual(await ok(c, 'NOOP'), ['* 3 EXISTS', '* 2 RECENT']);
      await ok(c, 'STORE 3 +FLAGS.SILENT (\\Deleted)');
      assert.deepEqual(await ok(c, 'EXPUNGE'), ['* 3 EXPUNGE']);
      // ... but in `other` it was: the announced EXPUNGE brings the new count.
      assert.deepEqual(await ok(other, 'NOOP'), [
        '* 3 FETCH (UID 5 FLAGS (\\Recent \\Deleted))',
        '* 3 EXPUNGE',
        '* 0 RECENT',
      ]);
      assert.deepEqual(await ok(other, 'NOOP'), []);
    });

    it('follows EXPUNGEs announced by NOOP and in IDLE; IMAP4rev2 sessions get none', async () => {
      const { c, user } = await fresh([message('a'), message('b'), message('c')]);
      await ok(c, 'SELECT INBOX');
      const other = await h.connect({ user });
      await ok(other, 'SELECT INBOX');
      await ok(other, 'STORE 1:2 +FLAGS.SILENT (\\Deleted)');
      await ok(other, 'EXPUNGE');
      assert.deepEqual(await ok(c, 'NOOP'), [
        '* 1 FETCH (UID 1 FLAGS (\\Recent \\Deleted))',
        '* 2 FETCH (UID 2 FLAGS (\\Recent \\Deleted))',
        '* 1 EXPUNGE',
        '* 1 EXPUNGE',
        '* 1 RECENT',
      ]);
      // In IDLE the count follows at once, after the EXPUNGE.
      const tag = c.nextTag();
      c.write(`${tag} IDLE\r\n`);
      assert.equal(await c.line(), '+ idling');
      await ok(other, 'STORE 1 +FLAGS.SILENT (\\Deleted)');
      assert.equal(await c.line(), '* 1 FETCH (UID 3 FLAGS (\\Recent \\Deleted))');
      await ok(other, 'EXPUNGE');
      assert.deepEqual([await c.line(), await c.line()], ['* 1 EXPUNGE', '* 0 RECENT']);
      c.write('DONE\r\n');
      assert.equal((await c.until(tag)).status, 'OK');

      // IMAP4rev2 has no RECENT (RFC 9051 Appendix E), also after an EXPUNGE.
      const { c: v2, id } = await fresh([message('x'), message('y')]);
      await ok(v2, 'ENABLE IMAP4rev2');
      await ok(v2, 'SELECT INBOX');
      await ok(v2, 'STORE 1 +FLAGS.SILENT (\\Deleted)');
      assert.deepEqual(await ok(v2, 'EXPUNGE'), ['* 1 EXPUNGE']);
      await h.deliver(id, message('z'));
      assert.deepEqual(await ok(v2, 'NOOP'), ['* 2 EXISTS']);
    });
  });

  describe('FLAGS after a STORE of a new keyword (RFC 3501 §7.2.6, RFC 9051 §7.3.5)', () => {
    const system = '\\Answered \\Flagged \\Deleted \\Seen \\Draft';
    const flagLines = (keywords: string) => [
      `* FLAGS (${system}${keywords})`,
      `* OK [PERMANENTFLAGS (${system}${keywords} \\*)] Flags you can change permanently`,
    ];

    it('are sent for a .SILENT STORE too, once per new keyword, before the tagged OK', async () => {
      const { c } = await fresh([message('a'), message('b')]);
      await ok(c, 'ENABLE IMAP4rev2'); // no \Recent, to keep the point in view
      await ok(c, 'SELECT INBOX');
      assert.deepEqual(await ok(c, 'STORE 1 +FLAGS.SILENT ($Quiet)'), flagLines(' $Quiet'));
      assert.deepEqual(await ok(c, 'STORE 2 +FLAGS.SILENT ($quiet)'), []); // known (keywords are case-insensitive)
      assert.deepEqual(await ok(c, 'STORE 2 -FLAGS.SILENT ($Never)'), []); // removing adds nothing
      assert.deepEqual(await ok(c, 'UID STORE 1:2 FLAGS.SILENT ($One $Two)'), flagLines(' $Quiet $One $Two'));
      // Not silent: FLAGS first, then the FETCH that shows the keyword.
      assert.deepEqual(await ok(c, 'STORE 1 +FLAGS ($Loud)'), [
        ...flagLines(' $Quiet $One $Two $Loud'),
        '* 1 FETCH (FLAGS ($One $Two $Loud))',
      ]);
      // With CONDSTORE a .SILENT STORE reports MODSEQ; FLAGS still comes first.
      await ok(c, 'ENABLE CONDSTORE');
      const r = await ok(c, 'STORE 2 +FLAGS.SILENT ($Counted)');
      assert.deepEqual(r.slice(0, 2), flagLines(' $Quiet $One $Two $Loud $Counted'));
      assert.match(r[2], /^\* 2 FETCH \(UID 2 MODSEQ \(\d+\)\)$/);
    });

    it('reach another session at its next announcement, also for a message it is told of in the same NOOP', async () => {
      const { c, id, user } = await fresh([message('a')]);
      await ok(c, 'ENABLE IMAP4rev2');
      await ok(c, 'SELECT INBOX');
      const other = await h.connect({ user });
      await ok(other, 'ENABLE IMAP4rev2');
      await ok(other, 'SELECT INBOX');
      await ok(other, 'STORE 1 +FLAGS.SILENT ($Theirs)');
      assert.deepEqual(await ok(c, 'NOOP'), [...flagLines(' $Theirs'), '* 1 FETCH (UID 1 FLAGS ($Theirs))']);
      // A new message gets a new keyword before c is told of either: no FETCH for it (c has no number
      // for it before the EXISTS), but FLAGS lists the keyword before the tagged OK.
      await h.deliver(id, message('b'));
      assert.deepEqual(await ok(other, 'NOOP'), ['* 2 EXISTS']);
      await ok(other, 'STORE 2 +FLAGS.SILENT ($Early)');
      assert.deepEqual(await ok(c, 'NOOP'), [...flagLines(' $Theirs $Early'), '* 2 EXISTS']);
      assert.deepEqual(await ok(c, 'FETCH 2 (FLAGS)'), ['* 2 FETCH (FLAGS ($Early))']);
    });
  });
});
