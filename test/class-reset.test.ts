/**
 * "Reset the class" against a real server process (issue 12 item 5): a batch of lab accounts goes with
 * its mail, its sessions in the lab history and its exercise progress, after a preview that counts
 * exactly that; accounts outside the batch (another student, one made after the preview, the admins)
 * and their sessions stay. Over HTTP (`/api/class-reset/preview`, `/api/class-reset`) and with
 * `postbode classroom reset`, which refuses without a terminal unless --yes is given.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ClassResetView } from '../src/web/api-types.js';
import { LineClient } from './harness/line-client.js';
import { eventually } from './harness/mail-flow.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';
import { Api } from './harness/web-api-client.js';

const PASSWORD = 'class-pw-1';
const TEACHER_PASSWORD = 'teach-me-42';
const S1 = 'student01@class.example';
const S2 = 'student02@class.example';
const OTHER = 'alice@class.example';

interface Summary {
  id: string;
  user: string | null;
  mailFrom: string | null;
  active: boolean;
}
interface Progress {
  progress: { student: string; exercise: string; done: boolean }[];
}

async function expectReply(c: LineClient, line: string, re: RegExp): Promise<void> {
  const r = await c.cmd(line);
  assert.match(r, re, `${line} → ${r}`);
}

/** A telnet-style mail on port 25 from `from` to `to` (EHLO: the smtp-ehlo exercise for `from`). */
async function sendOn25(port: number, from: string, to: string, subject: string): Promise<void> {
  const c = await LineClient.connect(port);
  try {
    assert.match(await c.reply(), /^220 /);
    await expectReply(c, 'EHLO pc07', /^250-/);
    await expectReply(c, `MAIL FROM:<${from}>`, /^250 /);
    await expectReply(c, `RCPT TO:<${to}>`, /^250 /);
    await expectReply(c, 'DATA', /^354 /);
    c.send(`Subject: ${subject}`);
    c.send('');
    c.send('hello');
    await expectReply(c, '.', /^250 /);
    await expectReply(c, 'QUIT', /^221 /);
  } finally {
    c.close();
  }
}

/** POP3 USER/PASS/STAT/QUIT for `user` (a session in which they logged in). */
async function popLogin(port: number, user: string): Promise<void> {
  const c = await LineClient.connect(port);
  try {
    assert.match(await c.line(), /^\+OK/);
    await expectReply(c, `USER ${user}`, /^\+OK/);
    await expectReply(c, `PASS ${PASSWORD}`, /^\+OK/);
    await expectReply(c, 'STAT', /^\+OK/);
    await expectReply(c, 'QUIT', /^\+OK/);
  } finally {
    c.close();
  }
}

