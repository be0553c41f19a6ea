/**
 * The web lab's exercises against a real server process: students do the course over real sockets
 * (telnet-style SMTP on 25, POP3 with USER/PASS and APOP, IMAP by hand with IDLE while mail arrives,
 * STARTTLS and AUTH PLAIN, a capture download) and each exercise ticks for the student who did it and
 * for nobody else: by login, by MAIL FROM, or by the address the student uses the web lab from
 * (students are played from 127.0.0.2, 127.0.0.3 …, which Linux routes over loopback). The class
 * overview fills in live over SSE, exports as CSV, a student sees only their own checklist, the CLI
 * prints the same, and an exercise a teacher adds later is found in the history after a restart.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Browser } from './harness/browser.js';
import { LineClient } from './harness/line-client.js';
import { eventually, plain } from './harness/mail-flow.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';
import { SseReader } from './harness/sse-reader.js';
import { Api } from './harness/web-api-client.js';

const PASSWORD = 'class-pw-1';
const S1 = 'student01@example.test';
const S2 = 'student02@example.test';
const S3 = 'student03@example.test';
const STUDENTS = [S1, S2, S3];
const LISTENERS = ['smtp', 'submission', 'pop3', 'imap', 'http'];

interface Entry {
  student: string;
  exercise: string;
  done: boolean;
  at: number | null;
}
interface Progress {
  students: string[];
  exercises: string[];
  progress: Entry[];
}

/** The exercises done, per student, from a progress answer. */
function doneBy(p: Progress): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of p.progress) {
    out[e.student] ??= [];
    if (e.done) out[e.student].push(e.exercise);
  }
  for (const list of Object.values(out)) list.sort();
  return out;
}

async function expectReply(c: LineClient, line: string, re: RegExp): Promise<string> {
  const r = await c.cmd(line);
  assert.match(r, re, `${line} → ${r}`);
  return r;
}

/**
 * A session as a student types it on port 25 (one line at a time, as telnet sends them); a line
 * without an expected reply (message data) is sent without waiting.
 */
async function telnetSmtp(port: number, from: string, lines: [string, RegExp | null][]): Promise<void> {
  const c = await LineClient.connect(port, { localAddress: from });
  try {
    assert.match(await c.reply(), /^220 /);
    for (const [line, re] of lines) {
      if (re === null) c.send(line);
      else await expectReply(c, line, re);
    }
  } finally {
    c.close();
  }
}

