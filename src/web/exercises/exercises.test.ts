/**
 * The exercises as data and their rules over sessions, without a server: the built-in set is valid and
 * complete in en, nl and fr; a teacher's file merges, replaces and is refused with every problem
 * named; rules tick on the command/reply sequences of sessions (pipelined, multi-line, DATA, literals,
 * IDLE, STARTTLS) and not on look-alikes (a command inside message data, a failed reply, the wrong order).
 * The same sessions over real sockets are in test/exercises.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Protocol, TraceEvent } from '../../trace/bus.js';
import { codeMatches, fulfilledAt, modelOf } from './check.js';
import {
  builtinExercises,
  type Exercise,
  ExerciseFileError,
  LANGUAGES,
  loadExercises,
  parseExerciseFile,
  pickLanguage,
  textIn,
} from './definitions.js';
import { AutoconfigFetches, progressTable, WebPresence } from './progress.js';

/**
 * A session from a script: `C: line` (client), `S: line` (server), `-- tls`, `-- auth USER` (a
 * successful login), `-- failed USER`. Event i happens at time i.
 */
function session(proto: Protocol, script: string[], opts: { listener?: string; implicitTls?: boolean } = {}) {
  const events: TraceEvent[] = [
    {
      type: 'open',
      sid: 's',
      t: 0,
      proto,
      listener: opts.listener ?? proto,
      remote: '10.0.0.5',
      remotePort: 40000,
      local: '10.0.0.1',
      localPort: 25,
      tls: opts.implicitTls ?? false,
    },
  ];
  const encrypted: boolean[] = [opts.implicitTls ?? false];
  let tls = opts.implicitTls ?? false;
  script.forEach((line, i) => {
    const seq = i + 1;
    const base = { sid: 's', t: seq, seq };
    if (line.startsWith('C: ')) events.push({ type: 'in', ...base, text: line.slice(3) });
    else if (line.startsWith('S: ')) events.push({ type: 'out', ...base, text: line.slice(3) });
    else if (line === '-- tls') {
      events.push({ type: 'tls', ...base, protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' });
      tls = true;
    } else if (line.startsWith('-- auth ')) {
      events.push({ type: 'auth', ...base, user: line.slice(8), ok: true, mechanism: 'PLAIN' });
    } else if (line.startsWith('-- failed ')) {
      events.push({ type: 'auth', ...base, user: line.slice(10), ok: false, mechanism: 'PLAIN' });
    } else throw new Error(`bad script line ${line}`);
    encrypted.push(tls && line !== '-- tls');
  });
  return { proto, listener: opts.listener ?? proto, events, encrypted };
}

const builtin = builtinExercises();
const byId = (id: string): Exercise => {
  const e = builtin.find((x) => x.id === id);
  assert.ok(e, id);
  return e;
};

/** The built-in exercises a session does, with the time each was done. */
function done(s: ReturnType<typeof session>): Record<string, number> {
  const m = modelOf(s.proto, s.listener, s.events, s.encrypted);
  const out: Record<string, number> = {};
  for (const e of builtin) {
    if (e.rule.download || e.rule.after) continue; // decided by the tracker (progress.ts)
    const at = fulfilledAt(e.rule, m);
    if (at !== null) out[e.id] = at;
  }
  return out;
}

const SMTP_SEND = [
  'S: 220 mx.class.example ESMTP postbode',
  'C: HELO pc-12',
  'S: 250 mx.class.example',
  'C: MAIL FROM:<student01@class.example>',
  'S: 250 2.1.0 Ok',
  'C: RCPT TO:<student02@class.example>',
  'S: 250 2.1.5 Ok',
  'C: DATA',
  'S: 354 End data with <CR><LF>.<CR><LF>',
  'C: Subject: hi',
  'C: ',
  'C: RCPT TO:<not-a-command@class.example>',
  'C: .',
  'S: 250 2.0.0 Ok: queued as 12',
  'C: QUIT',
  'S: 221 2.0.0 Bye',
];

describe('exercise definitions', () => {
  it('the built-in set is valid, follows the course, and has every text in en, nl and fr', () => {
    assert.ok(builtin.length >= 12);
    assert.equal(builtin[0].id, 'smtp-telnet-send', 'the course starts with a mail by telnet on 25');
    for (const e of builtin) {
      for (const lang of LANGUAGES) {
        assert.ok(e.title[lang], `${e.id}: title in ${lang}`);
        assert.ok(e.hint[lang], `${e.id}: hint in ${lang}`);
      }
    }
    assert.deepEqual(
      builtin.filter((e) => e.rule.download).map((e) => e.id),
      ['pcap-cleartext-password'],
    );
  });

  it('texts fall back to English; the language comes from ?lang= or Accept-Language', () => {
    assert.equal(textIn({ en: 'Hello', nl: 'Hallo' }, 'fr'), 'Hello');
    assert.equal(textIn({ nl: 'Hallo' }, 'fr'), 'Hallo');
    assert.equal(pickLanguage('nl'), 'nl');
    assert.equal(pickLanguage('de-DE,fr-BE;q=0.8,nl;q=0.9'), 'nl');
    assert.equal(pickLanguage('fr-BE,fr;q=0.9,en;q=0.8'), 'fr');
    assert.equal(pickLanguage('de, nl;q=0'), 'en');
    assert.equal(pickLanguage(undefined), 'en');
  });

  it("merges a teacher's file: same id replaces, new ids follow, builtin: false drops the built-ins", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'postbode-exercises-'));
    try {
      const file = path.join(dir, 'mine.json');
      const own = {
        exercises: [
          { ...byId('smtp-ehlo'), hint: { nl: 'Typ EHLO.' } },
          {
            id: 'pop3-top',
            title: { nl: 'Lees de header met TOP' },
            hint: { nl: 'TOP 1 0' },
            rule: { proto: 'pop3', steps: [{ command: 'TOP', args: '^\\d+ 0$', reply: '+OK' }] },
          },
        ],
      };
      writeFileSync(file, JSON.stringify(own));
      const merged = loadExercises(file);
      assert.equal(merged.length, builtin.length + 1);
      assert.equal(merged[1].id, 'smtp-ehlo');
      assert.equal(textIn(merged[1].hint, 'nl'), 'Typ EHLO.');
      assert.equal(merged.at(-1)?.id, 'pop3-top');
      writeFileSync(file, JSON.stringify({ ...own, builtin: false }));
      assert.deepEqual(
        loadExercises(file).map((e) => e.id),
        ['smtp-ehlo', 'pop3-top'],
      );
      writeFileSync(file, '{ not json');
      assert.throws(() => loadExercises(file), /not valid JSON/);
      assert.throws(() => loadExercises(path.join(dir, 'missing.json')), /cannot read the exercise file .*ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bad file naming every problem', () => {
    const bad = {
      exercises: [
        { id: 'Bad Id', title: {}, hint: { en: 'x' }, rule: { proto: 'nntp', steps: [] } },
        {
          id: 'ok',
          title: { en: 'x' },
          hint: { en: 'x' },
          rule: { proto: 'imap', steps: [{ command: 'X', args: '(' }] },
        },
        { id: 'ok2', title: { en: 'x' }, hint: { en: 'x' }, rule: { proto: 'imap', steps: [] } },
      ],
    };
    assert.throws(
      () => parseExerciseFile(bad, 'f.json'),
      (err: Error) =>
        err instanceof ExerciseFileError &&
        /exercises\.0\.id: lower-case/.test(err.message) &&
        /exercises\.0\.title: give the text/.test(err.message) &&
        /exercises\.0\.rule\.proto/.test(err.message) &&
        /exercises\.1\.rule\.steps\.0\.args: not a valid regular expression/.test(err.message) &&
        /exercises\.2\.rule: a rule needs steps/.test(err.message),
    );
    const twice = { exercises: [byId('smtp-ehlo'), byId('smtp-ehlo')] };
    assert.throws(() => parseExerciseFile(twice, 'f.json'), /smtp-ehlo is used twice/);
  });
});

describe('exercise rules over sessions', () => {
  it('SMTP by hand on 25: HELO, MAIL, RCPT, DATA with 250 after the dot; a RCPT inside the data is content', () => {
    const d = done(session('smtp', SMTP_SEND, { listener: 'smtp' }));
    assert.deepEqual(Object.keys(d), ['smtp-telnet-send']);
    assert.equal(d['smtp-telnet-send'], 14, 'done at the 250 after the dot');
    // The same on 587 is not the port-25 exercise; without the final 250 it is not done.
    assert.deepEqual(done(session('smtp', SMTP_SEND, { listener: 'submission' })), {});
    const refused = SMTP_SEND.map((l) => (l.startsWith('S: 250 2.0.0') ? 'S: 554 5.7.1 Rejected' : l));
    assert.deepEqual(done(session('smtp', refused, { listener: 'smtp' })), {});
    // Still in DATA (354 so far): not yet.
    assert.deepEqual(done(session('smtp', SMTP_SEND.slice(0, 12), { listener: 'smtp' })), {});
  });

  it('EHLO with a multi-line 250, a 550 5.1.1, and pipelined commands', () => {
    const d = done(
      session(
        'smtp',
        [
          'S: 220 mx ESMTP',
          'C: EHLO pc-12',
          'S: 250-mx',
          'S: 250-PIPELINING',
          'S: 250 STARTTLS',
          'C: MAIL FROM:<a@class.example>',
          'C: RCPT TO:<nobody@class.example>',
          'C: RCPT TO:<b@class.example>',
          'S: 250 2.1.0 Ok',
          'S: 550 5.1.1 <nobody@class.example>: Recipient address rejected: no such user here',
          'S: 250 2.1.5 Ok',
        ],
        { listener: 'smtp' },
      ),
    );
    assert.deepEqual(d, { 'smtp-ehlo': 5, 'smtp-unknown-user': 10 });
    const other = done(
      session('smtp', [
        'S: 220 mx',
        'C: HELO x',
        'S: 250 mx',
        'C: MAIL FROM:<a@b>',
        'S: 250 ok',
        'C: RCPT TO:<c@d>',
        'S: 550 5.7.1 no relay',
      ]),
    );
    assert.deepEqual(other, {}, '550 5.7.1 is not 5.1.1');
  });

  it('POP3: USER, PASS, STAT, LIST, RETR, DELE in any order between login and QUIT; QUIT must come', () => {
    const pop = [
      'S: +OK POP3 ready <1.2@mx>',
      'C: USER student01@class.example',
      'S: +OK',
      'C: PASS <redacted>',
      '-- auth student01@class.example',
      'S: +OK 2 messages',
      'C: LIST',
      'S: +OK 2 messages',
      'S: 1 120',
      'S: 2 130',
      'S: .',
      'C: STAT',
      'S: +OK 2 250',
      'C: RETR 1',
      'S: +OK 120 octets',
      'S: <message: 120 octets>',
      'S: .',
      'C: DELE 1',
      'S: +OK message 1 deleted',
    ];
    assert.deepEqual(done(session('pop3', pop)), {});
    assert.deepEqual(done(session('pop3', [...pop, 'C: QUIT', 'S: +OK bye'])), { 'pop3-read-delete': 21 });
    const failedPass = pop.map((l) => (l === 'S: +OK 2 messages' ? 'S: -ERR [AUTH] wrong' : l));
    assert.deepEqual(done(session('pop3', [...failedPass, 'C: QUIT', 'S: +OK bye'])), {});
    assert.deepEqual(
      done(session('pop3', ['S: +OK <1.2@mx>', 'C: APOP s@x 0123456789abcdef0123456789abcdef', 'S: +OK maildrop'])),
      { 'pop3-apop': 3 },
    );
  });

  it('IMAP: LOGIN, LIST, SELECT, FETCH a header, STORE \\Seen, CREATE, MOVE; literals are not commands', () => {
    const d = done(
      session('imap', [
        'S: * OK IMAP4rev2 ready',
        'C: a1 LOGIN student01@class.example <redacted>',
        '-- auth student01@class.example',
        'S: a1 OK LOGIN completed',
        'C: a2 SELECT INBOX',
        'S: * 2 EXISTS',
        'S: a2 OK [READ-WRITE] SELECT completed',
        'C: a3 LIST "" "*"',
        'S: * LIST (\\HasNoChildren) "/" INBOX',
        'S: a3 OK LIST completed',
        'C: a4 fetch 1 body.peek[header.fields (from subject)]',
        'S: * 1 FETCH (BODY[HEADER.FIELDS (FROM SUBJECT)] {40}',
        'S: <40 bytes>',
        'S: )',
        'S: a4 OK FETCH completed',
        'C: a5 STORE 1 -FLAGS (\\Seen)',
        'S: a5 OK STORE completed',
        'C: a6 APPEND INBOX {15}',
        'S: + Ready for literal data',
        'C: a7 CREATE Lab',
        'C: ',
        'S: a6 OK APPEND completed',
        'C: a8 uid move 1 Lab',
        'S: a8 OK MOVE completed',
      ]),
    );
    // Not imap-store-seen (-FLAGS takes \Seen away) nor imap-create (that CREATE is literal data).
    assert.deepEqual(d, { 'imap-login-select': 10, 'imap-fetch-header': 15, 'imap-copy-move': 24 });
    const seen = done(
      session('imap', ['S: * OK', 'C: t1 UID STORE 4 +FLAGS.SILENT (\\Seen \\Flagged)', 'S: t1 OK done']),
    );
    assert.deepEqual(seen, { 'imap-store-seen': 3 });
  });

  it('IMAP IDLE is done when EXISTS comes during it, not before or after', () => {
    const before = [
      'S: * OK',
      'C: a1 LOGIN s <redacted>',
      'S: a1 OK',
      'C: a2 SELECT INBOX',
      'S: * 1 EXISTS',
      'S: a2 OK',
    ];
    assert.deepEqual(
      done(session('imap', [...before, 'C: a3 IDLE', 'S: + idling', 'C: DONE', 'S: a3 OK IDLE terminated'])),
      {},
    );
    assert.deepEqual(
      done(
        session('imap', [
          ...before,
          'C: a3 IDLE',
          'S: + idling',
          'S: * 2 EXISTS',
          'C: DONE',
          'S: a3 OK IDLE terminated',
        ]),
      ),
      { 'imap-idle': 9 },
    );
  });

  it('STARTTLS then AUTH PLAIN inside TLS; AUTH PLAIN in clear is not it', () => {
    const starttls = [
      'S: 220 mx ESMTP',
      'C: EHLO openssl.client.net',
      'S: 250-mx',
      'S: 250 STARTTLS',
      'C: STARTTLS',
      'S: 220 2.0.0 Ready to start TLS',
      '-- tls',
      'C: EHLO me',
      'S: 250-mx',
      'S: 250 AUTH PLAIN LOGIN',
      'C: AUTH PLAIN <redacted>',
      '-- auth student01@class.example',
      'S: 235 2.7.0 Authentication successful',
    ];
    assert.deepEqual(done(session('smtp', starttls, { listener: 'submission' })), {
      'smtp-ehlo': 4,
      'smtp-starttls-auth-plain': 13,
    });
    const clear = starttls.filter((l) => l !== '-- tls');
    assert.equal(done(session('smtp', clear, { listener: 'submission' }))['smtp-starttls-auth-plain'], undefined);
  });

  it('download rules fit cleartext sessions with a login only', () => {
    const rule = byId('pcap-cleartext-password').rule;
    const pop = ['S: +OK', 'C: USER s', 'S: +OK', 'C: PASS <redacted>', '-- auth s@x', 'S: +OK'];
    const fits = (s: ReturnType<typeof session>) =>
      fulfilledAt(rule, modelOf(s.proto, s.listener, s.events, s.encrypted)) !== null;
    assert.equal(fits(session('pop3', pop)), true);
    assert.equal(fits(session('pop3', pop, { implicitTls: true, listener: 'pop3s' })), false);
    assert.equal(fits(session('pop3', pop.slice(0, 4))), false, 'no login');
  });

  it('the autoconfig rule: an IMAP or POP3 login, done at the login (the fetch is the tracker’s part)', () => {
    const rule = byId('client-autoconfig').rule;
    assert.equal(rule.after, 'autoconfig');
    const at = (s: ReturnType<typeof session>) =>
      fulfilledAt(rule, modelOf(s.proto, s.listener, s.events, s.encrypted));
    const imap = [
      'S: * OK ready',
      'C: a1 LOGIN s@x <redacted>',
      '-- auth s@x',
      'S: a1 OK LOGIN completed',
      'C: a2 LOGOUT',
    ];
    assert.equal(at(session('imap', imap)), 3, 'the time of the login');
    const pop = [
      'S: +OK',
      'C: USER s@x',
      'S: +OK',
      'C: PASS <redacted>',
      '-- failed s@x',
      'S: -ERR',
      'C: PASS x',
      '-- auth s@x',
    ];
    assert.equal(at(session('pop3', pop)), 8, 'the successful login, not the failed one');
    assert.equal(at(session('pop3', pop.slice(0, 6))), null, 'no login');
    assert.equal(at(session('smtp', ['S: 220 hi', 'C: AUTH PLAIN <redacted>', '-- auth s@x', 'S: 235 ok'])), null);
    const file = (r: object) => ({ exercises: [{ id: 'x', title: { en: 'x' }, hint: { en: 'x' }, rule: r }] });
    assert.ok(parseExerciseFile(file({ proto: 'imap', after: 'autoconfig' }), 'f'));
    assert.throws(
      () => parseExerciseFile(file({ proto: 'imap', after: 'autoconfig', login: false }), 'f'),
      /cannot go with "login": false/,
    );
    assert.throws(() => parseExerciseFile(file({ proto: 'imap', after: 'sometime' }), 'f'), /after/);
  });

  it('reply patterns: x for a digit, case-insensitive', () => {
    assert.ok(codeMatches('2xx', '250'));
    assert.ok(codeMatches('+ok', '+OK'));
    assert.ok(codeMatches('5.1.x', '5.1.1'));
    assert.ok(!codeMatches('2xx', '550'));
    assert.ok(!codeMatches('25', '250'));
  });
});

describe('progress helpers', () => {
  it('web presence: one student per address within the idle time; logout and age remove them', () => {
    const p = new WebPresence(1000, 2);
    p.seen('::ffff:10.0.0.5', 'A@x', 0);
    assert.deepEqual(p.at('10.0.0.5', 10), ['a@x']);
    p.seen('10.0.0.5', 'b@x', 20);
    assert.deepEqual(p.at('10.0.0.5', 30).sort(), ['a@x', 'b@x']);
    p.left('10.0.0.5', 'b@x');
    assert.deepEqual(p.at('10.0.0.5', 30), ['a@x']);
    assert.deepEqual(p.at('10.0.0.5', 2000), [], 'expired');
    p.seen('10.0.0.6', 'c@x', 0);
    p.seen('10.0.0.7', 'd@x', 0);
    p.seen('10.0.0.8', 'e@x', 0);
    assert.deepEqual(p.at('10.0.0.6', 1), [], 'the oldest address went beyond the limit');
  });

  it('autoconfig fetches: the account and the client address, before the login and within the window', () => {
    const f = new AutoconfigFetches(1000, 2);
    f.served('S1@x', '::ffff:10.0.0.5', 100);
    assert.ok(f.before('s1@x', '10.0.0.5', 100), 'at the same time');
    assert.ok(f.before('s1@x', '10.0.0.5', 1100), 'the end of the window');
    assert.ok(!f.before('s1@x', '10.0.0.5', 1101), 'after the window');
    assert.ok(!f.before('s1@x', '10.0.0.5', 99), 'a login before the fetch');
    assert.ok(!f.before('s1@x', '10.0.0.6', 500), 'another client address');
    assert.ok(!f.before('s2@x', '10.0.0.5', 500), 'another account');
    f.served('s1@x', '10.0.0.5', 5000);
    assert.ok(f.before('s1@x', '10.0.0.5', 500) && f.before('s1@x', '10.0.0.5', 5500), 'both fetches kept');
    f.served('s2@x', '10.0.0.5', 0);
    f.served('s3@x', '10.0.0.5', 0);
    assert.ok(!f.before('s1@x', '10.0.0.5', 5500), 'the oldest pair went beyond the limit');
    f.served('s4@x', '', 0);
    assert.ok(f.before('s3@x', '10.0.0.5', 0), 'a fetch without a client address is not kept');
  });

  it('the table has every student × exercise, done or not', () => {
    const table = progressTable(['a@x', 'b@x'], builtin.slice(0, 2), [
      { student: 'b@x', exercise: builtin[1].id, at: 5, sessionId: 's' },
    ]);
    assert.equal(table.length, 4);
    assert.deepEqual(table[3], { student: 'b@x', exercise: builtin[1].id, done: true, at: 5 });
    assert.deepEqual(table[0], { student: 'a@x', exercise: builtin[0].id, done: false, at: null });
  });
});
