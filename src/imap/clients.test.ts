/**
 * Real IMAP clients against the message commands: Python's imaplib (FETCH, STORE, COPY, MOVE,
 * EXPUNGE, APPEND) and imapflow (fetch, flags, append, copy, move, delete, CONDSTORE fetch and a
 * QRESYNC reopen that receives VANISHED (EARLIER) and changed flags).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import { type ImapHarness, startImap } from '../../test/harness/imap-harness.js';

const message = (subject: string, body = 'hello') =>
  `From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@example.test>\r\n` +
  `Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\n${body}\r\n`;

const PY = `
import imaplib, json, sys
port, user = int(sys.argv[1]), sys.argv[2]
out = {}
m = imaplib.IMAP4('127.0.0.1', port)
m.login(user, 'pw')
out['select'] = m.select('INBOX')[1][0].decode()
typ, data = m.fetch('1:2', '(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
out['fetch'] = [[p.decode() if isinstance(p, bytes) else p for p in d] if isinstance(d, tuple) else d.decode() for d in data]
typ, data = m.fetch('1', '(RFC822)')
out['rfc822'] = data[0][1].decode()
out['flags_after_rfc822'] = m.fetch('1', '(FLAGS)')[1][0].decode()
out['store'] = [d.decode() for d in m.store('2', '+FLAGS', '(\\\\Flagged $Py)')[1]]
out['copy'] = m.copy('1:2', 'Archive')[0]
out['copy_missing'] = m.copy('1', 'Nope')[1][0].decode()
typ, data = m.uid('MOVE', '2', 'Trash')
out['move'] = typ
out['move_untagged'] = [d.decode() for d in m.untagged_responses.pop('EXPUNGE', [])]
typ, data = m.append('INBOX', '(\\\\Seen)', imaplib.Time2Internaldate(1704103200), b'Subject: appended\\r\\n\\r\\nnew\\r\\n')
out['append'] = [typ, data[0].decode()]
m.store('1', '+FLAGS', '\\\\Deleted')
typ, data = m.expunge()
out['expunge'] = [d.decode() if d else None for d in data]
typ, data = m.uid('FETCH', '1:*', '(FLAGS BODY.PEEK[TEXT])')
out['uid_fetch'] = [[p.decode() for p in d] if isinstance(d, tuple) else d.decode() for d in data]
m.logout()
print(json.dumps(out))
`;

describe('IMAP message commands with real clients', () => {
  let h: ImapHarness;
  before(async () => {
    h = await startImap();
  });
  after(() => h.stop());

  it("Python's imaplib: fetch, store, copy, move, append, expunge", async () => {
    const user = 'py@example.test';
    const id = await h.account(user, 'pw');
    await h.deliver(id, message('one'));
    await h.deliver(id, message('two'));
    const { stdout } = await promisify(execFile)('python3', ['-c', PY, String(h.port), user], { timeout: 20000 });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    assert.equal(out.select, '2');
    const size = message('one').length;
    // imaplib is an IMAP4rev1 client, and its session is the first to see the messages: \Recent
    // (RFC 3501 §2.3.2).
    assert.deepEqual(out.fetch, [
      [`1 (UID 1 FLAGS (\\Recent) RFC822.SIZE ${size} BODY[HEADER.FIELDS (SUBJECT)] {16}`, 'Subject: one\r\n\r\n'],
      ')',
      [`2 (UID 2 FLAGS (\\Recent) RFC822.SIZE ${size} BODY[HEADER.FIELDS (SUBJECT)] {16}`, 'Subject: two\r\n\r\n'],
      ')',
    ]);
    assert.equal(out.rfc822, message('one'));
    assert.equal(out.flags_after_rfc822, '1 (FLAGS (\\Recent \\Seen))');
    assert.deepEqual(out.store, ['2 (FLAGS (\\Recent \\Flagged $Py))']);
    assert.equal(out.copy, 'OK');
    assert.match(out.copy_missing as string, /^\[TRYCREATE\]/);
    assert.equal(out.move, 'OK');
    assert.deepEqual(out.move_untagged, ['2']);
    assert.equal((out.append as string[])[0], 'OK');
    assert.match((out.append as string[])[1], /^\[APPENDUID \d+ 3\] APPEND completed$/);
    assert.deepEqual(out.expunge, ['1']);
    // The session appended UID 3 to its selected mailbox and was told first: \Recent there too.
    assert.deepEqual(out.uid_fetch, [['1 (UID 3 FLAGS (\\Recent \\Seen) BODY[TEXT] {5}', 'new\r\n'], ')']);
    const archive = await h.store.mailboxes.get(id, 'Archive');
    assert.equal((await h.store.messages.list(archive!.id)).length, 2);
  });

  it('imapflow: fetch, flags, append, copy, move, delete, CONDSTORE and a QRESYNC reopen', async () => {
    const user = 'flow@example.test';
    const id = await h.account(user, 'pw');
    for (let i = 1; i <= 4; i++) await h.deliver(id, message(`m${i}`, `body ${i}`));
    const options = {
      host: '127.0.0.1',
      port: h.port,
      secure: false,
      auth: { user, pass: 'pw' },
      logger: false as const,
      // imapflow upgrades with STARTTLS when offered; the harness certificate is self-signed.
      tls: { rejectUnauthorized: false },
    };
    const client = new ImapFlow({ ...options, qresync: true });
    await client.connect();
    assert.ok(client.enabled.has('CONDSTORE'));
    assert.ok(client.enabled.has('QRESYNC'));
    const mailbox = await client.mailboxOpen('INBOX');
    assert.equal(mailbox.exists, 4);
    const highest = mailbox.highestModseq;
    assert.ok(typeof highest === 'bigint' && highest > 0n);
    const uidValidity = mailbox.uidValidity;

    const all = await client.fetchAll('1:*', {
      uid: true,
      flags: true,
      envelope: true,
      source: true,
      bodyStructure: true,
      size: true,
    });
    assert.deepEqual(
      all.map((m) => [m.uid, m.envelope?.subject, m.source?.toString()]),
      [1, 2, 3, 4].map((i) => [i, `m${i}`, message(`m${i}`, `body ${i}`)]),
    );
    assert.equal(all[0].bodyStructure?.type, 'text/plain');
    assert.equal(all[0].size, message('m1', 'body 1').length);
    assert.equal(all[0].envelope?.from?.[0]?.address, 'alice@example.test');

    assert.equal(await client.messageFlagsAdd('2', ['\\Flagged', '$Label']), true);
    // With CONDSTORE enabled imapflow asks for MODSEQ itself.
    const flagged = await client.fetchOne('2', { flags: true });
    assert.ok(flagged);
    assert.ok(flagged.flags?.has('\\Flagged') && flagged.flags.has('$Label'));
    assert.ok(flagged.modseq && flagged.modseq > highest);

    const appended = await client.append('INBOX', message('m5'), ['\\Seen'], new Date('2024-02-01T00:00:00Z'));
    assert.ok(appended);
    assert.equal(appended.uid, 5);
    assert.equal(appended.uidValidity, uidValidity);

    const copied = await client.messageCopy('1', 'Archive', { uid: true });
    assert.ok(copied);
    assert.deepEqual([...(copied.uidMap ?? new Map())], [[1, 1]]);
    const moved = await client.messageMove('3', 'Trash', { uid: true });
    assert.ok(moved);
    assert.deepEqual([...(moved.uidMap ?? new Map())], [[3, 1]]);
    assert.equal(await client.messageDelete('4', { uid: true }), true);
    assert.equal(client.mailbox ? client.mailbox.exists : 0, 3);

    // CONDSTORE: only what changed since the first HIGHESTMODSEQ.
    const changed = await client.fetchAll('1:*', { uid: true, flags: true }, { changedSince: highest });
    assert.deepEqual(
      changed.map((m) => m.uid),
      [2, 5],
    );
    await client.logout();

    // Another client changes flags and expunges; a QRESYNC reopen learns both.
    const other = new ImapFlow(options);
    await other.connect();
    await other.mailboxOpen('INBOX');
    const status = await other.status('INBOX', { highestModseq: true });
    const before = status ? status.highestModseq : undefined;
    assert.ok(before);
    await other.messageFlagsAdd({ uid: '1' }, ['\\Answered'], { uid: true });
    await other.messageDelete({ uid: '2' }, { uid: true });
    await other.logout();

    const again = new ImapFlow({ ...options, qresync: true });
    const vanished: number[] = [];
    const flags: [number | undefined, string[]][] = [];
    again.on('expunge', (e: { uid?: number; vanished: boolean; earlier?: boolean }) => {
      if (e.vanished && e.earlier && e.uid) vanished.push(e.uid);
    });
    again.on('flags', (e: { uid?: number; flags: Set<string> }) => flags.push([e.uid, [...e.flags].sort()]));
    await again.connect();
    const reopened = await again.mailboxOpen('INBOX', { uidValidity, changedSince: before });
    assert.equal(reopened.exists, 2);
    assert.deepEqual(vanished, [2]);
    assert.deepEqual(flags, [[1, ['\\Answered']]]);
    await again.logout();
  });
});
