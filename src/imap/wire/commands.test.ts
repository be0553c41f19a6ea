import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FetchItem, fetchResponseName, formatSection } from '../commands/fetch-items.js';
import { isIdleDone } from '../commands/idle.js';
import {
  COMMAND_NAMES,
  type ImapCommand,
  type ParseOutcome,
  parseCommand,
  parseCommandOrThrow,
} from '../commands/index.js';
import type { SearchKey } from '../commands/search-grammar.js';
import { decodeBase64, type ParseOptions, parseSaslResponse, UnknownCommandError } from './commands.js';
import { frameAll } from './framing.js';
import { ImapSyntaxError } from './reader.js';
import { parseSequenceSet, type SequenceSet } from './seqset.js';

const CRLF = Buffer.from('\r\n');
const REV1: ParseOptions = { utf8: false };
const UTF8: ParseOptions = { utf8: true };

/** Frames a complete client command (as sent, literals included) and parses it. */
function outcome(wire: string | Buffer, opts: ParseOptions = REV1): ParseOutcome {
  const bytes = typeof wire === 'string' ? Buffer.from(wire, 'utf8') : wire;
  const { results, rest } = frameAll(Buffer.concat([bytes, CRLF]));
  assert.equal(rest.length, 0, 'incomplete command');
  assert.equal(results.length, 1, 'expected exactly one command');
  const [r] = results;
  assert.ok(r.kind === 'command', r.kind === 'rejected' ? r.error.message : '');
  return parseCommand(r.command, opts);
}

function parse(wire: string | Buffer, opts: ParseOptions = REV1): ImapCommand {
  const out = outcome(wire, opts);
  assert.ok(out.ok, out.ok ? '' : out.error.message);
  return out.command;
}

function seq(text: string): SequenceSet {
  const r = parseSequenceSet(text);
  assert.ok(r.ok);
  return r.set;
}

const flag = (f: string, set = true): SearchKey => ({ op: 'flag', flag: f, set });
const text = (field: Extract<SearchKey, { op: 'text' }>['field'], value: string): SearchKey => ({
  op: 'text',
  field,
  value: Buffer.from(value),
});
const since = (year: number, month: number, day: number): SearchKey => ({
  op: 'date',
  which: 'internal',
  cmp: 'since',
  date: { year, month, day },
});
const noReturn = { min: false, max: false, all: false, count: false, save: false, partial: null };
const noSelection = { subscribed: false, remote: false, recursiveMatch: false, specialUse: false };
const noReturns = { subscribed: false, children: false, specialUse: false, status: null };

/** RFC 9051 §6.3.12 example message. */
const MESSAGE = [
  'Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)',
  'From: Fred Foobar <foobar@Blurdybloop.example>',
  'Subject: afternoon meeting',
  'To: mooch@owatagu.siam.edu.example',
  'Message-Id: <B27397-0100000@Blurdybloop.example>',
  'MIME-Version: 1.0',
  'Content-Type: TEXT/PLAIN; CHARSET=US-ASCII',
  '',
  'Hello Joe, do you think we can meet at 3:30 tomorrow?',
  '',
].join('\r\n');

