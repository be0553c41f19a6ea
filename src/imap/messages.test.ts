/**
 * Message commands over a real listener and store: FETCH (every item, sections byte for byte against
 * the raw message and Dovecot's recorded answers, partials, BINARY, \Seen), STORE, COPY, MOVE,
 * EXPUNGE, CHECK, APPEND (literals, LITERAL+, literal8, MULTIAPPEND, refusals), with a second session
 * watching the changes arrive (and never an EXPUNGE during FETCH or STORE), and CONDSTORE/QRESYNC
 * (RFC 7162 §3 examples where practical). Each test uses its own account.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BytesClient } from '../../test/harness/imap-bytes-client.js';
import { type ImapHarness, type ImapTestClient, startImap } from '../../test/harness/imap-harness.js';
import { fetchItems, normalizeImap, parseImap } from '../../test/harness/mail-testing.js';

const fixtures = fileURLToPath(new URL('../../test/fixtures/mime/', import.meta.url));
const fixture = (name: string) => readFileSync(join(fixtures, name));

/** A multipart message with a nested message/rfc822 and transfer encodings, CRLF line ends. */
const NESTED = Buffer.from(
  [
    'From: Alice <alice@example.org>',
    'To: Bob <bob@example.test>',
    'Subject: Nested',
    'Date: Mon, 1 Jan 2024 10:00:00 +0000',
    'Message-ID: <nested@example.org>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="outer"',
    '',
    'This is the preamble.',
    '--outer',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Gr=C3=BC=C3=9Fe, caf=C3=A9 =3D ok=',
    ' soft break',
    '--outer',
    'Content-Type: application/octet-stream; name="bin.dat"',
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: attachment; filename="bin.dat"',
    '',
    'AAECAwQFBgcICQ==',
    '--outer',
    'Content-Type: message/rfc822',
    '',
    'From: Carol <carol@example.test>',
    'Subject: Inner',
    'Content-Type: multipart/alternative; boundary="inner"',
    '',
    '--inner',
    'Content-Type: text/plain',
    '',
    'inner plain',
    '--inner',
    'Content-Type: text/html',
    '',
    '<p>inner html</p>',
    '--inner--',
    '',
    '--outer',
    'Content-Type: text/plain',
    'Content-Transfer-Encoding: x-uuencode',
    '',
    'begin 644 x',
    '--outer--',
    'epilogue',
    '',
  ].join('\r\n'),
);

/** raw.subarray(start, end) between two markers: from the start of `from` to the start of `to`. */
function between(raw: Buffer, from: string, to: string, fromAfter = false): Buffer {
  const a = raw.indexOf(from);
  const start = fromAfter ? a + from.length : a;
  const end = raw.indexOf(to, start);
  assert.ok(a >= 0 && end >= 0, `${from} .. ${to}`);
  return raw.subarray(start, end);
}

/** The items of a FETCH response; a literal8 `~{n}` is read like a literal (the test reader knows only `{n}`). */
function items(response: Buffer): Map<string, Buffer> {
  const copy = Buffer.from(response);
  for (let i = copy.indexOf(' ~{'); i >= 0; i = copy.indexOf(' ~{', i + 1)) copy[i + 1] = 0x20;
  return fetchItems(copy);
}

/** The value of one FETCH item as the text it carries (literal or quoted). */
function item(response: Buffer, name: string): Buffer {
  const value = items(response).get(name.toUpperCase());
  assert.ok(value, `${name} in ${response.toString('latin1').slice(0, 300)}`);
  const v = parseImap(value);
  assert.equal(typeof v, 'string', `${name} is a string`);
  return Buffer.from(v as string, 'latin1');
}

