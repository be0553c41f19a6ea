/**
 * SEARCH, SORT and THREAD over a real listener and store (test/harness/imap-harness.ts): every search key,
 * the ESEARCH forms, SAVE and `$`, BADCHARSET, the examples of RFC 9051 §6.4.4, RFC 4731, RFC 5182
 * and RFC 5256 on crafted mailboxes, Python's imaplib, and a larger mailbox.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type ImapHarness, type ImapTestClient, startImap } from '../../test/harness/imap-harness.js';
import { parseMessage } from '../mail/parse.js';
import { ClientGoneError } from '../net/connection.js';
import type { JsonValue } from '../store/types.js';
import { emailId } from './fetch/objectid.js';
import { Pacer } from './search/digest.js';
import { beyondMailbox, resolveSet, saveResult, selectMessages } from './search/saved.js';
import { SelectedMailbox } from './selected.js';
import { parseSequenceSet } from './wire/seqset.js';

const run = promisify(execFile);

interface Msg {
  raw: string | Buffer;
  date?: Date;
  flags?: string[];
}

/** Delivers messages into a new mailbox; with `offset`, first delivers and expunges that many, so UIDs differ from sequence numbers. */
async function fill(h: ImapHarness, accountId: number, mailbox: string, msgs: Msg[], offset = 0): Promise<number[]> {
  const box = await h.store.mailboxes.create(accountId, mailbox);
  const put = async (m: Msg) => {
    const raw = typeof m.raw === 'string' ? Buffer.from(m.raw, 'utf8') : m.raw;
    const r = await h.store.deliver({
      raw,
      meta: parseMessage(raw) as unknown as JsonValue,
      internalDate: m.date,
      local: [{ accountId, mailbox, flags: m.flags ?? [] }],
    });
    return r.local[0].uid;
  };
  const gone: number[] = [];
  for (let i = 0; i < offset; i++) gone.push(await put({ raw: `Subject: placeholder ${i}\r\n\r\nx\r\n` }));
  if (gone.length > 0) await h.store.messages.expunge(box.id, gone);
  // One after the other: the tests read UIDs (and sequence numbers) in the order of `msgs`, and only
  // sequential deliveries promise that on every backend (parallel ones get UIDs in commit order).
  const uids: number[] = [];
  for (const m of msgs) uids.push(await put(m));
  return uids;
}

/** The numbers of the one `* SEARCH` line of a reply. */
function searchNumbers(untagged: string[], kind = 'SEARCH'): string {
  const lines = untagged.filter((l) => l === `* ${kind}` || l.startsWith(`* ${kind} `));
  assert.equal(lines.length, 1, `one * ${kind} line in ${JSON.stringify(untagged)}`);
  return lines[0].slice(kind.length + 2).trim();
}

/** Sends a command with LITERAL+ literals: parts alternate text and literal contents. */
async function cmdLiteral(c: ImapTestClient, ...parts: (string | Buffer)[]) {
  const tag = c.nextTag();
  const chunks: Buffer[] = [Buffer.from(`${tag} `)];
  for (const p of parts) {
    if (typeof p === 'string') chunks.push(Buffer.from(p));
    else chunks.push(Buffer.from(`{${p.length}+}\r\n`), p);
  }
  chunks.push(Buffer.from('\r\n'));
  c.write(Buffer.concat(chunks));
  return c.until(tag);
}

const d = (iso: string) => new Date(iso);

// ---------------------------------------------------------------------------------------------------
// The key table's mailbox: six messages, one property per key.

const KEYS_MAILBOX: Msg[] = [
  {
    raw:
      'From: "Alice Smith" <alice@example.org>\r\nTo: Bob <bob@example.net>\r\nCc: carol@example.com\r\n' +
      'Subject: Meeting tomorrow\r\nDate: Thu, 01 Feb 2024 09:00:00 +0100\r\nMessage-ID: <k1@test>\r\n' +
      'X-Priority: 1\r\n\r\nLet us meet at noon.\r\n',
    date: d('2024-02-01T10:00:00Z'),
    flags: ['\\Seen', '\\Answered'],
  },
  {
    raw:
      'From: bob@example.net\r\nTo: alice@example.org\r\nBcc: dave@example.org\r\n' +
      'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=\r\nDate: Sat, 03 Feb 2024 23:30:00 -0500\r\n' +
      'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n' +
      '\r\nSch=C3=B6ne Gr=C3=BC=C3=9Fe, bis Donnerstag!\r\n',
    date: d('2024-02-03T08:00:00Z'),
    flags: ['\\Flagged', '$Important'],
  },
  {
    raw:
      'From: =?UTF-8?B?5bGx55Sw5aSq6YOO?= <yamada@example.jp>\r\nTo: alice@example.org\r\n' +
      'Subject: =?UTF-8?B?5Lya6K2w44Gu6K2w5LqL6Yyy?=\r\n' +
      'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
      `${Buffer.from('東京で会いましょう。\r\n').toString('base64')}\r\n`,
    date: d('2024-02-05T00:00:00Z'),
    flags: ['\\Deleted'],
  },
  {
    raw:
      'From: carol@example.com\r\nTo: alice@example.org\r\nSubject: Re: Meeting tomorrow\r\n' +
      'In-Reply-To: <k1@test>\r\nDate: Mon, 05 Feb 2024 10:00:00 +0000\r\n\r\n' +
      `${'lorem ipsum dolor sit amet '.repeat(120)}\r\n`,
    date: d('2024-02-07T12:00:00Z'),
    flags: ['\\Draft'],
  },
  {
    raw:
      'From: Eve <eve@example.org>\r\nTo: alice@example.org\r\nSubject: Invoice\r\nX-Custom: Hello World\r\n' +
      'Date: Fri, 01 Mar 2024 12:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n' +
      '--b1\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n' +
      'Caf=E9 cr=E8me\r\n--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
      `${Buffer.from('secretword').toString('base64')}\r\n--b1--\r\n`,
    date: d('2024-03-01T12:00:00Z'),
    flags: ['Work'],
  },
  {
    raw: `From: Frank <frank@example.org>\r\nTo: alice@example.org\r\nSubject: Fresh\r\nDate: ${new Date().toUTCString()}\r\n\r\nnew\r\n`,
    date: new Date(Date.now() - 10_000),
    flags: ['\\Seen'],
  },
];