describe('parseCommand: RFC examples', () => {
  const cases: [string, ImapCommand, ParseOptions?][] = [
    // RFC 9051 §6.1
    ['a001 CAPABILITY', { name: 'CAPABILITY' }],
    ['a002 NOOP', { name: 'NOOP' }],
    ['A023 LOGOUT', { name: 'LOGOUT' }],
    // RFC 9051 §6.2
    ['a002 STARTTLS', { name: 'STARTTLS' }],
    ['A001 AUTHENTICATE GSSAPI', { name: 'AUTHENTICATE', mechanism: 'GSSAPI', initialResponse: null }],
    // RFC 4959 §3 (SASL-IR)
    [
      'a01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=',
      { name: 'AUTHENTICATE', mechanism: 'PLAIN', initialResponse: Buffer.from('test\0test\0test') },
    ],
    ['a01 authenticate external =', { name: 'AUTHENTICATE', mechanism: 'EXTERNAL', initialResponse: Buffer.alloc(0) }],
    ['a001 LOGIN SMITH SESAME', { name: 'LOGIN', username: 'SMITH', password: 'SESAME' }],
    ['a002 LOGIN "jürgen" {5+}\r\np "w\\', { name: 'LOGIN', username: 'jürgen', password: 'p "w\\' }],
    // RFC 5161 §3.2
    ['t1 ENABLE CONDSTORE X-GOOD-IDEA', { name: 'ENABLE', capabilities: ['CONDSTORE', 'X-GOOD-IDEA'] }],
    ['t2 ENABLE IMAP4rev2 utf8=accept', { name: 'ENABLE', capabilities: ['IMAP4REV2', 'UTF8=ACCEPT'] }],
    // RFC 9051 §6.3.2/3
    ['A142 SELECT INBOX', { name: 'SELECT', mailbox: 'INBOX', condstore: false, qresync: null }],
    ['A932 EXAMINE blurdybloop', { name: 'EXAMINE', mailbox: 'blurdybloop', condstore: false, qresync: null }],
    // RFC 7162 §3.1.8, §3.2.5
    ['a SELECT inbox (CONDSTORE)', { name: 'SELECT', mailbox: 'INBOX', condstore: true, qresync: null }],
    [
      'A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))',
      {
        name: 'SELECT',
        mailbox: 'INBOX',
        condstore: false,
        qresync: {
          uidValidity: 67890007,
          modSeq: 20050715194045000n,
          knownUids: seq('41,43:211,214:541'),
          seqMatch: null,
        },
      },
    ],
    [
      'B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))',
      {
        name: 'SELECT',
        mailbox: 'INBOX',
        condstore: false,
        qresync: {
          uidValidity: 67890007,
          modSeq: 90060115194045000n,
          knownUids: seq('1:29997'),
          seqMatch: {
            seqs: seq('5000,7500,9000,9990:9999'),
            uids: seq('15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997'),
          },
        },
      },
    ],
    [
      'a SELECT INBOX (QRESYNC (1 2 (1:3 4:6)) CONDSTORE)',
      {
        name: 'SELECT',
        mailbox: 'INBOX',
        condstore: true,
        qresync: { uidValidity: 1, modSeq: 2n, knownUids: null, seqMatch: { seqs: seq('1:3'), uids: seq('4:6') } },
      },
    ],
    // RFC 9051 §6.3.4-8
    ['A003 CREATE owatagusiam/', { name: 'CREATE', mailbox: 'owatagusiam/', specialUse: [] }],
    // RFC 6154 §5.3
    ['t1 CREATE "Test-Drafts" (USE (\\Drafts))', { name: 'CREATE', mailbox: 'Test-Drafts', specialUse: ['\\Drafts'] }],
    ['t2 CREATE x (USE (\\sent \\X-Custom))', { name: 'CREATE', mailbox: 'x', specialUse: ['\\Sent', '\\X-Custom'] }],
    ['A683 DELETE blurdybloop', { name: 'DELETE', mailbox: 'blurdybloop' }],
    ['A683 RENAME blurdybloop sarasoop', { name: 'RENAME', from: 'blurdybloop', to: 'sarasoop' }],
    ['A685 RENAME foo zowie', { name: 'RENAME', from: 'foo', to: 'zowie' }],
    ['A002 SUBSCRIBE #news.comp.mail.mime', { name: 'SUBSCRIBE', mailbox: '#news.comp.mail.mime' }],
    ['A002 UNSUBSCRIBE #news.comp.mail.mime', { name: 'UNSUBSCRIBE', mailbox: '#news.comp.mail.mime' }],
    // RFC 9051 §6.3.9
    [
      'A101 LIST "" ""',
      { name: 'LIST', reference: '', patterns: [''], selection: noSelection, returns: noReturns, extended: false },
    ],
    [
      'A102 LIST #news.comp.mail.misc ""',
      {
        name: 'LIST',
        reference: '#news.comp.mail.misc',
        patterns: [''],
        selection: noSelection,
        returns: noReturns,
        extended: false,
      },
    ],
    [
      'A202 LIST ~/Mail/ %',
      {
        name: 'LIST',
        reference: '~/Mail/',
        patterns: ['%'],
        selection: noSelection,
        returns: noReturns,
        extended: false,
      },
    ],
    // RFC 5258 §5
    [
      'A02 LIST (SUBSCRIBED) "" "*"',
      {
        name: 'LIST',
        reference: '',
        patterns: ['*'],
        selection: { ...noSelection, subscribed: true },
        returns: noReturns,
        extended: true,
      },
    ],
    [
      'A05 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)',
      {
        name: 'LIST',
        reference: '',
        patterns: ['%'],
        selection: { ...noSelection, subscribed: true, recursiveMatch: true },
        returns: { ...noReturns, children: true },
        extended: true,
      },
    ],
    [
      'A07 LIST (REMOTE) "" "*"',
      {
        name: 'LIST',
        reference: '',
        patterns: ['*'],
        selection: { ...noSelection, remote: true },
        returns: noReturns,
        extended: true,
      },
    ],
    [
      'BBB LIST "" ("INBOX" "Drafts" "Sent/%")',
      {
        name: 'LIST',
        reference: '',
        patterns: ['INBOX', 'Drafts', 'Sent/%'],
        selection: noSelection,
        returns: noReturns,
        extended: true,
      },
    ],
    [
      'A06 LIST () "" "%" RETURN (SUBSCRIBED CHILDREN)',
      {
        name: 'LIST',
        reference: '',
        patterns: ['%'],
        selection: noSelection,
        returns: { ...noReturns, subscribed: true, children: true },
        extended: true,
      },
    ],
    // RFC 5819 §2
    [
      'A01 LIST "" % RETURN (STATUS (MESSAGES UNSEEN))',
      {
        name: 'LIST',
        reference: '',
        patterns: ['%'],
        selection: noSelection,
        returns: { ...noReturns, status: ['MESSAGES', 'UNSEEN'] },
        extended: true,
      },
    ],
    // RFC 6154 §5.1, §5.2
    [
      't1 LIST (SPECIAL-USE) "" "*"',
      {
        name: 'LIST',
        reference: '',
        patterns: ['*'],
        selection: { ...noSelection, specialUse: true },
        returns: noReturns,
        extended: true,
      },
    ],
    [
      't3 LIST "" "%" RETURN (SPECIAL-USE)',
      {
        name: 'LIST',
        reference: '',
        patterns: ['%'],
        selection: noSelection,
        returns: { ...noReturns, specialUse: true },
        extended: true,
      },
    ],
    // RFC 3501 §6.3.9
    ['A002 LSUB "#news." "comp.mail.*"', { name: 'LSUB', reference: '#news.', pattern: 'comp.mail.*' }],
    ['A1 NAMESPACE', { name: 'NAMESPACE' }],
    // RFC 9051 §6.3.11
    [
      'A042 STATUS blurdybloop (UIDNEXT MESSAGES)',
      { name: 'STATUS', mailbox: 'blurdybloop', items: ['UIDNEXT', 'MESSAGES'] },
    ],
    [
      'a STATUS INBOX (messages uidnext uidvalidity unseen deleted size highestmodseq recent appendlimit mailboxid deleted-storage)',
      {
        name: 'STATUS',
        mailbox: 'INBOX',
        items: [
          'MESSAGES',
          'UIDNEXT',
          'UIDVALIDITY',
          'UNSEEN',
          'DELETED',
          'SIZE',
          'HIGHESTMODSEQ',
          'RECENT',
          'APPENDLIMIT',
          'MAILBOXID',
          'DELETED-STORAGE',
        ],
      },
    ],
    // RFC 9051 §6.3.12
    [
      `A003 APPEND saved-messages (\\Seen) {${MESSAGE.length}}\r\n${MESSAGE}`,
      {
        name: 'APPEND',
        mailbox: 'saved-messages',
        messages: [{ flags: ['\\Seen'], internalDate: null, data: Buffer.from(MESSAGE), binary: false, utf8: false }],
      },
    ],
    ['a IDLE', { name: 'IDLE' }],
    // RFC 9208 §4.2-4.3
    ['G0001 GETQUOTA "!partition/sda4"', { name: 'GETQUOTA', root: '!partition/sda4' }],
    ['A003 GETQUOTAROOT INBOX', { name: 'GETQUOTAROOT', mailbox: 'INBOX' }],
    [
      'S0000 SETQUOTA "#user/alice" (STORAGE 510)',
      { name: 'SETQUOTA', root: '#user/alice', limits: [{ resource: 'STORAGE', limit: 510n }] },
    ],
    ['S0001 SETQUOTA "" ()', { name: 'SETQUOTA', root: '', limits: [] }],
    // RFC 9051 §6.4
    ['FXXZ CHECK', { name: 'CHECK' }],
    ['A341 CLOSE', { name: 'CLOSE' }],
    ['A342 UNSELECT', { name: 'UNSELECT' }],
    ['A202 EXPUNGE', { name: 'EXPUNGE', uid: false, set: null }],
    // RFC 4315 §2.1
    ['A003 UID EXPUNGE 3000:3002', { name: 'EXPUNGE', uid: true, set: seq('3000:3002') }],
    // RFC 9051 §6.4.4
    [
      'A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"',
      {
        name: 'SEARCH',
        uid: false,
        charset: null,
        returnOptions: { ...noReturn, min: true, count: true },
        criteria: {
          op: 'and',
          keys: [flag('\\Flagged'), since(1994, 2, 1), { op: 'not', key: text('from', 'Smith') }],
        },
      },
    ],
    [
      'A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"',
      {
        name: 'SEARCH',
        uid: false,
        charset: null,
        returnOptions: { ...noReturn, all: true },
        criteria: {
          op: 'and',
          keys: [flag('\\Flagged'), since(1994, 2, 1), { op: 'not', key: text('from', 'Smith') }],
        },
      },
    ],
    [
      'A284 SEARCH TEXT "string not in mailbox"',
      {
        name: 'SEARCH',
        uid: false,
        charset: null,
        returnOptions: null,
        criteria: text('text', 'string not in mailbox'),
      },
    ],
    [
      'A285 SEARCH CHARSET UTF-8 TEXT {12+}\r\nотпуск',
      { name: 'SEARCH', uid: false, charset: 'UTF-8', returnOptions: null, criteria: text('text', 'отпуск') },
    ],
    [
      'A286 SEARCH CHARSET INVALID-CHARSET ALL',
      { name: 'SEARCH', uid: false, charset: 'INVALID-CHARSET', returnOptions: null, criteria: { op: 'all' } },
    ],
    // RFC 5182 §2.4
    [
      'A282 SEARCH RETURN (SAVE) SINCE 1-Feb-1994 FROM "Smith"',
      {
        name: 'SEARCH',
        uid: false,
        charset: null,
        returnOptions: { ...noReturn, save: true },
        criteria: { op: 'and', keys: [since(1994, 2, 1), text('from', 'Smith')] },
      },
    ],
    [
      'A283 UID SEARCH UID $ SMALLER 4096',
      {
        name: 'SEARCH',
        uid: true,
        charset: null,
        returnOptions: null,
        criteria: {
          op: 'and',
          keys: [
            { op: 'uid', set: { kind: 'saved' } },
            { op: 'size', cmp: 'smaller', size: 4096 },
          ],
        },
      },
    ],
    // RFC 9394 §3.1
    [
      'E01 UID SEARCH RETURN (PARTIAL -1:-100) UNDELETED',
      {
        name: 'SEARCH',
        uid: true,
        charset: null,
        returnOptions: { ...noReturn, partial: { fromEnd: true, lo: 1, hi: 100 } },
        criteria: flag('\\Deleted', false),
      },
    ],
    // RFC 5032 §4
    [
      'a1 SEARCH UNSEEN YOUNGER 259200',
      {
        name: 'SEARCH',
        uid: false,
        charset: null,
        returnOptions: null,
        criteria: { op: 'and', keys: [flag('\\Seen', false), { op: 'age', cmp: 'younger', seconds: 259200 }] },
      },
    ],
    // RFC 7162 §3.1.5
    [
      'a SEARCH MODSEQ "/flags/\\\\draft" all 620162338',
      {
        name: 'SEARCH',
        uid: false,
        charset: null,
        returnOptions: null,
        criteria: { op: 'modseq', modSeq: 620162338n, entry: { flag: '\\Draft', type: 'all' } },
      },
    ],
    [
      't SEARCH OR NOT MODSEQ 720162338 LARGER 50000',
      {
        name: 'SEARCH',
        uid: false,
        charset: null,
        returnOptions: null,
        criteria: {
          op: 'or',
          left: { op: 'not', key: { op: 'modseq', modSeq: 720162338n, entry: null } },
          right: { op: 'size', cmp: 'larger', size: 50000 },
        },
      },
    ],
    // RFC 8474 §6
    [
      'a UID SEARCH EMAILID M6d99ac3275bb4e',
      {
        name: 'SEARCH',
        uid: true,
        charset: null,
        returnOptions: null,
        criteria: { op: 'emailid', id: 'M6d99ac3275bb4e' },
      },
    ],
    // RFC 9051 §6.4.5
    [
      'A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])',
      {
        name: 'FETCH',
        uid: false,
        set: seq('2:4'),
        items: [
          { kind: 'flags' },
          {
            kind: 'body-section',
            peek: false,
            section: { part: [], text: { kind: 'header.fields', not: false, fields: ['DATE', 'FROM'] } },
            partial: null,
          },
        ],
        modifiers: {},
      },
    ],
    [
      'A999 UID FETCH 4827313:4828442 FLAGS',
      { name: 'FETCH', uid: true, set: seq('4827313:4828442'), items: [{ kind: 'flags' }], modifiers: {} },
    ],
    // RFC 5182 §2.4
    [
      'A283 FETCH $ (UID INTERNALDATE FLAGS RFC822.HEADER)',
      {
        name: 'FETCH',
        uid: false,
        set: { kind: 'saved' },
        items: [{ kind: 'uid' }, { kind: 'internaldate' }, { kind: 'flags' }, { kind: 'rfc822.header' }],
        modifiers: {},
      },
    ],
    // RFC 7162 §3.1.4.1, §3.2.6
    [
      's100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)',
      { name: 'FETCH', uid: true, set: seq('1:*'), items: [{ kind: 'flags' }], modifiers: { changedSince: 12345n } },
    ],
    [
      's101 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)',
      {
        name: 'FETCH',
        uid: true,
        set: seq('300:500'),
        items: [{ kind: 'flags' }],
        modifiers: { changedSince: 12345n, vanished: true },
      },
    ],
    // RFC 9394 §3.2
    [
      'a UID FETCH 1:* (FLAGS) (PARTIAL -1:-30)',
      {
        name: 'FETCH',
        uid: true,
        set: seq('1:*'),
        items: [{ kind: 'flags' }],
        modifiers: { partial: { fromEnd: true, lo: 1, hi: 30 } },
      },
    ],
    // RFC 9051 §6.4.6
    [
      'A003 STORE 2:4 +FLAGS (\\Deleted)',
      {
        name: 'STORE',
        uid: false,
        set: seq('2:4'),
        operation: 'add',
        silent: false,
        flags: ['\\Deleted'],
        unchangedSince: null,
      },
    ],
    // RFC 7162 §3.1.3
    [
      'a102 STORE 7,8,9 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted)',
      {
        name: 'STORE',
        uid: false,
        set: seq('7,8,9'),
        operation: 'add',
        silent: true,
        flags: ['\\Deleted'],
        unchangedSince: 12121230045n,
      },
    ],
    [
      'a UID STORE 1:* -flags.silent \\seen $Junk',
      {
        name: 'STORE',
        uid: true,
        set: seq('1:*'),
        operation: 'remove',
        silent: true,
        flags: ['\\Seen', '$Junk'],
        unchangedSince: null,
      },
    ],
    [
      'a STORE 1 FLAGS ()',
      {
        name: 'STORE',
        uid: false,
        set: seq('1'),
        operation: 'replace',
        silent: false,
        flags: [],
        unchangedSince: null,
      },
    ],
    // RFC 9051 §6.4.7, RFC 6851 §3.3
    ['A003 COPY 2:4 MEETING', { name: 'COPY', uid: false, set: seq('2:4'), mailbox: 'MEETING' }],
    ['a UID MOVE 42:69 foo', { name: 'MOVE', uid: true, set: seq('42:69'), mailbox: 'foo' }],
    // RFC 5256 §3
    [
      'A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994',
      {
        name: 'SORT',
        uid: false,
        sort: [{ key: 'SUBJECT', reverse: false }],
        charset: 'UTF-8',
        returnOptions: null,
        criteria: since(1994, 2, 1),
      },
    ],
    [
      'A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL',
      {
        name: 'SORT',
        uid: false,
        sort: [
          { key: 'SUBJECT', reverse: false },
          { key: 'DATE', reverse: true },
        ],
        charset: 'UTF-8',
        returnOptions: null,
        criteria: { op: 'all' },
      },
    ],
    [
      'A284 UID SORT (SUBJECT) US-ASCII TEXT "not in mailbox"',
      {
        name: 'SORT',
        uid: true,
        sort: [{ key: 'SUBJECT', reverse: false }],
        charset: 'US-ASCII',
        returnOptions: null,
        criteria: text('text', 'not in mailbox'),
      },
    ],
    // RFC 5267 §3.2 (ESORT)
    [
      'C283 SORT RETURN (COUNT) (DATE) UTF-8 SINCE 1-Feb-1994',
      {
        name: 'SORT',
        uid: false,
        sort: [{ key: 'DATE', reverse: false }],
        charset: 'UTF-8',
        returnOptions: { ...noReturn, count: true },
        criteria: since(1994, 2, 1),
      },
    ],
    [
      'A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000',
      { name: 'THREAD', uid: false, algorithm: 'ORDEREDSUBJECT', charset: 'UTF-8', criteria: since(2000, 3, 5) },
    ],
    [
      'A284 UID THREAD REFERENCES US-ASCII TEXT "gewp"',
      { name: 'THREAD', uid: true, algorithm: 'REFERENCES', charset: 'US-ASCII', criteria: text('text', 'gewp') },
    ],
    // RFC 2971 §3.2
    [
      'a023 ID ("name" "sodr" "version" "19.34" "vendor" "Pink Floyd Music Limited")',
      {
        name: 'ID',
        params: [
          ['name', 'sodr'],
          ['version', '19.34'],
          ['vendor', 'Pink Floyd Music Limited'],
        ],
      },
    ],
    ['a ID NIL', { name: 'ID', params: null }],
    ['a ID ("support-url" NIL)', { name: 'ID', params: [['support-url', null]] }],
    // RFC 4978 §3
    ['a COMPRESS DEFLATE', { name: 'COMPRESS', mechanism: 'DEFLATE' }],
  ];
  for (const [wire, want, opts] of cases) {
    it(wire.split('\r\n')[0], () => assert.deepEqual(parse(wire, opts), want));
  }
});