describe('IMAP message commands', () => {
  let h: ImapHarness;
  let n = 0;

  before(async () => {
    h = await startImap();
  });
  after(() => h.stop());

  /** A fresh account, its id and a logged-in client; `messages` are delivered to INBOX first. */
  async function fresh(messages: (string | Buffer)[] = []): Promise<{ c: ImapTestClient; id: number; user: string }> {
    const user = `m${++n}@example.test`;
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

  function msg(subject: string, body = 'body'): string {
    return `From: a@example.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@x>\r\n\r\n${body}\r\n`;
  }

  async function bytes(user: string): Promise<BytesClient> {
    return BytesClient.connect(h.port, user, 'pw');
  }

  describe('FETCH', () => {
    it('answers every BODY[section] of the fixtures as Dovecot 2.3 does, and BODYSTRUCTURE, BODY, ENVELOPE', async () => {
      const recorded = JSON.parse(readFileSync(join(fixtures, 'dovecot.json'), 'utf8')) as Record<
        string,
        Record<string, string>
      >;
      const { id, user } = await fresh();
      const files = Object.keys(recorded).filter((f) => readdirSync(fixtures).includes(f));
      for (const f of files) await h.deliver(id, fixture(f));
      const b = await bytes(user);
      assert.match((await b.cmd('EXAMINE INBOX')).tagged, /OK/);
      // Dovecot adds an empty line to a top-level HEADER.FIELDS of a header that has none (src/mail).
      const differs = new Set(['header-only.eml BODY[HEADER.FIELDS (FROM SUBJECT CONTENT-TYPE)]']);
      for (const [i, f] of files.entries()) {
        const items = recorded[f];
        const names = Object.keys(items).filter((k) => k.startsWith('BODY['));
        const peek = names.map((k) => k.replace(/^BODY\[/, 'BODY.PEEK[')).join(' ');
        const r = await b.cmd(`FETCH ${i + 1} (BODYSTRUCTURE BODY ENVELOPE ${peek})`);
        assert.match(r.tagged, /OK FETCH completed/, f);
        assert.equal(r.responses.length, 1, f);
        const got = fetchItems(r.responses[0]);
        assert.equal(got.get('BODYSTRUCTURE')?.toString('latin1'), items.BODYSTRUCTURE, `${f} BODYSTRUCTURE`);
        assert.equal(got.get('BODY')?.toString('latin1'), items.BODY, `${f} BODY`);
        assert.deepEqual(
          normalizeImap(parseImap(got.get('ENVELOPE') ?? Buffer.alloc(0))),
          normalizeImap(parseImap(items.ENVELOPE)),
          `${f} ENVELOPE`,
        );
        for (const name of names) {
          if (differs.has(`${f} ${name}`)) continue;
          const ours = got.get(name);
          assert.ok(ours, `${f} ${name} answered`);
          assert.equal(parseImap(ours), parseImap(items[name]), `${f} ${name}`);
        }
      }
      b.close();
    });

    it('cuts sections byte for byte from the stored message, through nested message/rfc822', async () => {
      const { user, id } = await fresh();
      await h.deliver(id, NESTED);
      const b = await bytes(user);
      await b.cmd('SELECT INBOX');
      const want: Record<string, Buffer> = {
        'BODY[]': NESTED,
        'BODY[HEADER]': NESTED.subarray(0, NESTED.indexOf('\r\n\r\n') + 4),
        'BODY[TEXT]': NESTED.subarray(NESTED.indexOf('\r\n\r\n') + 4),
        'BODY[1]': between(NESTED, 'Gr=C3', '\r\n--outer'),
        'BODY[1.MIME]': between(NESTED, 'Content-Type: text/plain; charset=utf-8', 'Gr=C3'),
        'BODY[2]': between(NESTED, 'AAEC', '\r\n--outer'),
        'BODY[3]': between(
          NESTED,
          'From: Carol',
          '\r\n--outer\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uu',
        ),
        'BODY[3.MIME]': between(NESTED, 'Content-Type: message/rfc822', 'From: Carol'),
        'BODY[3.HEADER]': between(NESTED, 'From: Carol', '--inner'),
        'BODY[3.TEXT]': between(
          NESTED,
          '--inner\r\nContent-Type: text/plain',
          '\r\n--outer\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uu',
        ),
        'BODY[3.1]': between(NESTED, 'inner plain', '\r\n--inner'),
        'BODY[3.1.MIME]': between(NESTED, 'Content-Type: text/plain\r\n\r\ninner', 'inner plain'),
        'BODY[3.2]': between(NESTED, '<p>inner html</p>', '\r\n--inner--'),
        'BODY[3.HEADER.FIELDS (Subject)]': Buffer.from('Subject: Inner\r\n\r\n'),
        'BODY[HEADER.FIELDS (SUBJECT FROM)]': Buffer.from('From: Alice <alice@example.org>\r\nSubject: Nested\r\n\r\n'),
        'BODY[HEADER.FIELDS.NOT (Subject From To Date Message-ID MIME-Version)]': Buffer.from(
          'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n',
        ),
        // Sections that name nothing are empty (as Dovecot answers).
        'BODY[1.HEADER]': Buffer.alloc(0),
        'BODY[9]': Buffer.alloc(0),
        'BODY[3.3]': Buffer.alloc(0),
      };
      const r = await b.cmd(
        `FETCH 1 (${Object.keys(want)
          .map((k) => k.replace('BODY[', 'BODY.PEEK['))
          .join(' ')})`,
      );
      assert.match(r.tagged, /OK/);
      for (const [name, bytes] of Object.entries(want)) assert.deepEqual(item(r.responses[0], name), bytes, name);
      // RFC822, RFC822.HEADER, RFC822.TEXT are BODY[], BODY.PEEK[HEADER], BODY[TEXT].
      const old = await b.cmd('FETCH 1 (RFC822.HEADER RFC822.TEXT RFC822)');
      assert.deepEqual(item(old.responses[0], 'RFC822'), NESTED);
      assert.deepEqual(item(old.responses[0], 'RFC822.HEADER'), want['BODY[HEADER]']);
      assert.deepEqual(item(old.responses[0], 'RFC822.TEXT'), want['BODY[TEXT]']);
      b.close();
    });

    it('partial fetches answer BODY[...]<origin> with the requested octets', async () => {
      const { user, id } = await fresh();
      await h.deliver(id, NESTED);
      const b = await bytes(user);
      await b.cmd('SELECT INBOX');
      const r = await b.cmd(
        'FETCH 1 (BODY.PEEK[]<0.10> BODY.PEEK[TEXT]<5.7> BODY.PEEK[3.1]<2.100> BODY.PEEK[]<999999.5> BINARY.PEEK[2]<1.3>)',
      );
      const text = NESTED.subarray(NESTED.indexOf('\r\n\r\n') + 4);
      assert.deepEqual(item(r.responses[0], 'BODY[]<0>'), NESTED.subarray(0, 10));
      assert.deepEqual(item(r.responses[0], 'BODY[TEXT]<5>'), text.subarray(5, 12));
      assert.deepEqual(item(r.responses[0], 'BODY[3.1]<2>'), Buffer.from('ner plain'));
      assert.deepEqual(item(r.responses[0], 'BODY[]<999999>'), Buffer.alloc(0));
      assert.deepEqual(item(r.responses[0], 'BINARY[2]<1>'), Buffer.from([1, 2, 3]));
      b.close();
    });

    it('FLAGS, INTERNALDATE, RFC822.SIZE, UID, ENVELOPE, the macros ALL, FAST and FULL', async () => {
      const { c, id } = await fresh();
      await h.store.deliver({
        raw: NESTED,
        meta: (await import('../mail/parse.js')).parseMessage(NESTED) as never,
        internalDate: new Date('2024-01-02T03:04:05Z'),
        local: [{ accountId: id, mailbox: 'INBOX', flags: ['\\Flagged', '$Work'] }],
      });
      await ok(c, 'SELECT INBOX');
      const [fast] = await ok(c, 'FETCH 1 FAST');
      // IMAP4rev1: this session is the first to see the message, so it is \\Recent (RFC 3501 §2.3.2).
      assert.equal(
        fast,
        `* 1 FETCH (FLAGS (\\Recent \\Flagged $Work) INTERNALDATE "02-Jan-2024 03:04:05 +0000" RFC822.SIZE ${NESTED.length})`,
      );
      const [all] = await ok(c, 'FETCH 1 ALL');
      assert.ok(all.startsWith(fast.slice(0, -1)), all);
      assert.match(
        all,
        / ENVELOPE \("Mon, 1 Jan 2024 10:00:00 \+0000" "Nested" \(\("Alice" NIL "alice" "example.org"\)\) .* "<nested@example.org>"\)\)$/,
      );
      const [full] = await ok(c, 'FETCH 1 FULL');
      assert.match(full, / BODY \(\("text" "plain" \("charset" "utf-8"\) NIL NIL "quoted-printable" \d+ \d+\)/);
      assert.ok(!full.includes('BODYSTRUCTURE'));
      const [uid] = await ok(c, 'UID FETCH 1 (RFC822.SIZE)');
      assert.equal(uid, `* 1 FETCH (UID 1 RFC822.SIZE ${NESTED.length})`);
      const [twice] = await ok(c, 'FETCH 1 (UID FLAGS UID FLAGS)');
      assert.equal(twice, '* 1 FETCH (UID 1 FLAGS (\\Recent \\Flagged $Work))');
    });

    it('BODY[] sets \\Seen through the store and reports FLAGS; .PEEK, RFC822.HEADER and EXAMINE do not', async () => {
      const { c, user } = await fresh([msg('a'), msg('b'), msg('c'), msg('d')]);
      await ok(c, 'SELECT INBOX');
      const watcher = await h.connect({ user });
      await ok(watcher, 'SELECT INBOX');
      const whole = msg('a');
      const header = whole.slice(0, whole.indexOf('\r\n\r\n') + 4);
      assert.deepEqual(await ok(c, 'FETCH 1 (BODY.PEEK[] RFC822.HEADER BINARY.PEEK[1] BINARY.SIZE[1])'), [
        `* 1 FETCH (BODY[] {${whole.length}}\r\n${whole} RFC822.HEADER {${header.length}}\r\n${header} ` +
          'BINARY[1] {6}\r\nbody\r\n BINARY.SIZE[1] 6)',
      ]);
      const [first] = await ok(c, 'FETCH 1 (BODY[TEXT])');
      // c selected first: its messages are \\Recent (RFC 3501 §2.3.2), the watcher's are not.
      assert.equal(first, '* 1 FETCH (BODY[TEXT] {6}\r\nbody\r\n FLAGS (\\Recent \\Seen))');
      // Already seen: no FLAGS added the second time.
      assert.equal((await ok(c, 'FETCH 1 (BODY[TEXT])'))[0], '* 1 FETCH (BODY[TEXT] {6}\r\nbody\r\n)');
      assert.match(
        (await ok(c, 'FETCH 2 RFC822'))[0],
        /^\* 2 FETCH \(RFC822 \{61\}\r\n.* FLAGS \(\\Recent \\Seen\)\)$/s,
      );
      assert.match((await ok(c, 'FETCH 3 RFC822.TEXT'))[0], / FLAGS \(\\Recent \\Seen\)\)$/);
      assert.match(
        (await ok(c, 'UID FETCH 4 BINARY[1]'))[0],
        /^\* 4 FETCH \(UID 4 BINARY\[1\] \{6\}\r\nbody\r\n FLAGS \(\\Recent \\Seen\)\)$/,
      );
      // The change is in the store and reaches the other session.
      const seen = await ok(watcher, 'NOOP');
      assert.deepEqual(seen, [
        '* 1 FETCH (UID 1 FLAGS (\\Seen))',
        '* 2 FETCH (UID 2 FLAGS (\\Seen))',
        '* 3 FETCH (UID 3 FLAGS (\\Seen))',
        '* 4 FETCH (UID 4 FLAGS (\\Seen))',
      ]);
      // The fetching session is not told twice.
      assert.deepEqual(await ok(c, 'NOOP'), []);
      // EXAMINE is read-only: nothing is set.
      const { c: r, id: rid } = await fresh([msg('e')]);
      await ok(r, 'EXAMINE INBOX');
      assert.equal((await ok(r, 'FETCH 1 BODY[TEXT]'))[0], '* 1 FETCH (BODY[TEXT] {6}\r\nbody\r\n)');
      assert.deepEqual((await h.store.messages.list((await h.store.mailboxes.get(rid, 'INBOX'))!.id))[0].flags, []);
    });

    it('BINARY decodes base64 and quoted-printable, uses literal8 for NUL, and refuses unknown encodings', async () => {
      const { user, id } = await fresh();
      await h.deliver(id, NESTED);
      await h.deliver(id, fixture('mixed-attachment.eml'));
      const b = await bytes(user);
      await b.cmd('SELECT INBOX');
      const r = await b.cmd('FETCH 1 (BINARY.PEEK[1] BINARY.PEEK[2] BINARY.SIZE[1] BINARY.SIZE[2] BINARY.PEEK[3.1])');
      assert.match(r.tagged, /OK/);
      const response = r.responses[0];
      assert.deepEqual(item(response, 'BINARY[1]'), Buffer.from('Grüße, café = ok soft break'));
      assert.deepEqual(item(response, 'BINARY[2]'), Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
      assert.ok(response.includes('BINARY[2] ~{10}\r\n'), 'literal8 for NUL');
      assert.ok(response.includes('BINARY[1] {'), 'a plain literal without NUL');
      assert.equal(
        items(response).get('BINARY.SIZE[1]')?.toString(),
        String(Buffer.byteLength('Grüße, café = ok soft break')),
      );
      assert.equal(items(response).get('BINARY.SIZE[2]')?.toString(), '10');
      assert.deepEqual(item(response, 'BINARY[3.1]'), Buffer.from('inner plain'));
      // RFC 3516 §4.3: an encoding we do not know.
      const bad = await b.cmd('FETCH 1 (BINARY.PEEK[4])');
      assert.match(bad.tagged, /^b\d+ NO \[UNKNOWN-CTE\] /);
      // No empty `* 1 FETCH ()`: msg-att needs an item (RFC 9051 §9), so UID stands in, as in Dovecot.
      assert.deepEqual(
        bad.responses.map((r) => r.toString('latin1')),
        ['* 1 FETCH (UID 1)'],
      );
      assert.match((await b.cmd('FETCH 1 (BINARY.PEEK[])')).tagged, /NO \[UNKNOWN-CTE\]/);
      // The PDF of the fixture decodes to its bytes; BINARY[] rewrites the encoded parts to binary.
      const pdf = await b.cmd('FETCH 2 (BINARY.PEEK[2] BINARY.PEEK[] BINARY.SIZE[])');
      const decoded = item(pdf.responses[0], 'BINARY[2]');
      assert.equal(decoded.subarray(0, 8).toString('latin1'), '%PDF-1.4');
      assert.equal(decoded.length, 521);
      const whole = item(pdf.responses[0], 'BINARY[]');
      assert.equal(items(pdf.responses[0]).get('BINARY.SIZE[]')?.toString(), String(whole.length));
      assert.ok(whole.includes(decoded), 'the attachment is decoded in place');
      assert.ok(
        whole.includes(
          'Content-Location: http://example.org/report.pdf\r\nContent-Transfer-Encoding: binary\r\n\r\n%PDF',
        ),
      );
      assert.ok(!whole.includes('base64'), 'no base64 part is left');
      assert.ok(whole.toString('latin1').startsWith(fixture('mixed-attachment.eml').toString('latin1', 0, 200)));
      b.close();
    });

    it('BINARY[] of a single-part message rewrites its header like Dovecot', async () => {
      const { user, id } = await fresh();
      await h.deliver(
        id,
        'From: a@b.c\r\nSubject: hi\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\nContent-Type: text/plain\r\n\r\naGVsbG8gd29ybGQ=\r\n',
      );
      const b = await bytes(user);
      await b.cmd('SELECT INBOX');
      const r = await b.cmd('FETCH 1 (BINARY.PEEK[] BINARY.SIZE[] BINARY.SIZE[1])');
      // Recorded from Dovecot 2.3 (refstack): the CTE field moves to the end and says binary.
      assert.equal(
        r.responses[0].toString('latin1'),
        '* 1 FETCH (BINARY[] {119}\r\nFrom: a@b.c\r\nSubject: hi\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n' +
          'Content-Transfer-Encoding: binary\r\n\r\nhello world BINARY.SIZE[] 119 BINARY.SIZE[1] 11)',
      );
      b.close();
    });

    it('UID FETCH skips missing UIDs; message numbers beyond EXISTS and * in an empty mailbox are BAD', async () => {
      const { c } = await fresh([msg('a'), msg('b')]);
      await ok(c, 'SELECT INBOX');
      assert.deepEqual(await ok(c, 'UID FETCH 2:99 (FLAGS)'), ['* 2 FETCH (UID 2 FLAGS (\\Recent))']);
      assert.deepEqual(await ok(c, 'UID FETCH 50:60 (FLAGS)'), []);
      assert.deepEqual(
        await ok(c, 'UID FETCH 5:* (FLAGS)'),
        ['* 2 FETCH (UID 2 FLAGS (\\Recent))'],
        'n:* includes the last UID',
      );
      assert.match((await c.cmd('FETCH 3 FLAGS')).tagged, /^t\d+ BAD /);
      assert.match((await c.cmd('FETCH 1:3 FLAGS')).tagged, /^t\d+ BAD /);
      assert.deepEqual(await ok(c, 'FETCH 2:* (UID)'), ['* 2 FETCH (UID 2)']);
      await ok(c, 'SELECT Archive');
      // RFC 9051 §9 seq-number: "*" in an empty mailbox is BAD for message numbers; UIDs match nothing.
      assert.match((await c.cmd('FETCH * FLAGS')).tagged, /^t\d+ BAD /);
      assert.match((await c.cmd('FETCH 1:* FLAGS')).tagged, /^t\d+ BAD /);
      assert.deepEqual(await ok(c, 'UID FETCH 1:* FLAGS'), []);
      assert.match((await c.cmd('FETCH 1 (BODY[NOPE])')).tagged, /^t\d+ BAD /);
      assert.match((await c.cmd('FETCH 1 (FLAGS) (VANISHED)')).tagged, /^t\d+ BAD /);
    });

    it('EMAILID names content (kept by COPY), THREADID is NIL, PREVIEW gives the text', async () => {
      const { c } = await fresh([
        msg('a', 'Hello there,\r\nthis  is\tthe preview.'),
        'Subject: html\r\nContent-Type: text/html\r\n\r\n<p>Hi <b>you</b> &amp; me</p>',
      ]);
      await ok(c, 'SELECT INBOX');
      const [one, two] = await ok(c, 'FETCH 1:2 (EMAILID THREADID PREVIEW)');
      const m =
        /^\* 1 FETCH \(EMAILID \((M[0-9a-f]{24})\) THREADID NIL PREVIEW "Hello there, this is the preview\."\)$/.exec(
          one,
        );
      assert.ok(m, one);
      assert.match(two, /^\* 2 FETCH \(EMAILID \(M[0-9a-f]{24}\) THREADID NIL PREVIEW "Hi you & me"\)$/);
      await ok(c, 'COPY 1 Archive');
      await ok(c, 'SELECT Archive');
      assert.deepEqual(await ok(c, 'FETCH 1 EMAILID'), [`* 1 FETCH (EMAILID (${m[1]}))`]);
    });

    it('a FETCH of many large messages streams through (drain) and every byte arrives', async () => {
      const big = `${'0123456789abcdef'.repeat(4)}\r\n`.repeat(1500); // ~100 KB
      const { user, id } = await fresh();
      for (let i = 0; i < 60; i++) await h.deliver(id, msg(`big${i}`, big));
      const b = await bytes(user);
      await b.cmd('EXAMINE INBOX');
      const r = await b.cmd('FETCH 1:* (BODY.PEEK[TEXT])');
      assert.match(r.tagged, /OK/);
      assert.equal(r.responses.length, 60);
      for (const resp of r.responses) assert.deepEqual(item(resp, 'BODY[TEXT]'), Buffer.from(`${big}\r\n`));
      b.close();
    });

    it('a message expunged by another session is not announced during FETCH; its content is EXPUNGEISSUED', async () => {
      const { c, user } = await fresh([msg('a'), msg('b'), msg('c')]);
      await ok(c, 'SELECT INBOX');
      const other = await h.connect({ user });
      await ok(other, 'SELECT INBOX');
      await ok(other, 'STORE 2 +FLAGS.SILENT (\\Deleted)');
      await ok(other, 'EXPUNGE');
      // FETCH (not UID FETCH) must not send EXPUNGE (RFC 9051 §7.4.1); message 2 keeps its number.
      const r = await c.cmd('FETCH 1:3 (BODY.PEEK[HEADER.FIELDS (Subject)])');
      // RFC 5530 §3: the others are answered, so the command succeeded: OK [EXPUNGEISSUED], as Dovecot.
      assert.match(r.tagged, /^t\d+ OK \[EXPUNGEISSUED\] /);
      assert.deepEqual(r.untagged, [
        // The flag change before the expunge is told before the answer (RFC 9051 §7.4.1 only holds back
        // EXPUNGE). c selected first, so the messages are \\Recent in c (RFC 3501 §2.3.2).
        '* 2 FETCH (UID 2 FLAGS (\\Recent \\Deleted))',
        '* 1 FETCH (BODY[HEADER.FIELDS (Subject)] {14}\r\nSubject: a\r\n\r\n)',
        '* 3 FETCH (BODY[HEADER.FIELDS (Subject)] {14}\r\nSubject: c\r\n\r\n)',
      ]);
      // Flags come from the session's view, so FLAGS of message 2 still works.
      assert.deepEqual(await ok(c, 'FETCH 2 (FLAGS)'), ['* 2 FETCH (FLAGS (\\Recent \\Deleted))']);
      assert.deepEqual(await ok(c, 'NOOP'), ['* 2 EXPUNGE', '* 2 RECENT']);
      assert.deepEqual(await ok(c, 'FETCH 2 (BODY.PEEK[HEADER.FIELDS (Subject)])'), [
        '* 2 FETCH (BODY[HEADER.FIELDS (Subject)] {14}\r\nSubject: c\r\n\r\n)',
      ]);
    });
    it("FLAGS after another session's STORE are today's: the change is told first, never after old flags", async () => {
      const { c, user } = await fresh([msg('a'), msg('b')]);
      await ok(c, 'SELECT INBOX');
      const other = await h.connect({ user });
      await ok(other, 'SELECT INBOX');
      await ok(other, 'STORE 2 +FLAGS.SILENT (\\Flagged)');
      // Before: '* 2 FETCH (FLAGS (\\Recent))' (the view's old flags), then the change after it.
      assert.deepEqual(await ok(c, 'FETCH 1:2 (FLAGS)'), [
        '* 2 FETCH (UID 2 FLAGS (\\Recent \\Flagged))',
        '* 1 FETCH (FLAGS (\\Recent))',
        '* 2 FETCH (FLAGS (\\Recent \\Flagged))',
      ]);
    });
  });

  describe('STORE', () => {
    it('+FLAGS, -FLAGS, FLAGS and .SILENT, with keywords; UID STORE answers UID', async () => {
      const { c } = await fresh([msg('a'), msg('b'), msg('c')]);
      await ok(c, 'SELECT INBOX');
      // A new keyword is announced by FLAGS and PERMANENTFLAGS first (RFC 3501 §7.2.6); the messages
      // are \\Recent in this IMAP4rev1 session, the first to select them (RFC 3501 §2.3.2).
      assert.deepEqual(await ok(c, 'STORE 1:2 +FLAGS (\\Flagged $Work)'), [
        '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)',
        '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] Flags you can change permanently',
        '* 1 FETCH (FLAGS (\\Recent \\Flagged $Work))',
        '* 2 FETCH (FLAGS (\\Recent \\Flagged $Work))',
      ]);
      assert.deepEqual(await ok(c, 'STORE 1 -FLAGS \\Flagged'), ['* 1 FETCH (FLAGS (\\Recent $Work))']);
      assert.deepEqual(await ok(c, 'STORE 2 FLAGS (\\Seen \\Answered)'), [
        '* 2 FETCH (FLAGS (\\Recent \\Seen \\Answered))',
      ]);
      assert.deepEqual(await ok(c, 'STORE 3 +FLAGS.SILENT (\\Deleted)'), []);
      assert.deepEqual(await ok(c, 'UID STORE 3 -FLAGS (\\Deleted)'), ['* 3 FETCH (UID 3 FLAGS (\\Recent))']);
      // Nothing changes: still answered (RFC 9051 §6.4.6 "as if a FETCH of those flags was done"); $Work
      // is known by now, so no FLAGS again.
      assert.deepEqual(await ok(c, 'STORE 1 +FLAGS ($work)'), ['* 1 FETCH (FLAGS (\\Recent $Work))']);
      assert.deepEqual(await ok(c, 'UID STORE 50:60 +FLAGS (\\Seen)'), []);
      assert.deepEqual(await ok(c, 'FETCH 1:3 FLAGS'), [
        '* 1 FETCH (FLAGS (\\Recent $Work))',
        '* 2 FETCH (FLAGS (\\Recent \\Seen \\Answered))',
        '* 3 FETCH (FLAGS (\\Recent))',
      ]);
      assert.deepEqual(await ok(c, 'NOOP'), [], 'own changes are not echoed');
    });

    it('refuses \\Recent and unknown system flags (BAD), a read-only mailbox (NO), and bad numbers (BAD)', async () => {
      const { c } = await fresh([msg('a')]);
      await ok(c, 'SELECT INBOX');
      assert.match((await c.cmd('STORE 1 +FLAGS (\\Recent)')).tagged, /^t\d+ BAD /);
      assert.match((await c.cmd('STORE 1 +FLAGS (\\Foo)')).tagged, /^t\d+ BAD /);
      assert.match((await c.cmd('STORE 2 +FLAGS (\\Seen)')).tagged, /^t\d+ BAD /);
      await ok(c, 'EXAMINE INBOX');
      assert.match((await c.cmd('STORE 1 +FLAGS (\\Seen)')).tagged, /^t\d+ NO \[READ-ONLY\] /);
    });

    it('another session sees the change on NOOP and in IDLE; .SILENT still tells about changes it did not expect', async () => {
      const { c, user } = await fresh([msg('a'), msg('b')]);
      const other = await h.connect({ user });
      await ok(c, 'SELECT INBOX');
      await ok(other, 'SELECT INBOX');
      await ok(c, 'STORE 1 +FLAGS.SILENT (\\Seen)');
      assert.deepEqual(await ok(other, 'NOOP'), ['* 1 FETCH (UID 1 FLAGS (\\Seen))']);
      const tag = other.nextTag();
      other.write(`${tag} IDLE\r\n`);
      assert.equal(await other.line(), '+ idling');
      await ok(c, 'STORE 2 +FLAGS (\\Flagged)');
      assert.equal(await other.line(), '* 2 FETCH (UID 2 FLAGS (\\Flagged))');
      other.write('DONE\r\n');
      assert.match((await other.until(tag)).tagged, /OK/);
      // `other` now adds \Deleted silently to 2; c does not know of it yet, so c's silent STORE gets the flags.
      await ok(other, 'STORE 2 +FLAGS.SILENT (\\Deleted)');
      assert.deepEqual(await ok(c, 'STORE 2 +FLAGS.SILENT (\\Answered)'), [
        '* 2 FETCH (FLAGS (\\Recent \\Answered \\Flagged \\Deleted))', // c selected first: \\Recent in c only
      ]);
      assert.deepEqual(await ok(c, 'NOOP'), [], 'the older change is not replayed over the newer flags');
      assert.deepEqual(await ok(other, 'NOOP'), ['* 2 FETCH (UID 2 FLAGS (\\Answered \\Flagged \\Deleted))']);
    });
  });

  describe('COPY, MOVE, EXPUNGE', () => {
    it('COPY answers COPYUID and keeps flags; a missing target is NO [TRYCREATE]', async () => {
      const { c, user } = await fresh([msg('a'), msg('b'), msg('c')]);
      await ok(c, 'SELECT INBOX');
      await ok(c, 'STORE 2 +FLAGS (\\Flagged kw)');
      const r = await c.cmd('COPY 2:3 Archive');
      const uidValidity = (await h.store.mailboxes.get((await h.store.accounts.get(user))!.id, 'Archive'))!.uidValidity;
      assert.equal(r.tagged.split(' ').slice(1, 6).join(' '), `OK [COPYUID ${uidValidity} 2:3 1:2]`);
      assert.deepEqual(await ok(c, 'UID COPY 1,3 Archive'), []);
      assert.match((await c.cmd('COPY 1 Nowhere')).tagged, /^t\d+ NO \[TRYCREATE\] /);
      assert.match((await c.cmd('UID COPY 99 Archive')).tagged, /^t\d+ OK /);
      assert.doesNotMatch((await c.cmd('UID COPY 99 Archive')).tagged, /COPYUID/);
      await ok(c, 'SELECT Archive');
      assert.deepEqual(await ok(c, 'FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])'), [
        // The copies are new in Archive, so \\Recent to the first session that selects it (RFC 3501 §2.3.2).
        '* 1 FETCH (UID 1 FLAGS (\\Recent \\Flagged kw) BODY[HEADER.FIELDS (Subject)] {14}\r\nSubject: b\r\n\r\n)',
        '* 2 FETCH (UID 2 FLAGS (\\Recent) BODY[HEADER.FIELDS (Subject)] {14}\r\nSubject: c\r\n\r\n)',
        '* 3 FETCH (UID 3 FLAGS (\\Recent) BODY[HEADER.FIELDS (Subject)] {14}\r\nSubject: a\r\n\r\n)',
        '* 4 FETCH (UID 4 FLAGS (\\Recent) BODY[HEADER.FIELDS (Subject)] {14}\r\nSubject: c\r\n\r\n)',
      ]);
      // COPY into the selected mailbox: EXISTS before the tagged OK.
      const self = await c.cmd('COPY 1 Archive');
      assert.deepEqual(self.untagged, ['* 5 EXISTS', '* 5 RECENT']); // IMAP4rev1: RECENT with EXISTS
      assert.match(self.tagged, /OK \[COPYUID \d+ 1 5\]/);
    });

    it('MOVE sends COPYUID untagged, then EXPUNGE; the other session sees EXPUNGE only where allowed', async () => {
      const { c, user } = await fresh([msg('a'), msg('b'), msg('c'), msg('d')]);
      const other = await h.connect({ user });
      await ok(c, 'SELECT INBOX');
      await ok(other, 'SELECT INBOX');
      const r = await c.cmd('MOVE 2,4 Trash');
      assert.match(r.untagged[0], /^\* OK \[COPYUID \d+ 2,4 1:2\] /);
      // The moved messages were \Recent in c (it selected first): the new count follows (RFC 3501 §7.3.2).
      assert.deepEqual(r.untagged.slice(1), ['* 2 EXPUNGE', '* 3 EXPUNGE', '* 2 RECENT']);
      assert.match(r.tagged, /^t\d+ OK /);
      // No EXPUNGE during FETCH or STORE (RFC 9051 §7.4.1); UID FETCH may.
      assert.deepEqual(await ok(other, 'FETCH 1:4 (UID)'), [
        '* 1 FETCH (UID 1)',
        '* 2 FETCH (UID 2)',
        '* 3 FETCH (UID 3)',
        '* 4 FETCH (UID 4)',
      ]);
      assert.deepEqual(await ok(other, 'STORE 3 +FLAGS (\\Seen)'), ['* 3 FETCH (FLAGS (\\Seen))']);
      assert.deepEqual(await ok(other, 'NOOP'), ['* 2 EXPUNGE', '* 3 EXPUNGE']);
      assert.deepEqual(await ok(other, 'UID FETCH 1:* (UID)'), ['* 1 FETCH (UID 1)', '* 2 FETCH (UID 3)']);
      assert.match((await c.cmd('MOVE 1 Nowhere')).tagged, /NO \[TRYCREATE\]/);
      await ok(c, 'EXAMINE INBOX');
      assert.match((await c.cmd('MOVE 1 Trash')).tagged, /NO \[READ-ONLY\]/);
      await ok(c, 'SELECT Trash');
      assert.deepEqual(await ok(c, 'FETCH 1:* (BODY.PEEK[HEADER.FIELDS (Subject)])'), [
        '* 1 FETCH (BODY[HEADER.FIELDS (Subject)] {14}\r\nSubject: b\r\n\r\n)',
        '* 2 FETCH (BODY[HEADER.FIELDS (Subject)] {14}\r\nSubject: d\r\n\r\n)',
      ]);
    });

    it('EXPUNGE and UID EXPUNGE remove \\Deleted messages with one EXPUNGE each; read-only is NO', async () => {
      const { c, user } = await fresh([msg('a'), msg('b'), msg('c'), msg('d'), msg('e')]);
      const other = await h.connect({ user });
      await ok(c, 'SELECT INBOX');
      await ok(other, 'SELECT INBOX');
      await ok(c, 'STORE 1,3,4 +FLAGS.SILENT (\\Deleted)');
      // RFC 9051 §7.4.1 example: removing 1, 3 and 4 of 5 gives EXPUNGE 1, 2, 2.
      // c selected first, so its messages are \Recent: each EXPUNGE is followed by the new RECENT count
      // (RFC 3501 §7.3.2); `other` has none recent and gets no RECENT below.
      assert.deepEqual((await c.cmd('UID EXPUNGE 3:5')).untagged, ['* 3 EXPUNGE', '* 3 EXPUNGE', '* 3 RECENT']);
      assert.deepEqual(await ok(c, 'EXPUNGE'), ['* 1 EXPUNGE', '* 2 RECENT']);
      assert.deepEqual(await ok(c, 'UID FETCH 1:* (UID)'), ['* 1 FETCH (UID 2)', '* 2 FETCH (UID 5)']);
      const tag = other.nextTag();
      other.write(`${tag} IDLE\r\n`);
      assert.equal(await other.line(), '+ idling');
      assert.deepEqual(
        [
          await other.line(),
          await other.line(),
          await other.line(),
          await other.line(),
          await other.line(),
          await other.line(),
        ],
        [
          '* 1 FETCH (UID 1 FLAGS (\\Deleted))',
          '* 3 FETCH (UID 3 FLAGS (\\Deleted))',
          '* 4 FETCH (UID 4 FLAGS (\\Deleted))',
          '* 3 EXPUNGE',
          '* 3 EXPUNGE',
          '* 1 EXPUNGE',
        ],
      );
      other.write('DONE\r\n');
      await other.until(tag);
      assert.deepEqual(await ok(c, 'CHECK'), []);
      await ok(c, 'EXAMINE INBOX');
      assert.match((await c.cmd('EXPUNGE')).tagged, /^t\d+ NO \[READ-ONLY\] /);
    });

    it('EXPUNGE does not remove a message another session un-deleted meanwhile', async () => {
      const { c, user } = await fresh([msg('a'), msg('b')]);
      const other = await h.connect({ user });
      await ok(c, 'SELECT INBOX');
      await ok(other, 'SELECT INBOX');
      await ok(c, 'STORE 1:2 +FLAGS.SILENT (\\Deleted)');
      await ok(other, 'STORE 2 -FLAGS.SILENT (\\Deleted)');
      // c selected first, so the messages are \\Recent in c.
      assert.deepEqual(await ok(c, 'EXPUNGE'), ['* 2 FETCH (UID 2 FLAGS (\\Recent))', '* 1 EXPUNGE', '* 1 RECENT']);
      assert.deepEqual(await ok(c, 'UID FETCH 1:* (UID)'), ['* 1 FETCH (UID 2)']);
    });
  });

  describe('APPEND', () => {
    it('stores the literal exactly, with flags and date, answers APPENDUID; LITERAL+ and literal8 too', async () => {
      const { c, user } = await fresh();
      const m1 = 'From: x@example.test\r\nSubject: one\r\n\r\nhello\r\n';
      const r1 = await c.append('INBOX', m1, '(\\Seen $Kw) "05-Jan-2024 10:00:00 +0200"');
      const uv = (await h.store.mailboxes.get((await h.store.accounts.get(user))!.id, 'INBOX'))!.uidValidity;
      assert.equal(r1.tagged.split(' ').slice(1, 5).join(' '), `OK [APPENDUID ${uv} 1]`);
      const m2 = 'Subject: two\r\n\r\nplus\r\n';
      assert.match((await c.cmd(`APPEND INBOX {${m2.length}+}\r\n${m2}`)).tagged, /OK \[APPENDUID \d+ 2\]/);
      const b = await bytes(user);
      const binary = Buffer.concat([Buffer.from('Subject: bin\r\n\r\n'), Buffer.from([0, 1, 0xff, 0, 13, 10])]);
      const r3 = await b.cmd(Buffer.concat([Buffer.from(`APPEND INBOX ~{${binary.length}+}\r\n`), binary]));
      assert.match(r3.tagged, /OK \[APPENDUID \d+ 3\]/);
      await b.cmd('SELECT INBOX');
      const f = await b.cmd('FETCH 1:3 (FLAGS INTERNALDATE BODY.PEEK[])');
      assert.match(
        f.responses[0].toString(),
        /^\* 1 FETCH \(FLAGS \(\\Recent \\Seen \$Kw\) INTERNALDATE "05-Jan-2024 08:00:00 \+0000" /,
      );
      assert.deepEqual(item(f.responses[0], 'BODY[]'), Buffer.from(m1));
      assert.deepEqual(item(f.responses[1], 'BODY[]'), Buffer.from(m2));
      // Stored exactly; BODY[] sends each NUL as 0x80 (a literal is CHAR8, RFC 3501 §4.3), BINARY[] keeps it.
      const inbox = (await h.store.mailboxes.get((await h.store.accounts.get(user))!.id, 'INBOX'))!;
      const stored = (await h.store.messages.readMany(inbox.id, [{ uid: 3, end: binary.length }])).get(3);
      assert.deepEqual(stored, binary);
      assert.deepEqual(item(f.responses[2], 'BODY[]'), Buffer.from(binary.map((x) => (x === 0 ? 0x80 : x))));
      b.close();
    });

    it('MULTIAPPEND stores all messages at once; refusals: TRYCREATE, empty, \\Recent, OVERQUOTA', async () => {
      const { c, user } = await fresh();
      const a = 'Subject: a\r\n\r\na\r\n';
      const bb = 'Subject: b\r\n\r\nb\r\n';
      const r = await c.cmd(`APPEND Drafts (\\Draft) {${a.length}+}\r\n${a} {${bb.length}+}\r\n${bb}`);
      assert.match(r.tagged, /OK \[APPENDUID \d+ 1:2\]/);
      assert.match((await c.cmd(`APPEND Nowhere {${a.length}+}\r\n${a}`)).tagged, /^t\d+ NO \[TRYCREATE\] /);
      assert.match((await c.cmd('APPEND INBOX {0+}\r\n')).tagged, /^t\d+ NO /);
      assert.match((await c.cmd(`APPEND INBOX (\\Recent) {${a.length}+}\r\n${a}`)).tagged, /^t\d+ BAD /);
      await h.store.accounts.update(user, { quotaBytes: 40 });
      assert.match((await c.cmd(`APPEND INBOX {${a.length}+}\r\n${a}`)).tagged, /^t\d+ NO \[OVERQUOTA\] /);
      await ok(c, 'SELECT Drafts');
      assert.match((await c.cmd('COPY 1:2 INBOX')).tagged, /^t\d+ NO \[OVERQUOTA\] /);
      // The flags (and date) belong to the message they precede (RFC 3502 §6).
      // \\Recent is the server's to set (APPEND of it is BAD above): the first SELECT of Drafts sees it.
      assert.deepEqual(await ok(c, 'FETCH 1:* FLAGS'), [
        '* 1 FETCH (FLAGS (\\Recent \\Draft))',
        '* 2 FETCH (FLAGS (\\Recent))',
      ]);
    });

    it('an APPEND to the selected mailbox is announced by EXISTS before the tagged OK; others see it too', async () => {
      const { c, user } = await fresh([msg('a')]);
      const other = await h.connect({ user });
      await ok(c, 'SELECT INBOX');
      await ok(other, 'SELECT INBOX');
      const r = await c.append('INBOX', msg('b'));
      // IMAP4rev1 sessions get RECENT after EXISTS (RFC 3501 §7.3.2): the appending session is told first,
      // so the new message is \\Recent there and not in the other session.
      assert.deepEqual(r.untagged, ['* 2 EXISTS', '* 2 RECENT']);
      assert.deepEqual(await ok(other, 'NOOP'), ['* 2 EXISTS', '* 0 RECENT']);
      assert.deepEqual(await ok(c, 'FETCH 2 (UID RFC822.SIZE)'), [`* 2 FETCH (UID 2 RFC822.SIZE ${msg('b').length})`]);
    });

    it('a message larger than APPENDLIMIT is NO [TOOBIG] before it is sent', async () => {
      const small = await startImap({ settings: { maxMessageSize: 100 } });
      try {
        await small.account('t@example.test', 'pw');
        const c = await small.connect({ user: 't@example.test' });
        const caps = await c.cmd('CAPABILITY');
        assert.match(caps.untagged[0], / APPENDLIMIT=100( |$)/);
        const r = await c.cmd('APPEND INBOX {101}');
        assert.match(r.tagged, /^t\d+ NO \[TOOBIG\] /);
        assert.equal((await c.cmd('NOOP')).status, 'OK');
      } finally {
        await small.stop();
      }
    });
  });

  describe('CONDSTORE and QRESYNC (RFC 7162)', () => {
    async function modseqOf(c: ImapTestClient, seq: number): Promise<number> {
      const [line] = await ok(c, `FETCH ${seq} (MODSEQ)`);
      const m = /MODSEQ \((\d+)\)/.exec(line);
      assert.ok(m, line);
      return Number(m[1]);
    }

    it('SELECT (CONDSTORE) and ENABLE give HIGHESTMODSEQ; FETCH MODSEQ and CHANGEDSINCE', async () => {
      const { c } = await fresh([msg('a'), msg('b'), msg('c')]);
      const sel = await ok(c, 'SELECT INBOX (CONDSTORE)');
      const highest = Number(/HIGHESTMODSEQ (\d+)/.exec(sel.find((l) => l.includes('HIGHESTMODSEQ')) ?? '')?.[1]);
      assert.ok(highest > 0);
      const m3 = await modseqOf(c, 3);
      assert.equal(m3, highest);
      // RFC 7162 §3.1.4.1 example: FETCH (FLAGS) (CHANGEDSINCE x) returns only newer messages, with MODSEQ.
      const stored = await ok(c, 'STORE 1 +FLAGS (\\Seen)');
      const m1 = Number(/MODSEQ \((\d+)\)/.exec(stored[0])?.[1]);
      assert.equal(stored[0], `* 1 FETCH (UID 1 FLAGS (\\Recent \\Seen) MODSEQ (${m1}))`); // IMAP4rev1, first SELECT
      assert.deepEqual(await ok(c, `FETCH 1:* (FLAGS) (CHANGEDSINCE ${m3})`), [
        `* 1 FETCH (FLAGS (\\Recent \\Seen) MODSEQ (${m1}))`,
      ]);
      assert.deepEqual(await ok(c, `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${m1})`), []);
      // ENABLE CONDSTORE while selected in a fresh session: HIGHESTMODSEQ at once.
      const { c: d } = await fresh([msg('x')]);
      await ok(d, 'SELECT INBOX');
      const en = await ok(d, 'ENABLE CONDSTORE');
      assert.equal(en[0], '* ENABLED CONDSTORE');
      assert.match(en[1], /^\* OK \[HIGHESTMODSEQ \d+\] /);
      // FETCH MODSEQ is CONDSTORE-enabling too (RFC 7162 §3.1).
      const { c: e } = await fresh([msg('y')]);
      await ok(e, 'SELECT INBOX');
      const fm = await ok(e, 'FETCH 1 (MODSEQ)');
      assert.match(fm[0], /^\* OK \[HIGHESTMODSEQ \d+\] /);
      assert.match(fm[1], /^\* 1 FETCH \(MODSEQ \(\d+\)\)$/);
    });

    it('STORE UNCHANGEDSINCE answers [MODIFIED] for messages changed since (RFC 7162 §3.1.3)', async () => {
      const { c, user } = await fresh([msg('a'), msg('b'), msg('c'), msg('d')]);
      await ok(c, 'SELECT INBOX (CONDSTORE)');
      const base = await modseqOf(c, 4);
      const other = await h.connect({ user });
      await ok(other, 'SELECT INBOX');
      await ok(other, 'STORE 2,4 +FLAGS.SILENT ($Other)');
      // Like the RFC's "d105 STORE 7,5,9 (UNCHANGEDSINCE 320172338) +FLAGS (\Deleted)".
      const r = await c.cmd(`STORE 4,1,2 (UNCHANGEDSINCE ${base}) +FLAGS (\\Deleted)`);
      const changed = /MODSEQ \((\d+)\)/.exec(r.untagged[2])?.[1];
      const otherMod = base + 1;
      // c selected first (\\Recent, RFC 3501 §2.3.2); $Other is new to c, so FLAGS and PERMANENTFLAGS
      // come before the FETCH responses (RFC 3501 §7.2.6).
      assert.deepEqual(r.untagged, [
        '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Other)',
        '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Other \\*)] Flags you can change permanently',
        `* 1 FETCH (UID 1 FLAGS (\\Recent \\Deleted) MODSEQ (${changed}))`,
        `* 2 FETCH (UID 2 FLAGS (\\Recent $Other) MODSEQ (${otherMod}))`,
        `* 4 FETCH (UID 4 FLAGS (\\Recent $Other) MODSEQ (${otherMod}))`,
      ]);
      assert.match(r.tagged, /^t\d+ OK \[MODIFIED 2,4\] /);
      const u = await c.cmd(`UID STORE 2:4 (UNCHANGEDSINCE ${otherMod}) -FLAGS.SILENT ($Other)`);
      assert.match(u.tagged, /^t\d+ OK UID STORE completed/);
      assert.equal(u.untagged.length, 3, 'silent, but MODSEQ is reported with CONDSTORE');
      assert.match(u.untagged[0], /^\* 2 FETCH \(UID 2 MODSEQ \(\d+\)\)$/);
      // UNCHANGEDSINCE 0 always fails (RFC 7162 §3.1.3).
      assert.match((await c.cmd('UID STORE 1:4 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)')).tagged, /OK \[MODIFIED 1:4\]/);
      // Nothing changed by the failed one, and the other session gets no duplicates.
      assert.deepEqual(await ok(c, 'NOOP'), []);
    });

    it('QRESYNC: BAD before ENABLE; SELECT resynchronizes with VANISHED (EARLIER) and changed FLAGS', async () => {
      const { c, user, id } = await fresh([msg('a'), msg('b'), msg('c'), msg('d'), msg('e')]);
      assert.match((await c.cmd('SELECT INBOX (QRESYNC (1 1))')).tagged, /^t\d+ BAD /);
      assert.deepEqual(await ok(c, 'ENABLE QRESYNC'), ['* ENABLED QRESYNC']);
      const sel = await ok(c, 'SELECT INBOX');
      const highest = Number(/HIGHESTMODSEQ (\d+)/.exec(sel.join('\n'))?.[1]);
      const uidValidity = (await h.store.mailboxes.get(id, 'INBOX'))!.uidValidity;
      // Another client changes things while this one is "offline".
      const other = await h.connect({ user });
      await ok(other, 'SELECT INBOX');
      await ok(other, 'STORE 2,4 +FLAGS.SILENT (\\Deleted)');
      await ok(other, 'STORE 3 +FLAGS.SILENT (\\Flagged)');
      await ok(other, 'EXPUNGE');
      await ok(c, 'UNSELECT');
      const r = await ok(c, `SELECT INBOX (QRESYNC (${uidValidity} ${highest} 1:5))`);
      const vanishedAt = r.findIndex((l) => l.startsWith('* VANISHED'));
      assert.equal(r[vanishedAt], '* VANISHED (EARLIER) 2,4');
      assert.match(r[vanishedAt + 1], /^\* 2 FETCH \(UID 3 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$/);
      assert.ok(r.some((l) => /^\* 3 EXISTS$/.test(l)));
      // known-uids limit what is reported; a different UIDVALIDITY is a plain SELECT.
      const limited = await ok(c, `SELECT INBOX (QRESYNC (${uidValidity} ${highest} 4:5))`);
      assert.equal(limited[0], '* OK [CLOSED] Previous mailbox closed');
      assert.ok(limited.includes('* VANISHED (EARLIER) 4'));
      assert.ok(!limited.some((l) => l.includes('FETCH')));
      const plain = await ok(c, `SELECT INBOX (QRESYNC (${uidValidity + 1} ${highest}))`);
      assert.ok(!plain.some((l) => l.includes('VANISHED') || l.includes('FETCH')));
    });

    it('QRESYNC: UID FETCH (CHANGEDSINCE VANISHED), EXPUNGE and MOVE answer VANISHED and HIGHESTMODSEQ', async () => {
      const { c, user } = await fresh([msg('a'), msg('b'), msg('c'), msg('d')]);
      await ok(c, 'ENABLE QRESYNC');
      await ok(c, 'SELECT INBOX');
      const base = await modseqOf(c, 4);
      const other = await h.connect({ user });
      await ok(other, 'SELECT INBOX');
      await ok(other, 'STORE 1,4 +FLAGS.SILENT (\\Deleted)');
      await ok(other, 'EXPUNGE');
      await ok(other, 'STORE 2 +FLAGS.SILENT (\\Seen)');
      // RFC 7162 §3.2.6: VANISHED (EARLIER) first, including the trailing expunged UID 4 for "1:*".
      const r = await ok(c, `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${base} VANISHED)`);
      // UID FETCH may announce the pending changes first (the expunge as VANISHED), then answers.
      const at = r.indexOf('* VANISHED 1,4');
      assert.ok(at >= 0, r.join('\n'));
      assert.equal(r[r.length - 2], '* VANISHED (EARLIER) 1,4');
      assert.match(r[r.length - 1], /^\* 2 FETCH \(UID 3 FLAGS \(\\Recent \\Seen\) MODSEQ \(\d+\)\)$/); // c selected first
      assert.match((await c.cmd(`FETCH 1:* (FLAGS) (CHANGEDSINCE ${base} VANISHED)`)).tagged, /BAD/);
      // Now nothing is pending: the expunged UIDs come as VANISHED (EARLIER).
      const again = await ok(c, `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${base} VANISHED)`);
      assert.equal(again[0], '* VANISHED (EARLIER) 1,4');
      await ok(c, 'STORE 1 +FLAGS.SILENT (\\Deleted)');
      const ex = await c.cmd('EXPUNGE');
      assert.deepEqual(ex.untagged, ['* VANISHED 2', '* 1 RECENT']); // IMAP4rev1 with QRESYNC still has \\Recent
      assert.match(ex.tagged, /^t\d+ OK \[HIGHESTMODSEQ \d+\] /);
      const mv = await c.cmd('MOVE 1 Trash');
      assert.match(mv.untagged[0], /^\* OK \[COPYUID \d+ 3 1\] /);
      assert.equal(mv.untagged[1], '* VANISHED 3');
      assert.match(mv.tagged, /^t\d+ OK \[HIGHESTMODSEQ \d+\] /);
      // The other session (no QRESYNC) gets EXPUNGE.
      assert.deepEqual(await ok(other, 'NOOP'), ['* 1 FETCH (UID 2 FLAGS (\\Deleted))', '* 1 EXPUNGE', '* 1 EXPUNGE']);
    });
  });
});
