/**
 * The Sieve API of the web UI against a real server process (docs/web-api.md "Sieve"): the vacation
 * form makes a script that compiles and is active, the filter rules round-trip through the script, a
 * raw script with an error is refused with its line and column, a hand edit turns the form off, the
 * ManageSieve limits hold, a user can neither read nor change another user's scripts, and the form's
 * rules work at delivery: mail arriving by SMTP is filed and answered once.
 */

/** Polls until `fn` gives a value (delivery and its replies finish after the SMTP answer), within `ms`. */
async function eventually<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 8000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A local date `days` from today as yyyy-mm-dd. */
function localDate(days: number): string {
  const d = new Date(Date.now() + days * 86_400_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

interface Mailbox {
  id: number;
  name: string;
  messages: number;
}
interface MessageRow {
  uid: number;
  from: string | null;
  subject: string | null;
}

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { smtpSend } from './harness/imap-client.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';
import { Api } from './harness/web-api-client.js';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';

interface Overview {
  account: string;
  scripts: { name: string; active: boolean; size: number; updatedAt: number }[];
  active: string | null;
  formScript: string;
  limits: { maxScriptBytes: number; maxScripts: number };
  extensions: string[];
}
interface RulesResponse {
  form: 'on' | 'off';
  rules: { filters: Record<string, unknown>[]; vacation: Record<string, unknown> | null } | null;
  active: boolean;
  source: string | null;
  note: string | null;
}

const VACATION = {
  enabled: true,
  start: '2026-12-20',
  end: '2027-01-05',
  subject: 'Away',
  text: 'I am away until 5 January.\nUrgent? Call the desk.',
  days: 1,
};

const FILTERS = [
  {
    field: 'header',
    header: 'List-Id',
    match: 'contains',
    value: 'lab.example.test',
    fileinto: 'Lists/Lab',
    flag: false,
    markRead: true,
    discard: false,
    stop: true,
  },
  {
    field: 'from',
    header: null,
    match: 'is',
    value: 'boss@example.test',
    fileinto: null,
    flag: true,
    markRead: false,
    discard: false,
    stop: false,
  },
  {
    field: 'subject',
    header: null,
    match: 'contains',
    value: 'casino "jackpot" \\o/',
    fileinto: null,
    flag: false,
    markRead: false,
    discard: true,
    stop: false,
  },
];

describe('web API: Sieve', () => {
  let pb: PostbodeProcess;
  let base: string;
  let alice: Api;
  let bob: Api;
  let admin: Api;

  before(async () => {
    pb = await startPostbode({ listeners: ['smtp', 'http'] });
    base = `http://127.0.0.1:${pb.ports.http}`;
    for (const [who, pw] of [
      [ALICE, 'alice-pw'],
      [BOB, 'bob-pw'],
    ]) {
      const r = pb.cli(['user', 'add', who, '--password', pw]);
      assert.equal(r.code, 0, r.stderr);
    }
    const r = pb.cli(['admin', 'add', 'teacher', '--password', 'teacher-pw']);
    assert.equal(r.code, 0, r.stderr);
    alice = await Api.login(base, ALICE, 'alice-pw');
    bob = await Api.login(base, BOB, 'bob-pw');
    admin = await Api.login(base, 'teacher', 'teacher-pw');
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  it('starts with no script and the form on', async () => {
    const o = await alice.json<Overview>('GET', '/api/sieve/me');
    assert.equal(o.account, ALICE);
    assert.deepEqual(o.scripts, []);
    assert.equal(o.active, null);
    assert.equal(o.formScript, 'postbode');
    assert.ok(o.limits.maxScriptBytes > 0 && o.limits.maxScripts > 0);
    assert.ok(o.extensions.includes('vacation') && o.extensions.includes('fileinto'), o.extensions.join(' '));
    const r = await alice.json<RulesResponse>('GET', '/api/sieve/me/rules');
    assert.equal(r.form, 'on');
    assert.deepEqual(r.rules, { filters: [], vacation: null });
    assert.equal(r.source, null);
  });

  it('the vacation form makes a script that compiles, is active and uses currentdate and :days 1', async () => {
    const saved = await alice.json<{ source: string; active: boolean }>('PUT', '/api/sieve/me/rules', {
      rules: { filters: [], vacation: VACATION },
    });
    assert.equal(saved.active, true);
    assert.match(saved.source, /require \["date", "relational", "vacation"\];/);
    assert.match(saved.source, /currentdate :value "ge" "date" "2026-12-20"/);
    assert.match(saved.source, /currentdate :value "le" "date" "2027-01-05"/);
    assert.match(
      saved.source,
      /vacation :days 1 :subject "Away" "I am away until 5 January\.\nUrgent\? Call the desk\.";/,
    );
    const o = await alice.json<Overview>('GET', '/api/sieve/me');
    assert.equal(o.active, 'postbode');
    assert.deepEqual(
      o.scripts.map((s) => [s.name, s.active]),
      [['postbode', true]],
    );
    // What the server stored compiles: its own check says so.
    const check = await alice.json<{ ok: boolean; errors: unknown[] }>('POST', '/api/sieve/me/check', {
      source: saved.source,
    });
    assert.deepEqual(check, { ok: true, errors: [] });
  });

  it('filter rules round-trip through the stored script, in order', async () => {
    const rules = { filters: FILTERS, vacation: VACATION };
    const saved = await alice.json<{ source: string }>('PUT', '/api/sieve/me/rules', { rules });
    const back = await alice.json<RulesResponse>('GET', '/api/sieve/me/rules');
    assert.equal(back.form, 'on');
    assert.equal(back.active, true);
    assert.equal(back.source, saved.source);
    assert.deepEqual(back.rules, rules);
    const script = await alice.json<{ source: string; form: string; active: boolean }>(
      'GET',
      '/api/sieve/me/scripts/postbode',
    );
    assert.equal(script.form, 'form');
    assert.equal(script.source, saved.source);
    // The preview is what saving would store.
    const preview = await alice.json<{ source: string }>('POST', '/api/sieve/me/rules/preview', { rules });
    assert.equal(preview.source, saved.source);
  });

  it('refuses nonsense in the form, naming the field', async () => {
    const res = await alice.req('PUT', '/api/sieve/me/rules', {
      rules: { filters: [{ field: 'header', value: 'x', stop: true }] },
    });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /filters\.0\.header: name the header/);
    const bad = await alice.req('PUT', '/api/sieve/me/rules', {
      rules: { vacation: { ...VACATION, start: '2027-02-01', end: '2027-01-01' } },
    });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /before the start/);
  });

  it('a raw script with an error is refused with its line and column, and not stored', async () => {
    const source = 'require "fileinto";\n\nif header :contains "subject" "x" {\n  fileinto "A"\n}\n';
    const res = await alice.req('PUT', '/api/sieve/me/scripts/broken', { source });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: string; errors: { line: number; column: number; message: string }[] };
    assert.ok(body.errors.length >= 1, JSON.stringify(body));
    const first = body.errors[0];
    assert.ok(first.line >= 4 && first.line <= 5, JSON.stringify(first));
    assert.ok(first.column >= 1);
    assert.match(body.error, new RegExp(`line ${first.line}, column ${first.column}`));
    const check = await alice.json<{ ok: boolean; errors: { line: number }[] }>('POST', '/api/sieve/me/check', {
      source,
    });
    assert.equal(check.ok, false);
    assert.equal(check.errors[0].line, first.line);
    assert.equal((await alice.req('GET', '/api/sieve/me/scripts/broken')).status, 404);
  });

  it('a hand edit turns the form off; saving the form then needs overwrite', async () => {
    const current = await alice.json<{ source: string }>('GET', '/api/sieve/me/scripts/postbode');
    const edited = current.source.replace('"Lists/Lab"', '"Lists/Lab2"');
    await alice.json('PUT', '/api/sieve/me/scripts/postbode', { source: edited });
    const rules = await alice.json<RulesResponse>('GET', '/api/sieve/me/rules');
    assert.equal(rules.form, 'off');
    assert.match(rules.note ?? '', /edited by hand/);
    assert.equal(rules.source, edited);
    assert.equal(rules.rules?.filters.length, 3, 'the rules the form last wrote are still shown');
    const refused = await alice.req('PUT', '/api/sieve/me/rules', { rules: { filters: FILTERS } });
    assert.equal(refused.status, 409);
    assert.match(((await refused.json()) as { error: string }).error, /overwrite/);
    assert.equal((await alice.json<{ source: string }>('GET', '/api/sieve/me/scripts/postbode')).source, edited);
    await alice.json('PUT', '/api/sieve/me/rules', { rules: { filters: FILTERS }, overwrite: true });
    assert.equal((await alice.json<RulesResponse>('GET', '/api/sieve/me/rules')).form, 'on');
  });

  it('manages raw scripts: store, activate, rename, refuse deleting the active one, deactivate, delete', async () => {
    const source = 'require ["fileinto"];\nif exists "list-id" { fileinto "Lists"; }\n';
    const stored = await alice.json<{ name: string; active: boolean; size: number }>(
      'PUT',
      `/api/sieve/me/scripts/${encodeURIComponent('my rules')}`,
      { source, activate: true },
    );
    assert.deepEqual([stored.name, stored.active, stored.size], ['my rules', true, Buffer.byteLength(source)]);
    const rules = await alice.json<RulesResponse>('GET', '/api/sieve/me/rules');
    assert.match(rules.note ?? '', /active script is "my rules"/);
    assert.equal((await alice.req('DELETE', '/api/sieve/me/scripts/my%20rules')).status, 409);
    await alice.json('POST', '/api/sieve/me/scripts/my%20rules/rename', { to: 'lists' }, 204);
    const renamed = await alice.req('POST', '/api/sieve/me/scripts/lists/rename', { to: 'postbode' });
    assert.equal(renamed.status, 409);
    assert.equal((await alice.json<Overview>('GET', '/api/sieve/me')).active, 'lists');
    await alice.json('PUT', '/api/sieve/me/active', { name: null }, 204);
    assert.equal((await alice.json<Overview>('GET', '/api/sieve/me')).active, null);
    assert.equal((await alice.req('PUT', '/api/sieve/me/active', { name: 'nope' })).status, 404);
    await alice.json('DELETE', '/api/sieve/me/scripts/lists', undefined, 204);
    assert.equal((await alice.req('DELETE', '/api/sieve/me/scripts/lists')).status, 404);
    const badName = await alice.req('PUT', '/api/sieve/me/scripts/a%0Ab', { source: 'keep;' });
    assert.equal(badName.status, 400);
    assert.match(((await badName.json()) as { error: string }).error, /control characters/);
  });

  it('holds the ManageSieve limits: script size (413) and number of scripts (409)', async () => {
    const o = await bob.json<Overview>('GET', '/api/sieve/me');
    const big = `# ${'x'.repeat(o.limits.maxScriptBytes)}\nkeep;\n`;
    const res = await bob.req('PUT', '/api/sieve/me/scripts/big', { source: big });
    assert.equal(res.status, 413);
    assert.match(((await res.json()) as { error: string }).error, /sieve\.max_script_bytes/);
    for (let i = 0; i < o.limits.maxScripts; i++) {
      await bob.json('PUT', `/api/sieve/me/scripts/s${i}`, { source: 'keep;\n' });
    }
    const more = await bob.req('PUT', '/api/sieve/me/scripts/one-more', { source: 'keep;\n' });
    assert.equal(more.status, 409);
    assert.match(((await more.json()) as { error: string }).error, /sieve\.max_scripts/);
    // Replacing an existing script is not one more.
    await bob.json('PUT', '/api/sieve/me/scripts/s0', { source: 'discard;\n' });
    for (let i = 0; i < o.limits.maxScripts; i++) {
      await bob.json('DELETE', `/api/sieve/me/scripts/s${i}`, undefined, 204);
    }
  });

  it('a user can neither read nor change another user’s scripts; an admin can', async () => {
    const path = `/api/sieve/${encodeURIComponent(ALICE)}`;
    for (const [method, p, body] of [
      ['GET', path, undefined],
      ['GET', `${path}/rules`, undefined],
      ['GET', `${path}/scripts/postbode`, undefined],
      ['PUT', `${path}/scripts/evil`, { source: 'discard;' }],
      ['PUT', `${path}/rules`, { rules: { filters: [], vacation: null }, overwrite: true }],
      ['PUT', `${path}/active`, { name: null }],
      ['DELETE', `${path}/scripts/postbode`, undefined],
      ['POST', `${path}/scripts/postbode/rename`, { to: 'x' }],
    ] as const) {
      const res = await bob.req(method, p, body);
      assert.equal(res.status, 403, `${method} ${p}`);
      assert.match(((await res.json()) as { error: string }).error, /only see your own/);
    }
    assert.equal((await alice.json<Overview>('GET', '/api/sieve/me')).active, null);
    assert.ok((await alice.json<Overview>('GET', '/api/sieve/me')).scripts.some((s) => s.name === 'postbode'));

    const seen = await admin.json<Overview>('GET', path);
    assert.equal(seen.account, ALICE);
    assert.equal((await admin.req('GET', '/api/sieve/me')).status, 400);
    assert.equal((await admin.req('GET', '/api/sieve/nobody%40example.test')).status, 404);
    const anonymous = await new Api(base).req('GET', '/api/sieve/me');
    assert.equal(anonymous.status, 401);
  });

  it('at delivery: the form’s filter files a message, its vacation reply answers the sender once', async () => {
    await alice.json('PUT', '/api/sieve/me/rules', {
      rules: {
        filters: [{ field: 'subject', value: 'lab', fileinto: 'Lab', markRead: true }],
        vacation: { start: localDate(-1), end: localDate(1), subject: 'Away', text: 'Back soon.' },
      },
      overwrite: true,
    });
    const mail = (subject: string, id: string) =>
      `From: <${BOB}>\r\nTo: <${ALICE}>\r\nSubject: ${subject}\r\nMessage-ID: <${id}@example.test>\r\n\r\nhello\r\n`;
    await smtpSend(pb.ports.smtp, BOB, [ALICE], mail('lab report', 'm1'));
    await smtpSend(pb.ports.smtp, BOB, [ALICE], mail('lunch?', 'm2'));

    const boxes = async (who: Api) =>
      (await who.json<{ mailboxes: Mailbox[] }>('GET', '/api/mail/me/mailboxes')).mailboxes;
    const messages = async (who: Api, box: Mailbox) =>
      (
        await who.json<{ messages: (MessageRow & { flags: string[] })[] }>(
          'GET',
          `/api/mail/me/mailboxes/${box.id}/messages`,
        )
      ).messages;
    const lab = await eventually('the Lab folder', async () => (await boxes(alice)).find((b) => b.name === 'Lab'));
    const filed = await messages(alice, lab);
    assert.deepEqual(
      filed.map((m) => [m.subject, m.flags.includes('\\Seen')]),
      [['lab report', true]],
    );
    const inbox = (await boxes(alice)).find((b) => b.name === 'INBOX');
    assert.ok(inbox);
    assert.deepEqual(
      (await messages(alice, inbox)).map((m) => m.subject),
      ['lunch?'],
    );

    // Both messages are due a reply, but RFC 5230 answers a sender once per period (:days 1).
    const bobInbox = (await boxes(bob)).find((b) => b.name === 'INBOX');
    assert.ok(bobInbox);
    const replies = await eventually('the vacation reply', async () => {
      const rows = await messages(bob, bobInbox);
      return rows.length > 0 ? rows : null;
    });
    assert.deepEqual(
      replies.map((m) => m.subject),
      ['Away'],
    );
  });
});