describe('parseCommand: details', () => {
  it('reports the tag even for unknown commands', () => {
    const out = outcome('A1 XYZZY foo');
    assert.ok(!out.ok);
    assert.equal(out.kind, 'unknown');
    assert.equal(out.tag, 'A1');
    assert.equal(out.name, 'XYZZY');
    assert.ok(out.error instanceof UnknownCommandError);
    assert.match(out.error.message, /^unknown command "XYZZY" at offset 3$/);
    assert.throws(() => parseCommandOrThrow(Buffer.from('A1 XYZZY'), REV1), UnknownCommandError);
  });

  it('is case-insensitive for command names and keywords', () => {
    assert.deepEqual(parse('a uid fetch 1 body.peek[text]<0.10>'), {
      name: 'FETCH',
      uid: true,
      set: seq('1'),
      items: [
        {
          kind: 'body-section',
          peek: true,
          section: { part: [], text: { kind: 'text' } },
          partial: { offset: 0, length: 10 },
        },
      ],
      modifiers: {},
    });
  });

  it('expands the FETCH macros (RFC 9051 §6.4.5)', () => {
    const items = (w: string) => (parse(w) as Extract<ImapCommand, { name: 'FETCH' }>).items.map((i) => i.kind);
    assert.deepEqual(items('a FETCH 1 ALL'), ['flags', 'internaldate', 'rfc822.size', 'envelope']);
    assert.deepEqual(items('a FETCH 1 fast'), ['flags', 'internaldate', 'rfc822.size']);
    assert.deepEqual(items('a FETCH 1 FULL'), ['flags', 'internaldate', 'rfc822.size', 'envelope', 'body']);
    assert.deepEqual(items('a UID FETCH 1:* FAST (CHANGEDSINCE 1)'), ['flags', 'internaldate', 'rfc822.size']);
  });

  it('parses every fetch attribute', () => {
    const cmd = parse(
      'a FETCH 1 (ENVELOPE FLAGS INTERNALDATE RFC822 RFC822.HEADER RFC822.TEXT RFC822.SIZE BODY BODYSTRUCTURE UID MODSEQ EMAILID THREADID SAVEDATE PREVIEW PREVIEW (LAZY) BODY[] BODY[1.2.3] BODY[1.MIME] BODY[2.HEADER] BODY[3.TEXT] BODY.PEEK[HEADER.FIELDS.NOT (Received X-Spam)]<5.10> BINARY[] BINARY.PEEK[1.2]<0.4096> BINARY.SIZE[1])',
    ) as Extract<ImapCommand, { name: 'FETCH' }>;
    const want: FetchItem[] = [
      { kind: 'envelope' },
      { kind: 'flags' },
      { kind: 'internaldate' },
      { kind: 'rfc822' },
      { kind: 'rfc822.header' },
      { kind: 'rfc822.text' },
      { kind: 'rfc822.size' },
      { kind: 'body' },
      { kind: 'bodystructure' },
      { kind: 'uid' },
      { kind: 'modseq' },
      { kind: 'emailid' },
      { kind: 'threadid' },
      { kind: 'savedate' },
      { kind: 'preview', lazy: false },
      { kind: 'preview', lazy: true },
      { kind: 'body-section', peek: false, section: { part: [], text: null }, partial: null },
      { kind: 'body-section', peek: false, section: { part: [1, 2, 3], text: null }, partial: null },
      { kind: 'body-section', peek: false, section: { part: [1], text: { kind: 'mime' } }, partial: null },
      { kind: 'body-section', peek: false, section: { part: [2], text: { kind: 'header' } }, partial: null },
      { kind: 'body-section', peek: false, section: { part: [3], text: { kind: 'text' } }, partial: null },
      {
        kind: 'body-section',
        peek: true,
        section: { part: [], text: { kind: 'header.fields', not: true, fields: ['Received', 'X-Spam'] } },
        partial: { offset: 5, length: 10 },
      },
      { kind: 'binary', peek: false, part: [], partial: null },
      { kind: 'binary', peek: true, part: [1, 2], partial: { offset: 0, length: 4096 } },
      { kind: 'binary.size', part: [1] },
    ];
    assert.deepEqual(cmd.items, want);
    assert.deepEqual(want.map(fetchResponseName), [
      'ENVELOPE',
      'FLAGS',
      'INTERNALDATE',
      'RFC822',
      'RFC822.HEADER',
      'RFC822.TEXT',
      'RFC822.SIZE',
      'BODY',
      'BODYSTRUCTURE',
      'UID',
      'MODSEQ',
      'EMAILID',
      'THREADID',
      'SAVEDATE',
      'PREVIEW',
      'PREVIEW',
      'BODY[]',
      'BODY[1.2.3]',
      'BODY[1.MIME]',
      'BODY[2.HEADER]',
      'BODY[3.TEXT]',
      'BODY[HEADER.FIELDS.NOT (Received X-Spam)]<5>',
      'BINARY[]',
      'BINARY[1.2]<0>',
      'BINARY.SIZE[1]',
    ]);
  });

  it('tells PREVIEW (LAZY) apart from fetch modifiers', () => {
    const a = parse('a UID FETCH 1 PREVIEW (CHANGEDSINCE 5)') as Extract<ImapCommand, { name: 'FETCH' }>;
    assert.deepEqual(a.items, [{ kind: 'preview', lazy: false }]);
    assert.deepEqual(a.modifiers, { changedSince: 5n });
    const b = parse('a UID FETCH 1 PREVIEW (LAZY) (CHANGEDSINCE 5)') as Extract<ImapCommand, { name: 'FETCH' }>;
    assert.deepEqual(b.items, [{ kind: 'preview', lazy: true }]);
    assert.deepEqual(b.modifiers, { changedSince: 5n });
  });

  it('clamps a huge partial length', () => {
    const cmd = parse('a FETCH 1 BODY[]<0.9223372036854775807>') as Extract<ImapCommand, { name: 'FETCH' }>;
    assert.deepEqual((cmd.items[0] as Extract<FetchItem, { kind: 'body-section' }>).partial, {
      offset: 0,
      length: Number.MAX_SAFE_INTEGER,
    });
  });

  it('parses every search key', () => {
    const cmd = parse(
      'a SEARCH ALL ANSWERED BCC b BEFORE 1-Jan-2000 BODY x CC c DELETED DRAFT FLAGGED FROM f HEADER X-Foo v KEYWORD $k LARGER 10 NEW NOT SEEN OLD ON 2-Jan-2000 OR 1 2 RECENT SEEN SENTBEFORE 3-Jan-2000 SENTON 4-Jan-2000 SENTSINCE 5-Jan-2000 SINCE 6-Jan-2000 SMALLER 20 SUBJECT s TEXT t TO o UID 1:* UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD $u UNSEEN 1,2:3 $ (SEEN FLAGGED) (ALL) OLDER 5 YOUNGER 6 MODSEQ 7 EMAILID e1 THREADID t-1 SAVEDBEFORE 7-Jan-2000 SAVEDON 8-Jan-2000 SAVEDSINCE 9-Jan-2000 SAVEDATESUPPORTED FUZZY SUBJECT z',
    ) as Extract<ImapCommand, { name: 'SEARCH' }>;
    const d = (which: 'internal' | 'sent' | 'saved', cmp: 'before' | 'on' | 'since', day: number): SearchKey => ({
      op: 'date',
      which,
      cmp,
      date: { year: 2000, month: 1, day },
    });
    const want: SearchKey[] = [
      { op: 'all' },
      flag('\\Answered'),
      text('bcc', 'b'),
      d('internal', 'before', 1),
      text('body', 'x'),
      text('cc', 'c'),
      flag('\\Deleted'),
      flag('\\Draft'),
      flag('\\Flagged'),
      text('from', 'f'),
      { op: 'header', field: 'X-Foo', value: Buffer.from('v') },
      flag('$k'),
      { op: 'size', cmp: 'larger', size: 10 },
      { op: 'and', keys: [flag('\\Recent'), flag('\\Seen', false)] },
      { op: 'not', key: flag('\\Seen') },
      flag('\\Recent', false),
      d('internal', 'on', 2),
      { op: 'or', left: { op: 'seq', set: seq('1') }, right: { op: 'seq', set: seq('2') } },
      flag('\\Recent'),
      flag('\\Seen'),
      d('sent', 'before', 3),
      d('sent', 'on', 4),
      d('sent', 'since', 5),
      d('internal', 'since', 6),
      { op: 'size', cmp: 'smaller', size: 20 },
      text('subject', 's'),
      text('text', 't'),
      text('to', 'o'),
      { op: 'uid', set: seq('1:*') },
      flag('\\Answered', false),
      flag('\\Deleted', false),
      flag('\\Draft', false),
      flag('\\Flagged', false),
      flag('$u', false),
      flag('\\Seen', false),
      { op: 'seq', set: seq('1,2:3') },
      { op: 'seq', set: { kind: 'saved' } },
      { op: 'and', keys: [flag('\\Seen'), flag('\\Flagged')] },
      { op: 'all' },
      { op: 'age', cmp: 'older', seconds: 5 },
      { op: 'age', cmp: 'younger', seconds: 6 },
      { op: 'modseq', modSeq: 7n, entry: null },
      { op: 'emailid', id: 'e1' },
      { op: 'threadid', id: 't-1' },
      d('saved', 'before', 7),
      d('saved', 'on', 8),
      d('saved', 'since', 9),
      { op: 'savedatesupported' },
      { op: 'fuzzy', key: text('subject', 'z') },
    ];
    assert.deepEqual(cmd.criteria, { op: 'and', keys: want });
  });

  it('keeps search strings as bytes (charset decoding comes later)', () => {
    const latin1 = Buffer.concat([
      Buffer.from('a SEARCH CHARSET ISO-8859-1 SUBJECT {4}\r\n'),
      Buffer.from([0x63, 0x61, 0x66, 0xe9]),
    ]);
    const cmd = parse(latin1) as Extract<ImapCommand, { name: 'SEARCH' }>;
    assert.equal(cmd.charset, 'ISO-8859-1');
    assert.deepEqual(cmd.criteria, { op: 'text', field: 'subject', value: Buffer.from([0x63, 0x61, 0x66, 0xe9]) });
  });

  it('parses MULTIAPPEND, binary and UTF8 message data (RFC 3502, RFC 3516, RFC 6855)', () => {
    const m1 = 'Subject: one\r\n\r\nbody\r\n';
    const m2 = Buffer.from('Subject: two\r\n\r\n\0binary\xff', 'latin1');
    const m3 = 'Subject: drei über\r\n\r\nx\r\n';
    const wire = Buffer.concat([
      Buffer.from(`A003 APPEND saved-messages (\\Seen) {${m1.length}}\r\n${m1}`),
      Buffer.from(` (\\Seen $Forwarded) " 7-Feb-1994 22:43:04 -0800" ~{${m2.length}+}\r\n`),
      m2,
      Buffer.from(` UTF8 (~{${Buffer.byteLength(m3)}}\r\n${m3})`),
    ]);
    const cmd = parse(wire) as Extract<ImapCommand, { name: 'APPEND' }>;
    assert.equal(cmd.mailbox, 'saved-messages');
    assert.equal(cmd.messages.length, 3);
    assert.deepEqual(cmd.messages[0], {
      flags: ['\\Seen'],
      internalDate: null,
      data: Buffer.from(m1),
      binary: false,
      utf8: false,
    });
    assert.deepEqual(cmd.messages[1].flags, ['\\Seen', '$Forwarded']);
    assert.equal(cmd.messages[1].internalDate?.date.toISOString(), '1994-02-08T06:43:04.000Z');
    assert.equal(cmd.messages[1].internalDate?.offsetMinutes, -480);
    assert.deepEqual(cmd.messages[1].data, m2);
    assert.equal(cmd.messages[1].binary, true);
    assert.deepEqual(cmd.messages[2], {
      flags: [],
      internalDate: null,
      data: Buffer.from(m3),
      binary: true,
      utf8: true,
    });
  });

  it('decodes mailbox names by session mode', () => {
    assert.deepEqual(parse('a SELECT Entw&APw-rfe'), {
      name: 'SELECT',
      mailbox: 'Entwürfe',
      condstore: false,
      qresync: null,
    });
    assert.deepEqual(parse('a SELECT "Entwürfe"', UTF8), {
      name: 'SELECT',
      mailbox: 'Entwürfe',
      condstore: false,
      qresync: null,
    });
    assert.deepEqual(parse('a RENAME "~peter/mail/&U,BTFw-/&ZeVnLIqe-" inbox'), {
      name: 'RENAME',
      from: '~peter/mail/台北/日本語',
      to: 'INBOX',
    });
    assert.deepEqual(parse('a LIST "" "&ZeVnLIqe-/%"'), {
      name: 'LIST',
      reference: '',
      patterns: ['日本語/%'],
      selection: noSelection,
      returns: noReturns,
      extended: false,
    });
    const bad = outcome('a SELECT "Entwürfe"');
    assert.ok(!bad.ok);
    assert.match(bad.error.message, /8-bit characters/);
  });

  it('helpers: SASL responses, IDLE DONE, base64, sections', () => {
    assert.deepEqual(parseSaslResponse(Buffer.from('*')), { kind: 'cancel' });
    assert.deepEqual(parseSaslResponse(Buffer.from('')), { kind: 'data', data: Buffer.alloc(0) });
    assert.deepEqual(parseSaslResponse(Buffer.from('dGVzdA==')), { kind: 'data', data: Buffer.from('test') });
    assert.equal(parseSaslResponse(Buffer.from('dGVzdA')).kind, 'invalid');
    assert.equal(isIdleDone(Buffer.from('done')), true);
    assert.equal(isIdleDone(Buffer.from('DONE ')), false);
    assert.equal(decodeBase64('a b='), null);
    assert.equal(
      formatSection({ part: [1, 2], text: { kind: 'header.fields', not: false, fields: ['From', 'To'] } }),
      '1.2.HEADER.FIELDS (From To)',
    );
  });

  /** The commands of the brief, as the RFCs name them; the parser must know exactly these. */
  const COMMANDS = [
    'CAPABILITY',
    'NOOP',
    'LOGOUT',
    'STARTTLS',
    'AUTHENTICATE',
    'LOGIN',
    'ENABLE',
    'SELECT',
    'EXAMINE',
    'CREATE',
    'DELETE',
    'RENAME',
    'SUBSCRIBE',
    'UNSUBSCRIBE',
    'LIST',
    'LSUB',
    'NAMESPACE',
    'STATUS',
    'APPEND',
    'IDLE',
    'CHECK',
    'CLOSE',
    'UNSELECT',
    'EXPUNGE',
    'SEARCH',
    'FETCH',
    'STORE',
    'COPY',
    'MOVE',
    'SORT',
    'THREAD',
    'GETQUOTA',
    'GETQUOTAROOT',
    'SETQUOTA',
    'COMPRESS',
    'ID',
  ];

  it('knows every command of the brief, and no other', () => {
    assert.deepEqual([...COMMAND_NAMES].sort(), [...COMMANDS].sort());
    for (const name of COMMANDS) {
      // Known: whatever the arguments, the answer is never "unknown command".
      for (const wire of [`a ${name}`, `a ${name.toLowerCase()} x`]) {
        const out = outcome(wire);
        assert.ok(out.ok || out.kind === 'syntax', `${wire}: ${out.ok ? '' : out.error.message}`);
      }
    }
    for (const name of ['UID', 'XLIST', 'NOOPS', 'LOGIN2', 'SELECTED', 'GETQUOTAS']) {
      const out = outcome(`a ${name} x`);
      assert.ok(!out.ok && out.kind === (name === 'UID' ? 'syntax' : 'unknown'), name);
    }
  });

  it('takes the UID prefix before exactly COPY, MOVE, FETCH, SEARCH, STORE, EXPUNGE, SORT and THREAD', () => {
    const uidCommands = ['COPY', 'MOVE', 'FETCH', 'SEARCH', 'STORE', 'EXPUNGE', 'SORT', 'THREAD'];
    for (const name of COMMANDS) {
      const out = outcome(`a UID ${name} x`);
      if (uidCommands.includes(name)) {
        assert.ok(out.ok || !/UID must be followed/.test(out.error.message), name);
        assert.ok(out.ok || out.name === `UID ${name}`, name);
      } else {
        assert.ok(!out.ok && out.kind === 'syntax', name);
        assert.match(
          out.error.message,
          /^UID must be followed by COPY, MOVE, FETCH, SEARCH, STORE, EXPUNGE, SORT, THREAD/,
        );
      }
    }
    assert.deepEqual(parse('a UID EXPUNGE 1:3'), { name: 'EXPUNGE', uid: true, set: seq('1:3') });
    assert.deepEqual(parse('a EXPUNGE'), { name: 'EXPUNGE', uid: false, set: null });
  });

  it('takes the STATUS items of RFC 9051 §6.3.11 and its extensions, in any case, in the order asked', () => {
    // Stated here, not taken from the code: RFC 9051 §6.3.11, RFC 3501 §6.3.10 (RECENT), RFC 8438 (SIZE),
    // RFC 7162 §3.1.8 (HIGHESTMODSEQ), RFC 7889 §3 (APPENDLIMIT), RFC 8474 §4.2 (MAILBOXID),
    // RFC 9208 §4.2.2 (DELETED-STORAGE).
    const items = [
      'MESSAGES',
      'UIDNEXT',
      'UIDVALIDITY',
      'UNSEEN',
      'DELETED',
      'SIZE',
      'HIGHESTMODSEQ',
      'RECENT',
      'APPENDLIMIT',
      'MAILBOXID',
      'DELETED-STORAGE',
    ];
    for (const item of items) {
      assert.deepEqual(parse(`a STATUS INBOX (${item.toLowerCase()})`), {
        name: 'STATUS',
        mailbox: 'INBOX',
        items: [item],
      });
      const list = parse(`a LIST "" % RETURN (STATUS (${item}))`) as Extract<ImapCommand, { name: 'LIST' }>;
      assert.deepEqual(list.returns.status, [item]);
    }
    const reversed = [...items].reverse();
    assert.deepEqual(parse(`a STATUS INBOX (${reversed.join(' ')} MESSAGES)`), {
      name: 'STATUS',
      mailbox: 'INBOX',
      items: [...reversed, 'MESSAGES'],
    });
    for (const wrong of ['MESSAGE', 'UID', 'UIDNEXTS', 'SIZES', 'DELETED-STORAGES', 'X-UNSEEN', 'FLAGS']) {
      const out = outcome(`a STATUS INBOX (${wrong})`);
      assert.ok(!out.ok && out.kind === 'syntax', wrong);
      assert.match(out.error.message, new RegExp(`^unknown STATUS item "${wrong}" at offset 16$`));
      assert.ok(!outcome(`a LIST "" % RETURN (STATUS (${wrong}))`).ok, wrong);
    }
  });
});