/** [criteria, expected sequence numbers]; literals as Buffers. */
const KEY_TABLE: [(string | Buffer)[], string][] = [
  [['ALL'], '1 2 3 4 5 6'],
  [['ANSWERED'], '1'],
  [['UNANSWERED'], '2 3 4 5 6'],
  [['DELETED'], '3'],
  [['UNDELETED'], '1 2 4 5 6'],
  [['DRAFT'], '4'],
  [['UNDRAFT'], '1 2 3 5 6'],
  [['FLAGGED'], '2'],
  [['UNFLAGGED'], '1 3 4 5 6'],
  [['SEEN'], '1 6'],
  [['UNSEEN'], '2 3 4 5'],
  [['KEYWORD $Important'], '2'],
  [['KEYWORD $IMPORTANT'], '2'], // flags compare case-insensitively
  [['UNKEYWORD $Important'], '1 3 4 5 6'],
  [['KEYWORD Work'], '5'],
  [['KEYWORD \\Seen'], '1 6'],
  // The table's session is the first to select Keys, so all six are \Recent in it (RFC 3501 §2.3.2);
  // NEW = RECENT UNSEEN (RFC 3501 §6.4.4).
  [['NEW'], '2 3 4 5'],
  [['RECENT'], '1 2 3 4 5 6'],
  [['OLD'], ''],
  [['BCC dave'], '2'],
  [['CC carol'], '1'],
  [['CC nobody'], ''],
  [['FROM smith'], '1'],
  [['FROM "Alice Smith <alice@"'], '1'],
  [['FROM example.org'], '1 5 6'],
  [['FROM ', Buffer.from('山田')], '3'], // RFC 2047 B-encoded display name
  [['TO bob'], '1'],
  [['TO ALICE'], '2 3 4 5 6'],
  [['SUBJECT meeting'], '1 4'],
  [['SUBJECT ', Buffer.from('GRÜSSE')], ''], // folding is not ß → ss
  [['SUBJECT ', Buffer.from('grüße aus')], '2'],
  [['SUBJECT ', Buffer.from('議事録')], '3'],
  [['SUBJECT ""'], '1 2 3 4 5 6'],
  [['BODY noon'], '1'],
  [['BODY ', Buffer.from('SCHÖNE')], '2'], // quoted-printable UTF-8
  [['BODY ', Buffer.from('東京')], '3'], // base64 UTF-8
  [['BODY ', Buffer.from('café crème')], '5'], // quoted-printable Latin-1
  [['BODY secretword'], ''], // an attachment is not text
  [['BODY meeting'], ''], // the subject is not the body
  [['TEXT meeting'], '1 4'],
  [['TEXT noon'], '1'],
  [['TEXT "x-custom: hello"'], '5'],
  [['TEXT octet-stream'], '5'], // MIME header fields count for TEXT
  [['HEADER X-Custom ""'], '5'],
  [['HEADER x-custom WORLD'], '5'],
  [['HEADER In-Reply-To k1'], '4'],
  [['HEADER Subject ', Buffer.from('grüße')], '2'],
  [['HEADER X-Missing ""'], ''],
  [['LARGER 2000'], '4'],
  [['SMALLER 2000'], '1 2 3 5 6'],
  [['BEFORE 3-Feb-2024'], '1'],
  [['ON 3-Feb-2024'], '2'],
  [['ON 5-Feb-2024'], '3'], // 00:00 UTC is that day
  [['SINCE 5-Feb-2024'], '3 4 5 6'],
  [['SENTBEFORE 3-Feb-2024'], '1'],
  [['SENTON 3-Feb-2024'], '2'], // the written date; in UTC it is 4 Feb
  [['SENTSINCE 4-Feb-2024'], '4 5 6'], // 3 has no Date header
  [['YOUNGER 3600'], '6'],
  [['OLDER 3600'], '1 2 3 4 5'],
  [['UID 2:3'], '2 3'],
  [['UID *'], '6'],
  [['UID 100:*'], '6'], // RFC 9051 §6.4.8: n:* includes the last UID
  [['2,4:*'], '2 4 5 6'],
  [['*'], '6'],
  [['7:9'], ''],
  [['NOT SEEN'], '2 3 4 5'],
  [['OR SEEN FLAGGED'], '1 2 6'],
  [['(SEEN ANSWERED)'], '1'],
  [['OR (SEEN ANSWERED) DRAFT'], '1 4'],
  [['NOT (OR FROM alice OR DRAFT DELETED)'], '2 5 6'],
  [['SEEN NOT ANSWERED SINCE 1-Jan-2025'], '6'],
  [['OR BODY noon FROM eve'], '1 5'],
  [['THREADID T1'], ''],
];