describe('reset the class', () => {
  let pb: PostbodeProcess;
  let base: string;
  let teacher: Api;

  const addUser = (address: string) => {
    const r = pb.cli(['user', 'add', address, '--password', PASSWORD]);
    assert.equal(r.code, 0, r.stderr);
  };
  const sessions = async () =>
    (await teacher.json<{ sessions: Summary[] }>('GET', '/api/sessions?limit=1000')).sessions;
  const users = async () =>
    (await teacher.json<{ users: { address: string }[] }>('GET', '/api/users')).users.map((u) => u.address).sort();
  /** Waits until every session is closed and written (the recorder writes in batches). */
  const settled = (n: number) =>
    eventually(`${n} closed sessions in the history`, async () => {
      const list = await sessions();
      return list.length >= n && list.every((s) => !s.active) ? list : undefined;
    });

  before(async () => {
    pb = await startPostbode({ listeners: ['smtp', 'pop3', 'http'] });
    for (const u of [S1, S2, OTHER]) addUser(u);
    assert.equal(pb.cli(['admin', 'add', 'teacher', '--password', TEACHER_PASSWORD]).code, 0);
    base = `http://127.0.0.1:${pb.ports.http}`;
    teacher = await Api.login(base, 'teacher', TEACHER_PASSWORD);
  });

  after(async () => {
    await pb?.stop();
    if (pb) removeDir(pb.dataDir);
  });

  it('over HTTP: the preview counts what goes; the reset deletes exactly the previewed accounts', async () => {
    // student02 mails student01 and alice on port 25 (named by MAIL FROM: theirs), both read by POP3.
    await sendOn25(pb.ports.smtp, S2, S1, 'for one');
    await sendOn25(pb.ports.smtp, S2, S1, 'for one again');
    await sendOn25(pb.ports.smtp, OTHER, OTHER, 'alice to herself');
    await popLogin(pb.ports.pop3, S1);
    await popLogin(pb.ports.pop3, OTHER);
    await settled(5);
    await eventually('smtp-ehlo ticked for student02', async () => {
      const p = await teacher.json<Progress>('GET', '/api/exercises/progress');
      return p.progress.some((e) => e.student === S2 && e.exercise === 'smtp-ehlo' && e.done) || undefined;
    });

    // A student may not reset anyone.
    const student = await Api.login(base, S1, PASSWORD);
    const refused = await student.req('POST', '/api/class-reset/preview', { accounts: '*' });
    assert.equal(refused.status, 403);

    const bad = await teacher.req('POST', '/api/class-reset/preview', { accounts: '  ' });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /pattern, e\.g\. student\*@class\.example/);

    const preview = await teacher.json<ClassResetView>('POST', '/api/class-reset/preview', {
      accounts: 'STUDENT*@class.example',
    });
    assert.deepEqual(
      preview.accounts.map((a) => [a.address, a.messages, a.sessions]),
      [
        [S1, 2, 1], // two messages; the POP3 login
        [S2, 0, 2], // the two port-25 sessions with MAIL FROM student02
      ],
    );
    assert.ok(preview.accounts[0].bytes > 0);
    assert.ok(preview.accounts[1].exercises >= 2, 'smtp-ehlo and smtp-telnet-send at least');
    assert.deepEqual(preview.totals, {
      accounts: 2,
      messages: 2,
      bytes: preview.accounts[0].bytes,
      sessions: 3,
      exercises: preview.accounts[0].exercises + preview.accounts[1].exercises,
    });
    assert.equal(preview.openSessions, 0);
    assert.deepEqual(await users(), [OTHER, S1, S2].sort(), 'a preview deletes nothing');

    // An account made after the preview matches the pattern, but was not shown: it stays.
    addUser('student03@class.example');
    const done = await teacher.json<ClassResetView>('POST', '/api/class-reset', {
      addresses: preview.accounts.map((a) => a.address),
    });
    assert.deepEqual(done.totals, preview.totals);
    assert.deepEqual(await users(), [OTHER, 'student03@class.example']);
    const left = await sessions();
    assert.equal(left.length, 2, JSON.stringify(left));
    assert.ok(left.every((s) => s.user === OTHER || s.mailFrom === OTHER));
    const progress = await teacher.json<Progress>('GET', '/api/exercises/progress');
    assert.ok(!progress.progress.some((e) => e.student === S1 || e.student === S2));
    // The admin is untouched; the deleted student's web session is over.
    await teacher.json('GET', '/api/me');
    assert.equal((await student.req('GET', '/api/me')).status, 401);

    // The same addresses again: nothing left to delete.
    const again = await teacher.json<ClassResetView>('POST', '/api/class-reset', { addresses: [S1, S2] });
    assert.equal(again.totals.accounts, 0);
    const empty = await teacher.req('POST', '/api/class-reset', { addresses: [] });
    assert.equal(empty.status, 400);
  });

  it('the web API says its errors in the language of the UI (Accept-Language, ?lang=), English by default', async () => {
    const ask = async (path: string, body: unknown, language?: string) => {
      const res = await fetch(base + path, {
        method: 'POST',
        headers: {
          cookie: teacher.cookie,
          'content-type': 'application/json',
          ...(language ? { 'accept-language': language } : {}),
        },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 400);
      return ((await res.json()) as { error: string }).error;
    };
    // A refused pattern for the class reset (class-reset.ts words it in English for the CLI too).
    const pattern = { accounts: '  ' };
    assert.match(await ask('/api/class-reset/preview', pattern), /^give the accounts to delete as a pattern/);
    assert.equal(
      await ask('/api/class-reset/preview', pattern, 'nl-BE,nl;q=0.9,en;q=0.5'),
      'geef de te verwijderen accounts op als patroon, bijv. student*@class.example (* voor allemaal)',
    );
    assert.equal(
      await ask('/api/class-reset/preview?lang=fr', pattern, 'nl'),
      'indiquez les comptes à supprimer sous forme de motif, p. ex. student*@class.example (* pour tous)',
    );
    // A confirmation without addresses.
    assert.equal(
      await ask('/api/class-reset', { addresses: [] }, 'fr'),
      'requête invalide : addresses: indiquez au moins une adresse (POST /api/class-reset/preview donne celles que choisit un motif)',
    );
    // A user with a bad address: the sentence, the address syntax's own words and the address as typed.
    const user = { address: 'jan de vries@class.example' };
    assert.equal(
      await ask('/api/users', user),
      'invalid request: address: "jan de vries@class.example" is not a valid address: the local part has characters that need quoting',
    );
    assert.equal(
      await ask('/api/users', user, 'nl'),
      'ongeldig verzoek: address: "jan de vries@class.example" is geen geldig adres: het lokale deel bevat tekens die tussen aanhalingstekens moeten staan',
    );
    assert.equal(
      await ask('/api/users', user, 'fr'),
      'requête invalide : address: "jan de vries@class.example" n’est pas une adresse valide : la partie locale contient des caractères qui doivent être mis entre guillemets',
    );
    // zod's own messages (a wrong type, a key the API does not know) follow too.
    const wrong = await ask('/api/lab-accounts', { domain: 'class.example', count: 2, colour: 'red' }, 'nl');
    assert.match(wrong, /^ongeldig verzoek: /);
    assert.ok(wrong.includes('colour') && !/Unrecognized key/i.test(wrong), wrong);
    assert.deepEqual(await users(), [OTHER, 'student03@class.example'], 'nothing was made or deleted');
  });

  it('on the CLI: counts first, refuses without a terminal, deletes with --yes', async () => {
    for (const u of ['lab01@class.example', 'lab02@class.example']) addUser(u);
    await sendOn25(pb.ports.smtp, OTHER, 'lab01@class.example', 'for lab01');
    await popLogin(pb.ports.pop3, 'lab02@class.example');
    await eventually('the lab02 session in the history', async () =>
      (await sessions()).find((s) => s.user === 'lab02@class.example' && !s.active),
    );

    const neither = pb.cli(['classroom', 'reset']);
    assert.equal(neither.code, 2);
    assert.match(neither.stderr, /--accounts "student\*@class\.example" \(a pattern\) or --all/);
    assert.equal(pb.cli(['classroom', 'reset', '--all', '--accounts', 'x*']).code, 2);

    const refused = pb.cli(['classroom', 'reset', '--accounts', 'lab*@class.example']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stdout, /lab01@class\.example: 1 message \(\d+(\.\d)? (B|kB)\), 0 sessions, 0 exercise ticks/);
    assert.match(refused.stdout, /lab02@class\.example: 0 messages \(0 B\), 1 session, /);
    assert.match(
      refused.stderr,
      /not deleting 2 accounts, 1 message \(.+\), 1 session of the lab history and \d+ exercise ticks? without confirmation: .*add --yes/,
    );
    assert.deepEqual(await users(), [OTHER, 'lab01@class.example', 'lab02@class.example', 'student03@class.example']);

    const none = pb.cli(['classroom', 'reset', '--accounts', 'nobody*', '--yes']);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /no mail account matches nobody\*: nothing to delete/);

    const yes = pb.cli(['classroom', 'reset', '--accounts', 'lab*@class.example', '--yes']);
    assert.equal(yes.code, 0, yes.stderr);
    assert.match(yes.stdout, /deleted 2 accounts, 1 message/);
    assert.deepEqual(await users(), [OTHER, 'student03@class.example']);
    assert.ok(!(await sessions()).some((s) => s.user === 'lab02@class.example'));

    // --all: every mail account; the admin can still log in.
    const all = pb.cli(['classroom', 'reset', '--all', '--yes']);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /deleted 2 accounts/);
    assert.deepEqual(await users(), []);
    await Api.login(base, 'teacher', TEACHER_PASSWORD);
  });
});