describe('parseCommand: syntax errors', () => {
  const deepNot = `A1 SEARCH ${'NOT '.repeat(2000)}ALL`;
  const cases: [string, RegExp, ParseOptions?][] = [
    ['A1', /^expected SP after tag at offset 2, found end of command$/],
    ['A1  NOOP', /expected a command name at offset 3, found SP/],
    ['A1 NOOP extra', /expected end of command at offset 7, found SP/],
    ['A1 UID NOOP', /UID must be followed by COPY, MOVE, FETCH, SEARCH, STORE, EXPUNGE, SORT, THREAD at offset 7/],
    ['A1 UID EXPUNGE', /expected SP after UID EXPUNGE/],
    ['A1 LOGIN user', /expected SP after the user name at offset 13/],
    ['A1 LOGIN', /expected SP after LOGIN/],
    ['A1 AUTHENTICATE PLAIN not*base64', /not valid base64/],
    ['A1 AUTHENTICATE PLAIN dGVzdA', /not valid base64/],
    ['A1 ENABLE', /expected SP after ENABLE/],
    ['A1 SELECT INBOX (FOO)', /unknown SELECT parameter "FOO"/],
    ['A1 SELECT INBOX ()', /the SELECT parameters must not be empty/],
    ['A1 SELECT INBOX (QRESYNC (1 2 1:*))', /"\*" is not allowed/],
    ['A1 SELECT INBOX (QRESYNC (0 2))', /the UIDVALIDITY must not be 0/],
    ['A1 SELECT "Entwürfe"', /8-bit characters/],
    ['A1 CREATE x (USE (Drafts))', /expected a special-use attribute/],
    ['A1 CREATE x (FOO)', /unknown CREATE parameter/],
    ['A1 LIST (RECURSIVEMATCH) "" *', /RECURSIVEMATCH needs another selection option/],
    ['A1 LIST (REMOTE RECURSIVEMATCH) "" *', /RECURSIVEMATCH needs another selection option/],
    ['A1 LIST (FOO) "" *', /unknown LIST selection option "FOO"/],
    ['A1 LIST "" * RETURN (FOO)', /unknown LIST return option "FOO"/],
    ['A1 LIST "" * (CHILDREN)', /expected RETURN/],
    ['A1 LIST ""', /expected SP after the reference name/],
    ['A1 STATUS INBOX ()', /the STATUS item list must not be empty/],
    ['A1 STATUS INBOX (FOO)', /unknown STATUS item "FOO"/],
    ['A1 APPEND INBOX (\\Seen)', /expected SP after the flag list/],
    ['A1 APPEND INBOX "7-Feb-1994" {1}\r\nx', /expected SP before the time/],
    ['A1 APPEND INBOX hello', /expected the message as a literal/],
    ['A1 APPEND INBOX CATENATE (URL "/x")', /CATENATE \(RFC 4469\) is not supported/],
    ['A1 APPEND INBOX {3}\r\na\0b', /NUL in a literal/],
    ['A1 APPEND INBOX {1}\r\nx junk', /expected the message as a literal/],
    ['A1 FETCH 1 (FLAGS) (VANISHED)', /VANISHED needs UID FETCH and CHANGEDSINCE/],
    ['A1 UID FETCH 1 (FLAGS) (VANISHED)', /VANISHED needs UID FETCH and CHANGEDSINCE/],
    ['A1 FETCH 1 (FLAGS) (FOO 1)', /unknown FETCH modifier "FOO"/],
    ['A1 FETCH 1 BODY[MIME]', /MIME needs a part number/],
    ['A1 FETCH 1 BODY[HEADER.FIELDS ()]', /the header field list must not be empty/],
    ['A1 FETCH 1 BODY[HEADER.FIELDS (a:b)]', /header field name is printable ASCII/],
    ['A1 FETCH 1 BODY[1.2.FOO]', /unknown section "FOO"/],
    ['A1 FETCH 1 BODY[1.0]', /a part number must not be 0/],
    ['A1 FETCH 1 BODY[1', /expected "\]" to close the section/],
    ['A1 FETCH 1 BODY[]<1.>', /expected the partial length/],
    ['A1 FETCH 1 BODY[]<0.0>', /the partial length must not be 0/],
    ['A1 FETCH 1 BINARY[HEADER]', /expected a part number/],
    ['A1 FETCH 1 FOO', /unknown fetch attribute "FOO"/],
    ['A1 FETCH 1 (ALL)', /unknown fetch attribute "ALL"/],
    ['A1 FETCH 1 ()', /the fetch attribute list must not be empty/],
    ['A1 FETCH 0 FLAGS', /message number 0 is not valid/],
    ['A1 FETCH 1 PREVIEW (LAZY FOO)', /unknown PREVIEW modifier/],
    ['A1 STORE 1 FLAGS (\\*)', /"\\\*" is not a flag/],
    ['A1 STORE 1 +FLAGZ (\\Seen)', /expected FLAGS or FLAGS.SILENT, not "FLAGZ"/],
    ['A1 STORE 1 (FOO 1) FLAGS (\\Seen)', /unknown STORE modifier "FOO"/],
    ['A1 COPY 1:2', /expected SP after the sequence set/],
    ['A1 SEARCH', /expected SP after SEARCH/],
    ['A1 SEARCH FOO', /unknown search key "FOO"/],
    ['A1 SEARCH OR SEEN', /expected SP between the two keys of OR/],
    ['A1 SEARCH ()', /the parenthesised search keys must not be empty/],
    ['A1 SEARCH RETURN (FOO) ALL', /unknown RETURN option "FOO"/],
    ['A1 SEARCH RETURN (PARTIAL 1:-5) ALL', /expected the last position of the PARTIAL range/],
    ['A1 SEARCH RETURN (PARTIAL -1:5) ALL', /both ends of the range count from the end/],
    ['A1 SEARCH SINCE 31-Feb-2024', /day 31 does not exist in Feb 2024/],
    ['A1 SEARCH EMAILID a.b', /an object id is 1-255 letters/],
    ['A1 SEARCH MODSEQ "/x/\\\\Seen" all 5', /MODSEQ entry name/],
    ['A1 SEARCH MODSEQ "/flags/\\\\Seen" every 5', /expected priv, shared or all/],
    ['A1 SEARCH YOUNGER 0', /must not be 0/],
    ['A1 SEARCH ALL ', /expected a search key at offset 14, found end of command/],
    [deepNot, /nested deeper than 1000 levels/],
    ['A1 SORT (FOO) UTF-8 ALL', /unknown sort key "FOO"/],
    ['A1 SORT (DATE) ALL', /expected SP after the charset/],
    ['A1 SORT () UTF-8 ALL', /the sort criteria must not be empty/],
    ['A1 THREAD REFERENCES', /expected SP after the threading algorithm/],
    ['A1 ID (name)', /expected SP after the ID field name/],
    ['A1 SETQUOTA x (STORAGE)', /expected SP after the resource name/],
    ['A1 GETQUOTA', /expected SP after GETQUOTA/],
  ];
  for (const [wire, why, opts] of cases) {
    it(wire.length > 60 ? `${wire.slice(0, 60)}...` : wire.replace(/[\r\n\0]/g, '.'), () => {
      const out = outcome(wire, opts);
      assert.ok(!out.ok, 'should have failed');
      assert.equal(out.kind, 'syntax');
      assert.ok(out.error instanceof ImapSyntaxError);
      assert.match(out.error.message, why);
      assert.equal(out.tag, 'A1');
    });
  }

  it('has no tag to answer when the tag is bad', () => {
    for (const wire of ['+A1 NOOP', '* NOOP', ' NOOP', '', '(a) NOOP']) {
      const out = outcome(wire);
      assert.ok(!out.ok);
      assert.equal(out.tag, null, wire);
      assert.equal(out.name, null);
    }
  });

  it('names the command being parsed', () => {
    const out = outcome('A1 uid fetch x');
    assert.ok(!out.ok);
    assert.equal(out.name, 'UID FETCH');
  });
});