describe('IMAP SEARCH, SORT and THREAD', () => {
  let h: ImapHarness;
  let accountId: number;
  let keysUids: number[];

  before(async () => {
    h = await startImap();
    accountId = await h.account('alice@example.test', 'pw');
    keysUids = await fill(h, accountId, 'Keys', KEYS_MAILBOX);
  });
  after(() => h.stop());

  it('every search key (table), in an IMAP4rev1 session', async () => {
    const c = await h.connect();
    assert.equal((await c.cmd('SELECT Keys')).status, 'OK');
    for (const [criteria, expected] of KEY_TABLE) {
      const r = await cmdLiteral(c, 'SEARCH CHARSET UTF-8 ', ...criteria);
      const label = criteria.map((p) => p.toString()).join('');
      assert.equal(r.status, 'OK', `${label}: ${r.tagged}`);
      assert.equal(searchNumbers(r.untagged), expected, label);
    }
  });

  it('UID SEARCH returns UIDs; EMAILID and MODSEQ', async () => {
    const c = await h.connect();
    await c.cmd('SELECT Keys');
    assert.equal(searchNumbers((await c.cmd('UID SEARCH UNSEEN')).untagged), keysUids.slice(1, 5).join(' '));
    const raw = Buffer.from(KEYS_MAILBOX[4].raw as string);
    const id = emailId(createHash('sha256').update(raw).digest('hex'));
    assert.equal(searchNumbers((await c.cmd(`SEARCH EMAILID ${id}`)).untagged), '5');
    assert.equal(searchNumbers((await c.cmd('SEARCH EMAILID Mnothere')).untagged), '');
    // RFC 7162 §3.1.5: MODSEQ; the first use enables CONDSTORE (HIGHESTMODSEQ), the result carries the highest.
    const box = (await h.store.mailboxes.get(accountId, 'Keys'))!;
    const infos = await h.store.messages.list(box.id);
    const r = await c.cmd(`SEARCH MODSEQ ${infos[4].modseq}`);
    assert.match(r.untagged[0], /^\* OK \[HIGHESTMODSEQ \d+\]/);
    assert.equal(searchNumbers(r.untagged), `5 6 (MODSEQ ${infos[5].modseq})`);
    assert.equal(
      searchNumbers((await c.cmd(`SEARCH MODSEQ "/flags/\\\\draft" all ${infos[5].modseq + 1}`)).untagged),
      '',
    );
    const e = await c.cmd(`SEARCH RETURN (MIN COUNT) MODSEQ ${infos[3].modseq}`);
    assert.deepEqual(e.untagged, [
      `* ESEARCH (TAG "${e.tagged.split(' ')[0]}") MIN 4 COUNT 3 MODSEQ ${infos[5].modseq}`,
    ]);
    const m = await c.cmd(`SEARCH RETURN (MIN) MODSEQ ${infos[3].modseq}`);
    assert.match(m.untagged[0], new RegExp(`MIN 4 MODSEQ ${infos[3].modseq}$`)); // RFC 4731 §3.2
  });

  it('non-ASCII search strings as quoted UTF-8 once IMAP4rev2 is enabled, and ESEARCH by default', async () => {
    const c = await h.connect();
    await c.cmd('ENABLE IMAP4rev2');
    await c.cmd('SELECT Keys');
    const q = await c.cmd('SEARCH SUBJECT "grüße"');
    const tag = q.tagged.split(' ')[0];
    assert.deepEqual(q.untagged, [`* ESEARCH (TAG "${tag}") ALL 2`]);
    const j = await c.cmd('SEARCH OR FROM "山田" BODY "東京"');
    assert.match(j.untagged[0], /\) ALL 3$/);
    const u = await c.cmd('UID SEARCH NOT ALL');
    assert.deepEqual(u.untagged, [`* ESEARCH (TAG "${u.tagged.split(' ')[0]}") UID`]);
    const a = await c.cmd('SEARCH UNSEEN');
    assert.match(a.untagged[0], /\) ALL 2:5$/);
  });

  it('ESEARCH result forms (RFC 4731 §3.1)', async () => {
    const c = await h.connect();
    await c.cmd('SELECT Keys');
    const esearch = async (cmd: string) => {
      const r = await c.cmd(cmd);
      assert.equal(r.status, 'OK', r.tagged);
      const tag = r.tagged.split(' ')[0];
      assert.equal(r.untagged.length, 1, JSON.stringify(r.untagged));
      const prefix = `* ESEARCH (TAG "${tag}")`;
      assert.ok(r.untagged[0].startsWith(prefix), r.untagged[0]);
      return r.untagged[0].slice(prefix.length).trim();
    };
    assert.equal(await esearch('SEARCH RETURN (MIN) UNSEEN'), 'MIN 2');
    assert.equal(await esearch('SEARCH RETURN (MAX COUNT) UNSEEN'), 'MAX 5 COUNT 4');
    assert.equal(await esearch('SEARCH RETURN () UNSEEN'), 'ALL 2:5');
    assert.equal(await esearch('SEARCH RETURN (ALL) OR SEEN DRAFT'), 'ALL 1,4,6');
    assert.equal(await esearch('SEARCH RETURN (MIN MAX COUNT ALL) SEEN'), 'MIN 1 MAX 6 COUNT 2 ALL 1,6');
    assert.equal(await esearch('SEARCH RETURN (MIN MAX COUNT ALL) NOT ALL'), 'COUNT 0');
    assert.equal(await esearch('SEARCH RETURN (MIN MAX ALL) NOT ALL'), '');
    assert.equal(await esearch('UID SEARCH RETURN (COUNT ALL) SEEN'), `UID COUNT 2 ALL ${keysUids[0]},${keysUids[5]}`);
    // RFC 4731 examples: the first unseen message; UID MIN/MAX over a range.
    assert.equal(await esearch('UID SEARCH RETURN (MIN MAX) 1:5000'), `UID MIN ${keysUids[0]} MAX ${keysUids[5]}`);
    assert.equal(await esearch('SEARCH RETURN (COUNT) DELETED'), 'COUNT 1');
    assert.match((await c.cmd('SEARCH RETURN (PARTIAL 1:10) ALL')).tagged, /BAD/);
  });

  it('SAVE and $ (RFC 5182)', async () => {
    const c = await h.connect();
    await c.cmd('SELECT Keys');
    const numbers = async (cmd: string) => searchNumbers((await c.cmd(cmd)).untagged);
    // SAVE alone: no untagged response (RFC 5182 §1).
    const saved = await c.cmd('SEARCH RETURN (SAVE) UNSEEN');
    assert.deepEqual(saved.untagged, []);
    assert.match(saved.tagged, /OK SEARCH completed, result saved/);
    assert.equal(await numbers('SEARCH $'), '2 3 4 5');
    assert.equal(await numbers('SEARCH NOT $'), '1 6');
    assert.equal(await numbers('SEARCH OR $ 1'), '1 2 3 4 5');
    assert.equal(await numbers('UID SEARCH UID $ SMALLER 2000'), [keysUids[1], keysUids[2], keysUids[4]].join(' '));
    assert.equal(await numbers('UID SEARCH $ SMALLER 2000'), [keysUids[1], keysUids[2], keysUids[4]].join(' '));
    // A SEARCH without SAVE leaves $ alone.
    await c.cmd('SEARCH SEEN');
    assert.equal(await numbers('SEARCH $'), '2 3 4 5');
    // RFC 5182 §2.4: with MIN/MAX only, $ holds just those; with COUNT/ALL, everything.
    assert.match((await c.cmd('SEARCH RETURN (MIN SAVE) UNSEEN')).untagged[0], / MIN 2$/);
    assert.equal(await numbers('SEARCH $'), '2');
    await c.cmd('SEARCH RETURN (SAVE MIN MAX) UNSEEN');
    assert.equal(await numbers('SEARCH $'), '2 5');
    await c.cmd('SEARCH RETURN (SAVE COUNT) SEEN');
    assert.equal(await numbers('SEARCH $'), '1 6');
    await c.cmd('UID SEARCH RETURN (SAVE MAX ALL) FLAGGED');
    assert.equal(await numbers('SEARCH $'), '2');
    // BAD leaves $ alone; NO (BADCHARSET) of a SAVE empties it (RFC 5182 §2.1).
    assert.match((await c.cmd('SEARCH RETURN (SAVE) FUZZY ALL')).tagged, /BAD/);
    assert.equal(await numbers('SEARCH $'), '2');
    const bad = await c.cmd('SEARCH RETURN (SAVE) CHARSET KOI8-R ALL');
    assert.match(bad.tagged, /NO \[BADCHARSET \(UTF-8 US-ASCII\)\]/);
    assert.equal(await numbers('SEARCH $'), '');
    // SORT RETURN (SAVE) sets it too; a new SELECT resets it.
    await c.cmd('SORT RETURN (SAVE) (SUBJECT) UTF-8 SEEN');
    assert.equal(await numbers('SEARCH $'), '1 6');
    await c.cmd('SELECT Keys');
    assert.equal(await numbers('SEARCH $'), '');
  });

  it('$ drops messages expunged meanwhile; no EXPUNGE during SEARCH, but during UID SEARCH', async () => {
    const uids = await fill(h, accountId, 'Expunging', [
      { raw: 'Subject: a\r\n\r\nx\r\n' },
      { raw: 'Subject: b\r\n\r\nx\r\n' },
      { raw: 'Subject: c\r\n\r\nx\r\n' },
    ]);
    const box = (await h.store.mailboxes.get(accountId, 'Expunging'))!;
    const c = await h.connect();
    await c.cmd('SELECT Expunging');
    await c.cmd('SEARCH RETURN (SAVE) ALL');
    await h.store.messages.expunge(box.id, [uids[1]]);
    // RFC 9051 §7.4.1: no EXPUNGE while sequence numbers are in use; the view keeps message 2.
    const s = await c.cmd('SEARCH ALL');
    assert.deepEqual(s.untagged, ['* SEARCH 1 2 3']);
    assert.equal(searchNumbers((await c.cmd('SEARCH SUBJECT b')).untagged), ''); // its content is gone
    const u = await c.cmd('UID SEARCH ALL');
    // The expunged message was \\Recent here: RECENT follows the EXPUNGE (RFC 3501 §7.3.2).
    assert.deepEqual(u.untagged, ['* 2 EXPUNGE', '* 2 RECENT', `* SEARCH ${uids[0]} ${uids[2]}`]);
    assert.equal(searchNumbers((await c.cmd('SEARCH $')).untagged), '1 2');
    assert.equal(searchNumbers((await c.cmd('UID SEARCH UID $')).untagged), `${uids[0]} ${uids[2]}`);
  });

  it('$ in FETCH, STORE and COPY (RFC 5182 examples 1, 6 and 7)', async () => {
    await fill(h, accountId, 'Junkish', [
      { raw: 'Subject: one\r\n\r\nx\r\n', flags: ['$Junk'] },
      { raw: 'Subject: two\r\n\r\nx\r\n' },
      { raw: 'Subject: three\r\n\r\nx\r\n', flags: ['$Junk'] },
    ]);
    await h.store.mailboxes.create(accountId, 'Other Messages');
    const c = await h.connect();
    await c.cmd('SELECT Junkish');
    // Example 7, pipelined: the commands run in order, so $ is set before COPY and STORE use it.
    const t1 = c.nextTag();
    const t2 = c.nextTag();
    const t3 = c.nextTag();
    c.write(`${t1} SEARCH RETURN (SAVE) KEYWORD $Junk\r\n${t2} COPY $ "Junk"\r\n${t3} STORE $ +FLAGS (\\Deleted)\r\n`);
    assert.equal((await c.until(t1)).status, 'OK');
    assert.equal((await c.until(t2)).status, 'OK');
    const stored = await c.until(t3);
    // This IMAP4rev1 session selected Junkish first: its messages are \Recent here (RFC 3501 §2.3.2).
    assert.deepEqual(stored.untagged, [
      '* 1 FETCH (FLAGS (\\Recent \\Deleted $Junk))',
      '* 3 FETCH (FLAGS (\\Recent \\Deleted $Junk))',
    ]);
    const f = await c.cmd('FETCH $ (UID)');
    assert.deepEqual(f.untagged, ['* 1 FETCH (UID 1)', '* 3 FETCH (UID 3)']);
    // Example 6: an empty $ is a valid set that matches nothing.
    await c.cmd('SEARCH RETURN (SAVE) SUBJECT nothing');
    assert.equal((await c.cmd('COPY $ "Other Messages"')).status, 'OK');
    assert.deepEqual((await c.cmd('FETCH $ (UID)')).untagged, []);
    const junk = (await h.store.mailboxes.get(accountId, 'Junk'))!;
    assert.equal((await h.store.messages.list(junk.id)).length, 2);
  });

  it('BADCHARSET for SEARCH, SORT and THREAD; charset names case-insensitive', async () => {
    const c = await h.connect();
    await c.cmd('SELECT Keys');
    for (const cmd of [
      'SEARCH CHARSET WHATEVER TEXT "x"',
      'SORT (DATE) KOI8-R ALL',
      'THREAD REFERENCES ISO-8859-1 ALL',
    ]) {
      const r = await c.cmd(cmd);
      assert.equal(r.tagged.split(' ').slice(1, 5).join(' '), 'NO [BADCHARSET (UTF-8 US-ASCII)]', cmd);
    }
    assert.equal((await c.cmd('SEARCH CHARSET us-ascii SEEN')).status, 'OK');
    assert.equal((await c.cmd('SORT (DATE) utf-8 SEEN')).status, 'OK');
    assert.match((await c.cmd('THREAD NOSUCHALGO UTF-8 ALL')).tagged, /BAD .*REFERENCES or ORDEREDSUBJECT/);
    assert.match((await c.cmd('SEARCH SAVEDBEFORE 1-Jan-2024')).tagged, /BAD .*SAVEDATE/);
  });

  it('the examples of RFC 9051 §6.4.4 (and RFC 3501, RFC 4731, RFC 5182)', async () => {
    // 11 messages: FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith" matches 2, 10 and 11.
    const msgs: Msg[] = [];
    for (let i = 1; i <= 11; i++) {
      const from = i === 3 ? 'John Smith <smith@example.org>' : `user${i}@example.org`;
      const text = i === 7 ? 'Grüße aus Köln' : 'nothing special';
      msgs.push({
        raw: `From: ${from}\r\nSubject: message ${i}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${text}\r\n`,
        date: i === 4 ? d('1993-06-01T00:00:00Z') : d(`2004-0${(i % 9) + 1}-15T00:00:00Z`),
        flags: [2, 3, 4, 10, 11].includes(i) ? ['\\Flagged'] : i === 5 ? ['\\Deleted'] : [],
      });
    }
    await fill(h, accountId, 'Rfc9051', msgs);
    const c = await h.connect();
    await c.cmd('SELECT Rfc9051');
    // RFC 3501 §6.4.4 (an IMAP4rev1 client): * SEARCH.
    assert.deepEqual((await c.cmd('SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"')).untagged, ['* SEARCH 2 10 11']);
    assert.deepEqual((await c.cmd('SEARCH TEXT "string not in mailbox"')).untagged, ['* SEARCH']);
    let r = await c.cmd('SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tagged.split(' ')[0]}") MIN 2 COUNT 3`]);
    r = await c.cmd('SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tagged.split(' ')[0]}") ALL 2,10:11`]);
    // RFC 5182 example 3 and 4: $ from a SEARCH, used by UID SEARCH and combined with OR.
    await c.cmd('SEARCH RETURN (SAVE) SINCE 1-Jan-2004 NOT FROM "Smith"');
    assert.deepEqual((await c.cmd('UID SEARCH UID $ SMALLER 4096')).untagged, ['* SEARCH 1 2 5 6 7 8 9 10 11']);
    const p = await cmdLiteral(c, 'SEARCH CHARSET UTF-8 (OR $ 1,3000:3021) TEXT ', Buffer.from('grüße'));
    assert.deepEqual(p.untagged, ['* SEARCH 7']);
    // RFC 9051 §6.4.4 in an IMAP4rev2 session: ESEARCH always, a UTF-8 literal, BADCHARSET.
    const v2 = await h.connect();
    await v2.cmd('ENABLE IMAP4rev2');
    await v2.cmd('SELECT Rfc9051');
    r = await v2.cmd('SEARCH TEXT "string not in mailbox"');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tagged.split(' ')[0]}")`]);
    const twelve = Buffer.from('Grüße aus '); // 12 octets of UTF-8
    assert.equal(twelve.length, 12);
    r = await cmdLiteral(v2, 'SEARCH CHARSET UTF-8 TEXT ', twelve);
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tagged.split(' ')[0]}") ALL 7`]);
    r = await v2.cmd('SEARCH CHARSET WHATEVER TEXT "string not in mailbox"');
    assert.match(r.tagged, /^t\d+ NO \[BADCHARSET \(UTF-8 US-ASCII\)\] /);
  });

  // -------------------------------------------------------------------------------------------------
  // SORT (RFC 5256 §3, RFC 5957)

  const SORT_MAILBOX: Msg[] = [
    {
      raw:
        'From: Zed Zulu <zulu@x.test>\r\nTo: Bob <d@x.test>\r\nCc: c@x.test\r\nSubject: Cherry\r\n' +
        `Date: Wed, 10 Jan 2024 12:00:00 +0000\r\n\r\n${'x'.repeat(500)}\r\n`,
      date: d('2024-01-02T00:00:00Z'),
    },
    {
      raw:
        'From: =?UTF-8?Q?=C3=84rger?= <bravo@x.test>\r\nTo: c@x.test\r\nSubject: Cherry\r\n' +
        `Date: Fri, 05 Jan 2024 12:00:00 +0000\r\n\r\n${'x'.repeat(100)}\r\n`,
      date: d('2024-01-01T00:00:00Z'),
    },
    {
      raw:
        'From: charlie@x.test\r\nTo: Anna <b@x.test>\r\nCc: a@x.test\r\nSubject: Re: banana\r\n' +
        `Date: Tue, 09 Jan 2024 12:00:00 +0000\r\n\r\n${'x'.repeat(300)}\r\n`,
      date: d('2024-01-04T00:00:00Z'),
    },
    {
      raw:
        'From: Beta <alpha@x.test>\r\nTo: a@x.test\r\nCc: b@x.test\r\nSubject: Banana\r\n' +
        `Date: Mon, 08 Jan 2024 12:00:00 +0000\r\n\r\n${'x'.repeat(200)}\r\n`,
      date: d('2024-01-03T00:00:00Z'),
    },
    {
      raw: `From: alpha <echo@x.test>\r\nTo: Zoe <e@x.test>\r\nSubject: [list] Apple\r\nDate: not a date\r\n\r\n${'x'.repeat(400)}\r\n`,
      date: d('2024-01-05T18:00:00Z'),
    },
  ];

  it('SORT by every key, REVERSE, ties by sequence number, UID SORT, ESORT (RFC 5256 §3, RFC 5957, RFC 5267)', async () => {
    const uids = await fill(h, accountId, 'Sort', SORT_MAILBOX, 1);
    assert.deepEqual(uids, [2, 3, 4, 5, 6]);
    const c = await h.connect();
    await c.cmd('SELECT Sort');
    const sort = async (cmd: string) => {
      const r = await c.cmd(cmd);
      assert.equal(r.status, 'OK', `${cmd}: ${r.tagged}`);
      return searchNumbers(r.untagged, 'SORT');
    };
    const bySize = SORT_MAILBOX.map((m, i) => [Buffer.byteLength(m.raw as string), i + 1])
      .sort((a, b) => a[0] - b[0])
      .map(([, seq]) => seq)
      .join(' ');
    const table: [string, string][] = [
      ['(ARRIVAL)', '2 1 4 3 5'],
      ['(REVERSE ARRIVAL)', '5 3 4 1 2'],
      ['(DATE)', '2 5 4 3 1'], // 5 has no parseable Date: its INTERNALDATE (RFC 5256 §2.2)
      ['(FROM)', '4 2 3 5 1'], // addr-mailbox: alpha bravo charlie echo zulu
      ['(TO)', '4 3 2 1 5'],
      ['(CC)', '2 5 3 4 1'], // no Cc sorts as ""
      ['(DISPLAYFROM)', '5 2 4 3 1'], // alpha, Ärger, Beta, charlie@x.test, Zed Zulu
      ['(DISPLAYTO)', '4 3 1 2 5'], // a@x.test, Anna, Bob, c@x.test, Zoe
      ['(SUBJECT)', '5 3 4 1 2'], // apple, banana (Re: removed), cherry
      ['(SUBJECT REVERSE DATE)', '5 3 4 1 2'], // the RFC 5256 example's shape
      ['(SUBJECT DATE)', '5 4 3 2 1'],
      ['(REVERSE SUBJECT)', '1 2 3 4 5'], // REVERSE does not reverse the sequence-number tie break
      ['(SIZE)', bySize],
      ['(REVERSE SIZE)', bySize.split(' ').reverse().join(' ')],
    ];
    for (const [criteria, expected] of table)
      assert.equal(await sort(`SORT ${criteria} UTF-8 ALL`), expected, criteria);
    assert.equal(await sort('SORT (DATE) UTF-8 SINCE 3-Jan-2024'), '5 4 3');
    assert.equal(await sort('SORT (SUBJECT) US-ASCII TEXT "not in mailbox"'), '');
    assert.equal(await sort('UID SORT (SUBJECT) UTF-8 ALL'), '6 4 5 2 3');
    // ESORT (RFC 5267 §3.2): MIN/MAX are the first and last in sort order, ALL keeps the order.
    const r = await c.cmd('SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tagged.split(' ')[0]}") MIN 2 MAX 1 COUNT 5 ALL 2,5,4,3,1`]);
    const u = await c.cmd('UID SORT RETURN (ALL) (REVERSE ARRIVAL) UTF-8 ALL');
    // Ascending runs may be ranges: 4:5 is 4 then 5.
    assert.deepEqual(u.untagged, [`* ESEARCH (TAG "${u.tagged.split(' ')[0]}") UID ALL 6,4:5,2:3`]);
    // RFC 7162: MODSEQ in the SORT response.
    const m = await c.cmd('SORT (ARRIVAL) UTF-8 MODSEQ 1');
    assert.match(searchNumbers(m.untagged, 'SORT'), /^2 1 4 3 5 \(MODSEQ \d+\)$/);
  });

  // -------------------------------------------------------------------------------------------------
  // THREAD (RFC 5256 §3 BASE.6.4.THREAD, §4 BASE.7.2.THREAD)

  it('THREAD REFERENCES reproduces the RFC 5256 response shape (2)(3 6 (4 23)(44 7 96))', async () => {
    const parent: Record<number, number[]> = {
      6: [3],
      4: [3, 6],
      23: [3, 6, 4],
      44: [3, 6],
      7: [3, 6, 44],
      96: [3, 6, 44, 7],
    };
    const inThread = new Set([2, 3, 4, 6, 7, 23, 44, 96]);
    const msgs: Msg[] = [];
    for (let seq = 1; seq <= 96; seq++) {
      const refs = parent[seq] ? `References: ${parent[seq].map((p) => `<t${p}@x>`).join(' ')}\r\n` : '';
      const subject = seq === 2 ? 'Lone' : seq === 3 ? 'Root' : inThread.has(seq) ? 'Re: Root' : `Filler ${seq}`;
      const date = new Date(Date.UTC(2024, 0, 1) + seq * 3_600_000).toUTCString();
      msgs.push({
        raw: `Message-ID: <t${seq}@x>\r\n${refs}Subject: ${subject}\r\nDate: ${date}\r\n\r\nx\r\n`,
        flags: inThread.has(seq) ? ['$T'] : [],
      });
    }
    await fill(h, accountId, 'Thread1', msgs);
    const c = await h.connect();
    await c.cmd('SELECT Thread1');
    const refs = await c.cmd('THREAD REFERENCES UTF-8 KEYWORD $T');
    assert.deepEqual(refs.untagged, ['* THREAD (2)(3 6 (4 23)(44 7 96))']);
    // ORDEREDSUBJECT: by base subject, then date; the second message is the child, the rest its siblings.
    const ordered = await c.cmd('THREAD ORDEREDSUBJECT UTF-8 KEYWORD $T');
    assert.deepEqual(ordered.untagged, ['* THREAD (2)(3 (4)(6)(7)(23)(44)(96))']);
    assert.deepEqual((await c.cmd('THREAD REFERENCES UTF-8 SUBJECT nothing-like-this')).untagged, ['* THREAD']);
    assert.deepEqual((await c.cmd('THREAD ORDEREDSUBJECT UTF-8 2:3')).untagged, ['* THREAD (2)(3)']);
    assert.deepEqual((await c.cmd('THREAD ORDEREDSUBJECT UTF-8 3:4')).untagged, ['* THREAD (3 4)']);
    assert.deepEqual((await c.cmd('UID THREAD REFERENCES UTF-8 UID 3,6')).untagged, ['* THREAD (3 6)']);
  });

  it('THREAD REFERENCES: dummies, pruning, subject merging, loops, duplicate ids, truncated References', async () => {
    const hour = (n: number) => new Date(Date.UTC(2024, 1, 1) + n * 3_600_000).toUTCString();
    const m = (id: string, subject: string, n: number, extra = '') =>
      ({ raw: `Message-ID: <${id}@x>\r\nSubject: ${subject}\r\nDate: ${hour(n)}\r\n${extra}\r\nbody\r\n` }) as Msg;
    await fill(h, accountId, 'Thread2', [
      m('a', 'Topic', 1, 'References: <missing@x>\r\n'), // 1: a dummy parent (never seen)...
      m('b', 'Re: Topic', 2, 'References: <missing@x>\r\n'), // 2: ...with two children: kept as ((1)(2))
      m('c', 'Other', 3), // 3-5: same base subject, no references: merged
      m('d', 'Other', 4), // 4: neither is a reply: a new dummy holds 3 and 4
      m('e', 'Re: Other', 5), // 5: a reply: child of that dummy
      m('f', 'Loop', 6, 'References: <g@x> <f@x>\r\n'), // 6: would be its own ancestor
      m('a', 'Dup', 7), // 7: duplicate Message-ID: gets a unique one
      m('h', 'Re: Topic', 8, 'References: <zzz@x> <b@x>\r\n'), // 8: reply to 2 (zzz dummy pruned)
      m('i', 'Re: Other', 9, 'In-Reply-To: <c@x>\r\n'), // 9: In-Reply-To only: child of 3
    ]);
    const c = await h.connect();
    await c.cmd('SELECT Thread2');
    assert.deepEqual((await c.cmd('THREAD REFERENCES UTF-8 ALL')).untagged, ['* THREAD ((1)(2 8))((3 9)(4)(5))(6)(7)']);
    // A single child of a dummy is promoted to the root.
    assert.deepEqual((await c.cmd('THREAD REFERENCES UTF-8 1,3,6')).untagged, ['* THREAD (1)(3)(6)']);
    assert.deepEqual((await c.cmd('THREAD ORDEREDSUBJECT UTF-8 ALL')).untagged, [
      '* THREAD (1 (2)(8))(3 (4)(5)(9))(6)(7)',
    ]);
  });

  it('THREAD on a reply chain of 3,000 messages (no recursion limits)', async () => {
    const msgs: Msg[] = [];
    for (let i = 1; i <= 3000; i++) {
      const refs = i > 1 ? `In-Reply-To: <c${i - 1}@x>\r\n` : '';
      msgs.push({
        raw: `Message-ID: <c${i}@x>\r\n${refs}Subject: Re: chain\r\n\r\nx\r\n`,
        date: new Date(1e12 + i * 1000),
      });
    }
    await fill(h, accountId, 'Chain', msgs);
    const c = await h.connect();
    await c.cmd('SELECT Chain');
    const r = await c.cmd('THREAD REFERENCES UTF-8 ALL', 20_000);
    assert.equal(r.untagged[0], `* THREAD (${Array.from({ length: 3000 }, (_, i) => i + 1).join(' ')})`);
  });

  // -------------------------------------------------------------------------------------------------

  it('the `$` resolver other commands use (saved.ts)', async () => {
    const box = (await h.store.mailboxes.get(accountId, 'Keys'))!;
    const sel = new SelectedMailbox(box, true, await h.store.messages.list(box.id));
    const set = (s: string) => {
      const p = parseSequenceSet(s);
      assert.ok(p.ok);
      return p.set;
    };
    saveResult(sel, [keysUids[1], keysUids[3], 9999]);
    assert.equal(resolveSet(sel, set('$'), false).toString(), '2,4');
    assert.equal(resolveSet(sel, set('$'), true).toString(), `${keysUids[1]},${keysUids[3]}`);
    assert.deepEqual(selectMessages(sel, set('$'), false), [1, 3]);
    assert.deepEqual(selectMessages(sel, set('2:*'), true), [1, 2, 3, 4, 5]);
    assert.deepEqual(selectMessages(sel, set('5:9'), false), [4, 5]);
    assert.equal(beyondMailbox(sel, set('5:9'), false), true);
    assert.equal(beyondMailbox(sel, set('5:9'), true), false);
    assert.equal(beyondMailbox(sel, set('$'), false), false);
    sel.close();
  });

  it("Python's imaplib: search, sort and thread", async () => {
    const script = `
import imaplib, json, sys
M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
M.login('alice@example.test', 'pw')
out = {}
M.select('Keys')
out['search'] = M.search(None, 'FROM', '"example.org"')[1][0].decode()
out['uid'] = M.uid('SEARCH', 'UNSEEN')[1][0].decode()
M.literal = 'Grüße'.encode('utf-8')
out['utf8'] = M.search('UTF-8', 'SUBJECT')[1][0].decode()
M.select('Sort')
out['sort'] = M.sort('(SUBJECT REVERSE DATE)', 'UTF-8', 'ALL')[1][0].decode()
out['uidsort'] = M.uid('SORT', '(DISPLAYFROM)', 'UTF-8', 'ALL')[1][0].decode()
M.select('Thread2')
out['thread'] = M.thread('REFERENCES', 'UTF-8', 'ALL')[1][0].decode()
out['ordered'] = M.thread('ORDEREDSUBJECT', 'UTF-8', 'ALL')[1][0].decode()
M.logout()
print(json.dumps(out))
`;
    const { stdout } = await run('python3', ['-c', script, String(h.port)], { timeout: 20_000 });
    assert.deepEqual(JSON.parse(stdout), {
      search: '1 5 6',
      uid: keysUids.slice(1, 5).join(' '),
      utf8: '2',
      sort: '5 3 4 1 2',
      uidsort: '6 3 5 4 2',
      thread: '((1)(2 8))((3 9)(4)(5))(6)(7)',
      ordered: '(1 (2)(8))(3 (4)(5)(9))(6)(7)',
    });
  });

  it('a 10,000-message mailbox: results, timings, and other sessions stay responsive', async (t) => {
    const N = 10_000;
    const box = await h.store.mailboxes.create(accountId, 'Big');
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) {
      const raw = Buffer.from(
        `From: User ${i % 100} <user${i % 100}@remote.test>\r\nSubject: Report ${i} kw${i % 1000}x\r\n` +
          `Message-ID: <big${i}@x>\r\n\r\nline zq${i % 2000}z\r\n`,
      );
      jobs.push(
        h.store.deliver({
          raw,
          meta: parseMessage(raw) as unknown as JsonValue,
          local: [{ accountId, mailbox: 'Big', flags: i % 50 === 0 ? [] : ['\\Seen'] }],
        }),
      );
    }
    await Promise.all(jobs);
    assert.equal((await h.store.messages.list(box.id)).length, N);
    const c = await h.connect();
    await c.cmd('SELECT Big', 20_000);
    const timed = async (cmd: string) => {
      const start = performance.now();
      const r = await c.cmd(cmd, 60_000);
      t.diagnostic(`${cmd}: ${(performance.now() - start).toFixed(0)} ms`);
      assert.equal(r.status, 'OK', r.tagged);
      return r.untagged.find((l) => l.startsWith('* ESEARCH'))?.replace(/^.*\) /, '') ?? '';
    };
    assert.equal(await timed('SEARCH RETURN (COUNT) UNSEEN'), `COUNT ${N / 50}`);
    // A cold header search while another session polls: the poll is answered between chunks.
    const other = await h.connect();
    await other.cmd('SELECT Keys');
    const search = timed('SEARCH RETURN (COUNT) FROM "user7@"');
    const pollStart = performance.now();
    await other.cmd('NOOP');
    const poll = performance.now() - pollStart;
    t.diagnostic(`NOOP in another session during the cold search: ${poll.toFixed(0)} ms`);
    assert.equal(await search, `COUNT ${N / 100}`);
    assert.ok(poll < 1000, `NOOP took ${poll} ms`);
    assert.equal(await timed('SEARCH RETURN (COUNT) FROM "user7@"'), `COUNT ${N / 100}`);
    assert.equal(await timed('SEARCH RETURN (COUNT) SUBJECT "kw42x"'), `COUNT ${N / 1000}`);
    assert.equal(await timed('SEARCH RETURN (COUNT) BODY "zq42z"'), `COUNT ${N / 2000}`);
    assert.equal(await timed('SORT RETURN (COUNT) (SUBJECT) UTF-8 ALL'), `COUNT ${N}`);
  });
});

describe('search pacing', () => {
  it('stops a long search with ClientGoneError once the client is gone', async () => {
    let gone = false;
    const pacer = new Pacer(() => gone);
    await pacer.pause(true);
    gone = true;
    await assert.rejects(pacer.pause(true), ClientGoneError);
  });
});

describe('SORT criteria', () => {
  it('keep only the first use of each key (a repeated key only breaks ties of equal values)', async () => {
    const { firstOfEachKey } = await import('./commands/sort.js');
    const repeated = Array.from({ length: 3000 }, (_, k) => ({
      key: k % 2 ? 'DATE' : 'SUBJECT',
      reverse: k % 3 === 0,
    }));
    assert.deepEqual(firstOfEachKey(repeated as Parameters<typeof firstOfEachKey>[0]), [
      { key: 'SUBJECT', reverse: true },
      { key: 'DATE', reverse: false },
    ]);
  });
});