describe('exercises checked live', () => {
  let pb: PostbodeProcess;
  let teacher: Api;
  let b1: Browser;
  let b2: Browser;
  let s3: Api;
  const dir = mkdtempSync(path.join(tmpdir(), 'postbode-exercises-'));
  const ownFile = path.join(dir, 'own.json');

  const overview = () => teacher.json<Progress>('GET', '/api/exercises/progress');
  /** Waits until the overview shows `exercise` done by `student`. */
  const ticked = (student: string, exercise: string) =>
    eventually(`${exercise} done by ${student}`, async () => {
      const p = await overview();
      return p.progress.find((e) => e.student === student && e.exercise === exercise && e.done) ?? undefined;
    });

  before(async () => {
    pb = await startPostbode({ listeners: LISTENERS });
    for (const user of STUDENTS) {
      const r = pb.cli(['user', 'add', user, '--password', PASSWORD]);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal(pb.cli(['admin', 'add', 'teacher', '--password', 'teach-me-42']).code, 0);
    const base = `http://127.0.0.1:${pb.ports.http}`;
    teacher = await Api.login(base, 'teacher', 'teach-me-42');
    b1 = new Browser(pb.ports.http, '127.0.0.2');
    b2 = new Browser(pb.ports.http, '127.0.0.3');
    await b1.json('POST', '/api/login', { username: S1, password: PASSWORD });
    await b2.json('POST', '/api/login', { username: S2, password: PASSWORD });
    // A request after the login places each student at their address.
    await b1.json('GET', '/api/me');
    await b2.json('GET', '/api/me');
    s3 = await Api.login(base, S3, PASSWORD);
  });

  after(async () => {
    await pb?.stop();
    if (pb) removeDir(pb.dataDir);
    removeDir(dir);
  });

  it('lists the exercises in the language asked for, or the browser’s', async () => {
    const nl = await b1.json<{ language: string; exercises: { id: string; title: string; hint: string }[] }>(
      'GET',
      '/api/exercises?lang=nl',
    );
    assert.equal(nl.language, 'nl');
    assert.equal(nl.exercises[0].id, 'smtp-telnet-send');
    assert.match(nl.exercises[0].title, /Verstuur met de hand een mail op poort 25/);
    assert.match(nl.exercises[0].hint, /^Start telnet mx\.example\.test 25 /, '{server} is the server name');
    const fr = (await (
      await fetch(`http://127.0.0.1:${pb.ports.http}/api/exercises`, {
        headers: { cookie: s3.cookie, 'accept-language': 'fr-BE,fr;q=0.9,en;q=0.5' },
      })
    ).json()) as { language: string; exercises: { title: string }[] };
    assert.equal(fr.language, 'fr');
    assert.match(fr.exercises[0].title, /Envoyer un mail à la main/);
  });

  it('ticks each exercise for the student who did it, by login, MAIL FROM or web lab address, and nobody else', async () => {
    const live = await SseReader.open(teacher, '/api/exercises/stream');
    const mine = await SseReader.open(s3, '/api/exercises/stream');
    try {
      // student01's machine (127.0.0.2), where student01 uses the web lab: a mail by hand on 25 that
      // names nobody of the class in MAIL FROM counts for student01, not for its recipient.
      await telnetSmtp(pb.ports.smtp, '127.0.0.2', [
        ['HELO pc-12', /^250/],
        ['MAIL FROM:<someone@elsewhere.test>', /^250/],
        [`RCPT TO:<${S2}>`, /^250/],
        ['DATA', /^354/],
        ['Subject: first mail by hand', null],
        ['', null],
        ['QUIT', null],
        ['.', /^250/],
        ['QUIT', /^221/],
      ]);
      // From a machine nobody uses the web lab from, naming student02 in MAIL FROM: EHLO and 550 5.1.1.
      await telnetSmtp(pb.ports.smtp, '127.0.0.9', [
        ['EHLO lab-pc', /^250-/],
        [`MAIL FROM:<${S2}>`, /^250/],
        ['RCPT TO:<nobody@example.test>', /^550 5\.1\.1/],
        ['QUIT', /^221/],
      ]);
      // A port-25 session from an address two students use names nobody: it counts for nobody.
      await b2.json('GET', '/api/me');
      const shared = new Browser(pb.ports.http, '127.0.0.4');
      await shared.json('POST', '/api/login', { username: S1, password: PASSWORD });
      await shared.json('GET', '/api/me');
      const other = new Browser(pb.ports.http, '127.0.0.4');
      await other.json('POST', '/api/login', { username: S3, password: PASSWORD });
      await other.json('GET', '/api/me');
      await telnetSmtp(pb.ports.smtp, '127.0.0.4', [
        ['EHLO shared-pc', /^250-/],
        ['QUIT', /^221/],
      ]);

      await ticked(S1, 'smtp-telnet-send');
      await ticked(S2, 'smtp-unknown-user');
      const tick = await live.next<Entry>('progress', (e) => e.student === S1 && e.exercise === 'smtp-telnet-send');
      assert.equal(tick.done, true);
      assert.ok(typeof tick.at === 'number');

      // POP3 by hand for student01 (the message student02 got is not theirs: mail one first).
      await telnetSmtp(pb.ports.smtp, '127.0.0.9', [
        ['HELO x', /^250/],
        ['MAIL FROM:<mailer@elsewhere.test>', /^250/],
        [`RCPT TO:<${S1}>`, /^250/],
        ['DATA', /^354/],
        ['Subject: for POP3', null],
        ['', null],
        ['read me', null],
        ['.', /^250/],
        ['QUIT', /^221/],
      ]);
      const pop = await LineClient.connect(pb.ports.pop3, { localAddress: '127.0.0.2' });
      try {
        assert.match(await pop.reply(), /^\+OK/);
        await expectReply(pop, `USER ${S1}`, /^\+OK/);
        await expectReply(pop, `PASS ${PASSWORD}`, /^\+OK/);
        await expectReply(pop, 'STAT', /^\+OK 1 /);
        pop.send('LIST');
        assert.match(await pop.line(), /^\+OK/);
        await pop.multiline();
        pop.send('RETR 1');
        assert.match(await pop.line(), /^\+OK/);
        assert.ok((await pop.multiline()).includes('read me'));
        await expectReply(pop, 'DELE 1', /^\+OK/);
        await expectReply(pop, 'QUIT', /^\+OK/);
      } finally {
        pop.close();
      }
      // APOP for student02, the digest computed as a student would.
      const apop = await LineClient.connect(pb.ports.pop3, { localAddress: '127.0.0.3' });
      try {
        const greeting = await apop.reply();
        const stamp = /(<[^>]+>)/.exec(greeting)?.[1];
        assert.ok(stamp, greeting);
        const digest = createHash('md5').update(`${stamp}${PASSWORD}`).digest('hex');
        await expectReply(apop, `APOP ${S2} ${digest}`, /^\+OK/);
        await expectReply(apop, 'QUIT', /^\+OK/);
      } finally {
        apop.close();
      }

      // IMAP by hand for student03, with IDLE while student02 mails them.
      const imap = await LineClient.connect(pb.ports.imap);
      const tagged = async (tag: string, line: string): Promise<string[]> => {
        imap.send(`${tag} ${line}`);
        const lines: string[] = [];
        for (;;) {
          const l = await imap.line();
          lines.push(l);
          if (l.startsWith(`${tag} `)) {
            assert.match(l, new RegExp(`^${tag} OK`), `${line} → ${lines.join(' | ')}`);
            return lines;
          }
        }
      };
      try {
        assert.match(await imap.line(), /^\* OK/);
        await tagged('a1', `LOGIN ${S3} ${PASSWORD}`);
        await tagged('a2', 'LIST "" "*"');
        await tagged('a3', 'SELECT INBOX');
        imap.send('a4 IDLE');
        assert.match(await imap.line(), /^\+ /);
        await telnetSmtp(pb.ports.smtp, '127.0.0.9', [
          ['HELO x', /^250/],
          ['MAIL FROM:<mailer@elsewhere.test>', /^250/],
          [`RCPT TO:<${S3}>`, /^250/],
          ['DATA', /^354/],
          ['Subject: while you idle', null],
          ['', null],
          ['hello', null],
          ['.', /^250/],
          ['QUIT', /^221/],
        ]);
        assert.match(await imap.line(), /^\* 1 EXISTS/);
        imap.send('DONE');
        let end = await imap.line();
        while (end.startsWith('* ')) end = await imap.line(); // * 1 RECENT
        assert.match(end, /^a4 OK/);
        const header = await tagged('a5', 'FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]');
        assert.ok(header.some((l) => l.includes('while you idle')));
        await tagged('a6', 'STORE 1 +FLAGS (\\Seen)');
        await tagged('a7', 'CREATE Lab');
        await tagged('a8', 'MOVE 1 Lab');
        await tagged('a9', 'LOGOUT');
      } finally {
        imap.close();
      }

      // STARTTLS and AUTH PLAIN by hand on 587, for student03.
      const sub = await LineClient.connect(pb.ports.submission);
      try {
        assert.match(await sub.reply(), /^220 /);
        await expectReply(sub, 'EHLO openssl.client', /^250-/);
        await expectReply(sub, 'STARTTLS', /^220/);
        await sub.upgradeTls();
        await expectReply(sub, 'EHLO me', /^250-/);
        await expectReply(sub, `AUTH PLAIN ${plain(S3, PASSWORD)}`, /^235/);
        await expectReply(sub, 'QUIT', /^221/);
      } finally {
        sub.close();
      }

      for (const exercise of [
        'imap-login-select',
        'imap-idle',
        'imap-fetch-header',
        'imap-store-seen',
        'imap-create',
        'imap-copy-move',
        'smtp-starttls-auth-plain',
      ]) {
        await ticked(S3, exercise);
      }
      await ticked(S1, 'pop3-read-delete');
      await ticked(S2, 'pop3-apop');
      // student03's own stream heard their ticks, and only theirs.
      await mine.next<Entry>('progress', (e) => e.exercise === 'imap-idle');
      assert.equal(mine.seen('progress').filter((e) => (e as Entry).student !== S3).length, 0);
    } finally {
      live.close();
      mine.close();
    }
  });

  it('a capture download of their own cleartext session with a login is an exercise; of another’s it is refused', async () => {
    const sessions = (
      await b1.json<{ sessions: { id: string; proto: string; user: string | null; tls: boolean }[] }>(
        'GET',
        '/api/sessions?proto=pop3',
      )
    ).sessions;
    const own = sessions.find((s) => s.user === S1 && !s.tls);
    assert.ok(own, 'student01 sees their POP3 session');
    const before = doneBy(await overview());
    assert.ok(!before[S1].includes('pcap-cleartext-password'));
    // Someone else's session: 403, no tick for anybody.
    assert.equal((await b2.request('GET', `/api/sessions/${own.id}/capture.pcap`)).status, 403);
    // The teacher downloading it is not the student doing the exercise.
    assert.equal((await teacher.req('GET', `/api/sessions/${own.id}/capture.pcap`)).status, 200);
    const pcap = await b1.request('GET', `/api/sessions/${own.id}/capture.pcap`);
    assert.equal(pcap.status, 200);
    await ticked(S1, 'pcap-cleartext-password');
    const after = doneBy(await overview());
    assert.ok(!after[S2].includes('pcap-cleartext-password'));
    assert.ok(pb.logs.some((l) => l.msg === 'capture downloaded' && l.user === S1 && l.session === own.id));
  });

  it('the overview holds exactly what each student did; a student sees only their own', async () => {
    const all = await overview();
    assert.deepEqual(all.students, STUDENTS);
    assert.equal(all.progress.length, STUDENTS.length * all.exercises.length);
    assert.deepEqual(doneBy(all), {
      [S1]: ['pcap-cleartext-password', 'pop3-read-delete', 'smtp-telnet-send'],
      [S2]: ['pop3-apop', 'smtp-ehlo', 'smtp-unknown-user'],
      [S3]: [
        'imap-copy-move',
        'imap-create',
        'imap-fetch-header',
        'imap-idle',
        'imap-login-select',
        'imap-store-seen',
        'smtp-ehlo',
        'smtp-starttls-auth-plain',
      ],
    });
    const own = await b2.json<Progress>('GET', '/api/exercises/progress');
    assert.deepEqual(own.students, [S2]);
    assert.deepEqual(doneBy(own), { [S2]: ['pop3-apop', 'smtp-ehlo', 'smtp-unknown-user'] });
    assert.equal((await b2.request('GET', '/api/exercises/progress.csv')).status, 403);
    const csv = await teacher.req('GET', '/api/exercises/progress.csv');
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-disposition') ?? '', /attachment; filename="exercises-progress.csv"/);
    const lines = (await csv.text()).trimEnd().split('\r\n');
    assert.deepEqual(lines[0].split(','), ['student', ...all.exercises, 'done']);
    const row2 = lines.find((l) => l.startsWith(`${S2},`))?.split(',') ?? [];
    assert.equal(row2.at(-1), '3');
    assert.match(row2[1 + all.exercises.indexOf('smtp-unknown-user')], /^\d{4}-\d\d-\d\dT/);
    assert.equal(row2[1 + all.exercises.indexOf('smtp-telnet-send')], '');
  });

  it('the CLI lists the exercises and prints the same progress', async () => {
    const list = pb.cli(['exercises', 'list', '--lang', 'fr']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^ 1\. smtp-telnet-send \(SMTP\)\n {4}Envoyer un mail à la main sur le port 25/);
    assert.match(list.stdout, /pcap-cleartext-password \(POP3, IMAP, SMTP, then download capture\.pcap\)/);
    assert.equal(pb.cli(['exercises', 'list', '--lang', 'de']).code, 2);
    const json = pb.cli(['exercises', 'progress', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const rows = JSON.parse(json.stdout) as Entry[];
    const api = await overview();
    assert.deepEqual(rows, api.progress);
    const text = pb.cli(['exercises', 'progress']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(list.stdout, /client-autoconfig \(IMAP, POP3 login after the client's autoconfiguration\)/);
    assert.match(text.stdout, /^student03@example\.test {2}\. x \. \. \. x x x x x {2}x {2}x {2}\. {2}\. {3}8\/14$/m);
    assert.match(
      text.stdout,
      /^student01@example\.test {2}x \. \. x \. \. \. \. \. \. {2}\. {2}\. {2}\. {2}x {3}3\/14$/m,
    );
  });

  it('a mail client configured by autoconfig: the fetch for the address, then its login from the same client', async () => {
    /** An IMAP LOGIN and LOGOUT as `user`, from `from`. */
    const imapLogin = async (from: string, user: string) => {
      const c = await LineClient.connect(pb.ports.imap, { localAddress: from });
      try {
        assert.match(await c.line(), /^\* OK/);
        assert.match(await c.cmd(`a1 LOGIN ${user} ${PASSWORD}`), /^a1 OK/);
        c.send('a2 LOGOUT');
        await c.closedByServer();
      } finally {
        c.close();
      }
    };
    const thunderbird = (from: string, address: string) =>
      new Browser(pb.ports.http, from).request(
        'GET',
        `/mail/config-v1.1.xml?emailaddress=${encodeURIComponent(address)}`,
      );
    const outlook = (from: string, address: string) =>
      new Browser(pb.ports.http, from).request('POST', '/autodiscover/autodiscover.xml', undefined, {
        type: 'text/xml',
        data: `<Autodiscover><Request><EMailAddress>${address}</EMailAddress></Request></Autodiscover>`,
      });
    const autoconfigAt = async (student: string) =>
      (await overview()).progress.find((e) => e.student === student && e.exercise === 'client-autoconfig');

    // Not it: a login without a fetch; a fetch from another machine; another student's configuration.
    await imapLogin('127.0.0.5', S3);
    assert.equal((await thunderbird('127.0.0.6', S3)).status, 200);
    await imapLogin('127.0.0.5', S3);
    assert.equal((await thunderbird('127.0.0.5', S2)).status, 200);
    await imapLogin('127.0.0.5', S3);
    // It: Thunderbird's fetch for student03 at 127.0.0.5, then its login there. The tick's time is that
    // login's, so none of the sessions before counted (the store keeps the first time).
    const fetched = Date.now();
    const xml = await thunderbird('127.0.0.5', S3);
    assert.match(xml.text, /<hostname>mx\.example\.test<\/hostname>/);
    await imapLogin('127.0.0.5', S3);
    await ticked(S3, 'client-autoconfig');
    assert.ok(((await autoconfigAt(S3))?.at ?? 0) >= fetched, 'done by the login after the fetch, not before');
    // Outlook's Autodiscover counts as well, and POP3 as well as IMAP.
    assert.equal((await autoconfigAt(S2))?.done, false);
    assert.match((await outlook('127.0.0.7', S2)).text, /<LoginName>student02@example\.test<\/LoginName>/);
    const pop = await LineClient.connect(pb.ports.pop3, { localAddress: '127.0.0.7' });
    try {
      assert.match(await pop.line(), /^\+OK/);
      assert.match(await pop.cmd(`USER ${S2}`), /^\+OK/);
      assert.match(await pop.cmd(`PASS ${PASSWORD}`), /^\+OK/);
      assert.match(await pop.cmd('QUIT'), /^\+OK/);
    } finally {
      pop.close();
    }
    await ticked(S2, 'client-autoconfig');
    assert.equal((await autoconfigAt(S1))?.done, false);
  });

  it('an exercise a teacher adds later is found in the history after a restart', async () => {
    writeFileSync(
      ownFile,
      JSON.stringify({
        exercises: [
          {
            id: 'pop3-stat',
            title: { nl: 'Vraag STAT' },
            hint: { nl: 'STAT geeft het aantal berichten en octetten.' },
            rule: { proto: 'pop3', steps: [{ command: 'STAT', reply: '+OK' }] },
          },
        ],
      }),
    );
    await pb.stop();
    pb = await startPostbode({
      listeners: LISTENERS,
      dataDir: pb.dataDir,
      extraArgs: ['--set', `lab.exercises_file=${JSON.stringify(ownFile)}`],
    });
    teacher = await Api.login(`http://127.0.0.1:${pb.ports.http}`, 'teacher', 'teach-me-42');
    const p = await overview();
    assert.equal(p.exercises.at(-1), 'pop3-stat');
    const done = doneBy(p);
    assert.ok(done[S1].includes('pop3-stat'), 'student01 asked STAT before the exercise existed');
    assert.ok(!done[S2].includes('pop3-stat'), 'student02 used APOP and QUIT only');
    assert.ok(done[S1].includes('pcap-cleartext-password'), 'what was recorded stays');
    const nl = await teacher.json<{ exercises: { id: string; title: string }[] }>('GET', '/api/exercises?lang=fr');
    assert.equal(nl.exercises.at(-1)?.title, 'Vraag STAT', 'a text in one language only is shown in it');
  });

  it('refuses to start with an exercise file that does not fit, naming the problem', async () => {
    writeFileSync(ownFile, JSON.stringify({ exercises: [{ id: 'x', title: { en: 'x' }, hint: {}, rule: {} }] }));
    await assert.rejects(
      startPostbode({
        listeners: ['smtp', 'http'],
        dataDir: mkdtempSync(path.join(dir, 'data-')),
        extraArgs: ['--set', `lab.exercises_file=${JSON.stringify(ownFile)}`],
      }),
      /is not a valid exercise file: exercises\.0\.hint: give the text in at least one language/,
    );
  });
});
