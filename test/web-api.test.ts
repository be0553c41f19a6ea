/**
 * The web API against a real server process (http listener on an ephemeral port) with fetch():
 * login and roles, the CSRF guard, admin CRUD, lab accounts (CSV, sheet, POP3 login with a generated
 * password), Thunderbird autoconfig and Autodiscover XML.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { LineClient } from './harness/line-client.js';
import { popRetrieveAll } from './harness/pop3.js';
import { type PostbodeProcess, removeDir, startPostbode } from './harness/server.js';
import { TEST_STORE } from './harness/store.js';

/** A browser-like client: keeps the session cookie, sends JSON. */
class WebClient {
  cookie: string | null = null;
  constructor(readonly base: string) {}

  /**
   * Sends like the UI does: JSON bodies, and `X-Postbode: 1` on bodiless changes (DELETE, logout).
   * Explicit `headers` replace those defaults.
   */
  async req(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response> {
    const h: Record<string, string> = { ...(headers ?? (method === 'GET' ? {} : { 'x-postbode': '1' })) };
    if (this.cookie) h.cookie = this.cookie;
    if (body !== undefined && !('content-type' in h)) h['content-type'] = 'application/json';
    const res = await fetch(this.base + path, {
      method,
      headers: h,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const set = res.headers.get('set-cookie');
    if (set) {
      const pair = set.split(';')[0];
      this.cookie = pair.endsWith('=') ? null : pair;
    }
    return res;
  }

  async json<T = Record<string, unknown>>(method: string, path: string, body?: unknown, expect = 200): Promise<T> {
    const res = await this.req(method, path, body);
    const text = await res.text();
    assert.equal(res.status, expect, `${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  }

  async login(username: string, password: string): Promise<{ name: string; role: string }> {
    return this.json('POST', '/api/login', { username, password });
  }
}

/** A small strict XML reader for the tests: elements, attributes, text; throws on malformed input. */
interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

function parseXml(xml: string): XmlNode {
  const body = xml.replace(/^\s*<\?xml[^?]*\?>/, '');
  const root: XmlNode = { name: '#root', attrs: {}, children: [], text: '' };
  const stack: XmlNode[] = [root];
  const decode = (s: string) =>
    s.replace(/&(lt|gt|amp|quot|apos);/g, (_, e: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[e]!);
  const re = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*"[^"]*")*)\s*(\/?)>|([^<]+)|(<!--[\s\S]*?-->)/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < body.length) {
    re.lastIndex = pos;
    m = re.exec(body);
    if (!m) throw new Error(`malformed XML at ${pos}: ${body.slice(pos, pos + 40)}`);
    pos = re.lastIndex;
    const top = stack[stack.length - 1];
    if (m[5] !== undefined) {
      if (/&(?!(lt|gt|amp|quot|apos);)/.test(m[5])) throw new Error(`unescaped & in ${m[5]}`);
      top.text += decode(m[5]);
    } else if (m[6] !== undefined) {
      // comment
    } else if (m[1]) {
      if (top.name !== m[2]) throw new Error(`</${m[2]}> closes <${top.name}>`);
      stack.pop();
    } else {
      const attrs: Record<string, string> = {};
      for (const a of m[3].matchAll(/([\w.:-]+)\s*=\s*"([^"]*)"/g)) attrs[a[1]] = decode(a[2]);
      const node: XmlNode = { name: m[2], attrs, children: [], text: '' };
      top.children.push(node);
      if (!m[4]) stack.push(node);
    }
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1].name}>`);
  const elements = root.children;
  if (elements.length !== 1) throw new Error('expected one root element');
  return elements[0];
}

const kids = (n: XmlNode, name: string) => n.children.filter((c) => c.name === name);
const textOf = (n: XmlNode, name: string) => kids(n, name)[0]?.text.trim();

describe('web API', () => {
  let pb: PostbodeProcess;
  let base: string;

  before(async () => {
    pb = await startPostbode({
      listeners: ['smtp', 'submission', 'submissions', 'pop3', 'pop3s', 'imap', 'imaps', 'http'],
      // The default minimum password length, which the harness lowers for other suites.
      extraArgs: ['--set', 'auth.min_password_length=8'],
    });
    base = `http://127.0.0.1:${pb.ports.http}`;
    const r = pb.cli(['admin', 'add', 'teacher', '--password', 'teacher-pw']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /added admin teacher/);
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  it('the http listener is in the start-up log and serves / (the UI or how to build it)', async () => {
    assert.ok(pb.ports.http > 0);
    const res = await fetch(`${base}/`);
    assert.ok(res.status === 200 || res.status === 503, String(res.status));
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await res.text(), /postbode|npm run build/i);
  });

  it('answers unknown API paths with JSON 404, and 401 when not logged in', async () => {
    const c = new WebClient(base);
    const missing = await c.req('GET', '/api/no-such-thing');
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { error: string }).error, /no API endpoint GET \/api\/no-such-thing/);
    const me = await c.req('GET', '/api/me');
    assert.equal(me.status, 401);
    assert.match(((await me.json()) as { error: string }).error, /not logged in/);
    assert.equal((await c.req('GET', '/api/users')).status, 401);
  });

  it('refuses a wrong password with 401 and sets no cookie', async () => {
    const c = new WebClient(base);
    const res = await c.req('POST', '/api/login', { username: 'teacher', password: 'wrong' });
    assert.equal(res.status, 401);
    assert.match(((await res.json()) as { error: string }).error, /wrong name or password/);
    assert.equal(c.cookie, null);
    const unknown = await c.req('POST', '/api/login', { username: 'nobody@example.test', password: 'x' });
    assert.equal(unknown.status, 401);
  });

  it('logs an admin in with an HttpOnly SameSite=Strict cookie; /api/me; logout ends the session', async () => {
    const c = new WebClient(base);
    const res = await c.req('POST', '/api/login', { username: 'Teacher', password: 'teacher-pw' });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { name: 'teacher', role: 'admin' });
    const set = res.headers.get('set-cookie') ?? '';
    assert.match(set, /^pb_session=[A-Za-z0-9_-]{43};/);
    assert.match(set, /HttpOnly/);
    assert.match(set, /SameSite=Strict/);
    assert.deepEqual(await c.json('GET', '/api/me'), { name: 'teacher', role: 'admin' });
    const status = await c.json<{ product: string; listeners: { name: string }[]; store: { kind: string } }>(
      'GET',
      '/api/status',
    );
    assert.match(status.product, /^postbode /);
    assert.ok(status.listeners.some((l) => l.name === 'http'));
    assert.equal(status.store.kind, TEST_STORE);
    const saved = c.cookie;
    assert.equal((await c.req('POST', '/api/logout')).status, 204);
    c.cookie = saved;
    assert.equal((await c.req('GET', '/api/me')).status, 401, 'the old cookie no longer works');
  });

  it('CSRF guard: a change without JSON content type or X-Postbode header is refused with 403', async () => {
    const c = new WebClient(base);
    await c.login('teacher', 'teacher-pw');
    const form = await c.req('POST', '/api/domains', 'name=evil.test', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    assert.equal(form.status, 403);
    assert.match(((await form.json()) as { error: string }).error, /X-Postbode: 1/);
    const del = await c.req('DELETE', '/api/domains/example.test', undefined, {});
    assert.equal(del.status, 403);
    const domains = await c.json<{ domains: string[] }>('GET', '/api/domains');
    assert.ok(!domains.domains.includes('evil.test'));
    assert.ok(domains.domains.includes('example.test'));
    // The header alone is enough (e.g. curl -H 'X-Postbode: 1').
    const ok = await c.req('POST', '/api/domains', JSON.stringify({ name: 'header.test' }), {
      'content-type': 'text/plain',
      'x-postbode': '1',
    });
    assert.equal(ok.status, 201);
  });

  it('admin CRUD: domains, users, password reset, quota, aliases; clear 400/404/409 errors', async () => {
    const c = new WebClient(base);
    await c.login('teacher', 'teacher-pw');
    await c.json('POST', '/api/domains', { name: 'Lab.Test' }, 201);
    assert.ok((await c.json<{ domains: string[] }>('GET', '/api/domains')).domains.includes('lab.test'));
    await c.json('DELETE', '/api/domains/lab.test', undefined, 204);
    const gone = await c.json<{ error: string }>('DELETE', '/api/domains/lab.test', undefined, 404);
    assert.match(gone.error, /not a local domain/);
    // A domain whose accounts remain is kept unless ?force=1.
    await c.json('POST', '/api/users', { address: 'kid@class.test', password: 'kid-password-1' }, 201);
    const kept = await c.json<{ error: string }>('DELETE', '/api/domains/class.test', undefined, 409);
    assert.match(kept.error, /class\.test still has 1 account.*force=1/);
    await c.json('DELETE', '/api/domains/class.test?force=1', undefined, 204);
    await c.json('DELETE', '/api/users/kid@class.test', undefined, 204);
    const badDomain = await c.json<{ error: string }>('POST', '/api/domains', { name: 'no spaces' }, 400);
    assert.match(badDomain.error, /name: expected a domain name/);
    await c.json('POST', '/api/domains', { name: 'bad_domain!' }, 400);
    const short = await c.json<{ error: string }>(
      'POST',
      '/api/users',
      { address: 'a@example.test', password: 'abc' },
      400,
    );
    assert.match(short.error, /too short: at least 8 characters/);

    const created = await c.json<{ address: string; password: string }>(
      'POST',
      '/api/users',
      { address: 'Alice@Example.Test', password: 'alice-pw', quotaBytes: 1_000_000 },
      201,
    );
    assert.deepEqual(created, { address: 'alice@example.test', password: 'alice-pw' });
    const dup = await c.json<{ error: string }>('POST', '/api/users', { address: 'alice@example.test' }, 409);
    assert.match(dup.error, /already exists/);
    const bad = await c.json<{ error: string }>('POST', '/api/users', { address: 'not-an-address' }, 400);
    assert.match(bad.error, /address: "not-an-address" is not a valid address/);
    const generated = await c.json<{ address: string; password: string }>(
      'POST',
      '/api/users',
      { address: 'bob@other.test' },
      201,
    );
    assert.match(generated.password, /^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/);
    assert.ok((await c.json<{ domains: string[] }>('GET', '/api/domains')).domains.includes('other.test'));

    type User = { address: string; quotaBytes: number | null; usedBytes: number; disabled: boolean; createdAt: number };
    let users = (await c.json<{ users: User[] }>('GET', '/api/users')).users;
    const alice = users.find((u) => u.address === 'alice@example.test');
    assert.ok(alice);
    assert.equal(alice.quotaBytes, 1_000_000);
    assert.equal(alice.usedBytes, 0);
    assert.equal(alice.disabled, false);
    assert.ok(Math.abs(alice.createdAt - Date.now()) < 60_000);

    assert.deepEqual(await c.json('PUT', '/api/users/alice@example.test/quota', { quotaBytes: null }), {
      address: 'alice@example.test',
      quotaBytes: null,
    });
    users = (await c.json<{ users: User[] }>('GET', '/api/users')).users;
    assert.equal(users.find((u) => u.address === 'alice@example.test')?.quotaBytes, null);
    await c.json('PUT', '/api/users/alice@example.test/quota', { quotaBytes: -5 }, 400);
    const quotaText = await c.json<{ error: string }>(
      'PUT',
      '/api/users/alice@example.test/quota',
      { quotaBytes: '5G' },
      400,
    );
    assert.match(quotaText.error, /quotaBytes must be a number of bytes .*or null for no quota/);
    await c.json('PUT', '/api/users/ghost@example.test/quota', { quotaBytes: 5 }, 404);

    // Password reset: the new one works (web and POP3), the old one does not.
    await c.json('POST', '/api/users/alice@example.test/password', { password: 'short' }, 400);
    const reset = await c.json<{ password: string }>('POST', '/api/users/alice@example.test/password', {});
    assert.match(reset.password, /^[a-z2-9-]{14}$/);
    const u = new WebClient(base);
    assert.equal(
      (await u.req('POST', '/api/login', { username: 'alice@example.test', password: 'alice-pw' })).status,
      401,
    );
    assert.deepEqual(await u.login('alice@example.test', reset.password), { name: 'alice@example.test', role: 'user' });
    assert.deepEqual(await popRetrieveAll(pb.ports.pop3, 'alice@example.test', reset.password), []);

    await c.json('PUT', '/api/aliases/info@example.test', { targets: ['alice@example.test', 'bob@other.test'] });
    // The alias rules of the CLI (delivery/alias-rules.ts): a local alias, existing targets, no loop.
    const foreign = await c.json<{ error: string }>(
      'PUT',
      '/api/aliases/@catch.test',
      { targets: ['alice@example.test'] },
      400,
    );
    assert.match(foreign.error, /catch\.test is not a local domain.*POST \/api\/domains/);
    const ghost = await c.json<{ error: string }>(
      'PUT',
      '/api/aliases/x@example.test',
      { targets: ['ghost@example.test'] },
      400,
    );
    assert.match(ghost.error, /ghost@example\.test is neither an account nor an alias/);
    await c.json('PUT', '/api/aliases/x@example.test', { targets: ['x@example.test'] }, 400);
    await c.json('POST', '/api/domains', { name: 'catch.test' }, 201);
    await c.json('PUT', '/api/aliases/@catch.test', { targets: ['alice@example.test'] });
    const aliases = (await c.json<{ aliases: { alias: string; targets: string[] }[] }>('GET', '/api/aliases')).aliases;
    assert.deepEqual(aliases.find((a) => a.alias === 'info@example.test')?.targets, [
      'alice@example.test',
      'bob@other.test',
    ]);
    assert.ok(aliases.some((a) => a.alias === '@catch.test'));
    await c.json('PUT', '/api/aliases/x@example.test', { targets: [] }, 400);
    await c.json('DELETE', '/api/aliases/info@example.test', undefined, 204);
    await c.json('DELETE', '/api/aliases/info@example.test', undefined, 404);

    // Deleting a user ends its web session.
    await c.json('DELETE', '/api/users/alice@example.test', undefined, 204);
    assert.equal((await u.req('GET', '/api/me')).status, 401);
    await c.json('DELETE', '/api/users/alice@example.test', undefined, 404);
  });

  it('a mail user sees 403 on admin routes but may read server-info', async () => {
    const admin = new WebClient(base);
    await admin.login('teacher', 'teacher-pw');
    await admin.json('POST', '/api/users', { address: 'carol@example.test', password: 'carol-pw' }, 201);
    const c = new WebClient(base);
    assert.deepEqual(await c.login('carol@example.test', 'carol-pw'), { name: 'carol@example.test', role: 'user' });
    for (const [method, path] of [
      ['GET', '/api/users'],
      ['GET', '/api/status'],
      ['GET', '/api/domains'],
      ['GET', '/api/aliases'],
    ] as const) {
      const res = await c.req(method, path);
      assert.equal(res.status, 403, path);
      assert.match(((await res.json()) as { error: string }).error, /admin/);
    }
    assert.equal((await c.req('POST', '/api/users', { address: 'x@example.test' })).status, 403);
    assert.equal((await c.req('POST', '/api/lab-accounts', { domain: 'x.test', count: 1 })).status, 403);
    const info = await c.json<{ hostname: string; product: string; listeners: { name: string; port: number }[] }>(
      'GET',
      '/api/server-info',
    );
    assert.equal(info.hostname, 'mx.example.test');
    assert.equal(info.listeners.find((l) => l.name === 'pop3')?.port, pb.ports.pop3);
  });

  it('lab accounts: a batch with generated passwords, CSV, printable sheet; a student logs in by POP3', async () => {
    const c = new WebClient(base);
    await c.login('teacher', 'teacher-pw');
    const bad = await c.json<{ error: string }>('POST', '/api/lab-accounts', { domain: 'class.test', count: 501 }, 400);
    assert.match(bad.error, /count must be 1 to 500/);
    // A missing or mistyped field is named with what to send, not with the validator's own words.
    const noDomain = await c.json<{ error: string }>('POST', '/api/lab-accounts', { count: 2 }, 400);
    assert.match(noDomain.error, /domain: give a domain name as a string, e\.g\. "class\.example"/);
    const textCount = await c.json<{ error: string }>(
      'POST',
      '/api/lab-accounts',
      { domain: 'class.test', count: '2' },
      400,
    );
    assert.match(textCount.error, /count: give the number of accounts as a number/);
    assert.doesNotMatch(noDomain.error + textCount.error, /Invalid input/);
    const batch = await c.json<{ batch: string; accounts: { address: string; password: string }[] }>(
      'POST',
      '/api/lab-accounts',
      { domain: 'class.test', count: 3 },
      201,
    );
    assert.deepEqual(
      batch.accounts.map((a) => a.address),
      ['student01@class.test', 'student02@class.test', 'student03@class.test'],
    );
    for (const a of batch.accounts) assert.match(a.password, /^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/);
    assert.equal(new Set(batch.accounts.map((a) => a.password)).size, 3);

    // A second batch takes the next free numbers.
    const more = await c.json<{ accounts: { address: string }[] }>(
      'POST',
      '/api/lab-accounts',
      { domain: 'class.test', count: 1, prefix: 'Group' },
      201,
    );
    assert.deepEqual(
      more.accounts.map((a) => a.address),
      ['group01@class.test'],
    );
    const again = await c.json<{ accounts: { address: string }[] }>(
      'POST',
      '/api/lab-accounts',
      { domain: 'class.test', count: 1 },
      201,
    );
    assert.deepEqual(
      again.accounts.map((a) => a.address),
      ['student04@class.test'],
    );

    const csvRes = await c.req('GET', `/api/lab-accounts/${batch.batch}/accounts.csv`);
    assert.equal(csvRes.status, 200);
    assert.match(csvRes.headers.get('content-type') ?? '', /^text\/csv/);
    const lines = (await csvRes.text()).trimEnd().split('\r\n');
    assert.equal(lines.length, 4);
    const header = lines[0].split(',');
    assert.deepEqual(header.slice(0, 2), ['address', 'password']);
    for (const name of ['submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s', 'web'])
      assert.ok(header.includes(name), name);
    const row = lines[2].split(',');
    assert.equal(row[0], batch.accounts[1].address);
    assert.equal(row[1], batch.accounts[1].password);
    assert.equal(row[header.indexOf('pop3')], `mx.example.test:${pb.ports.pop3}`);
    assert.equal(row[header.indexOf('submission')], `mx.example.test:${pb.ports.submission}`);

    const sheetRes = await c.req('GET', `/api/lab-accounts/${batch.batch}/sheet.html`);
    assert.equal(sheetRes.status, 200);
    const sheet = await sheetRes.text();
    assert.equal(sheet.match(/<section class="card">/g)?.length, 3);
    for (const a of batch.accounts) {
      assert.ok(sheet.includes(a.address));
      assert.ok(sheet.includes(a.password));
    }
    assert.ok(sheet.includes(`<td>IMAP</td><td>${pb.ports.imaps}</td><td>SSL/TLS</td>`));
    assert.ok(sheet.includes(`<td>SMTP (sending)</td><td>${pb.ports.submission}</td><td>STARTTLS</td>`));
    assert.match(sheet, /@media print/);
    assert.ok(sheet.includes(base));
    // Every port (25 for the telnet exercises), the server's name and the certificate note.
    assert.ok(sheet.includes(`<td>${pb.ports.smtp}</td><td>none, STARTTLS offered</td>`), 'port 25 row');
    assert.ok(sheet.includes('<dt>Server</dt><dd><code>mx.example.test</code></dd>'));
    const pem = readFileSync(path.join(pb.dataDir, 'tls', 'cert.pem'), 'utf8');
    const fingerprint = new X509Certificate(pem).fingerprint256;
    assert.ok(
      sheet.includes(`self-signed`) && sheet.includes(fingerprint),
      'the self-signed note with its fingerprint',
    );
    // The sheet in the language the UI's switch asks for (?lang=), else the browser's.
    const nl = await (await c.req('GET', `/api/lab-accounts/${batch.batch}/sheet.html?lang=nl`)).text();
    assert.ok(nl.includes('<html lang="nl">'));
    assert.ok(nl.includes('<dt>Mailadres en gebruikersnaam</dt>'));
    assert.ok(nl.includes(`<td>SMTP (verzenden)</td><td>${pb.ports.submission}</td><td>STARTTLS</td>`));
    assert.ok(nl.includes('zelfondertekend') && nl.includes(fingerprint));
    const fr = await (
      await c.req('GET', `/api/lab-accounts/${batch.batch}/sheet.html`, undefined, {
        'accept-language': 'fr-BE,fr;q=0.9',
      })
    ).text();
    assert.ok(fr.includes('<td>aucune, STARTTLS proposé</td>'), 'French from Accept-Language');

    assert.equal((await c.req('GET', '/api/lab-accounts/nope/accounts.csv')).status, 404);

    const student = batch.accounts[1];
    assert.deepEqual(await popRetrieveAll(pb.ports.pop3, student.address, student.password), []);
    await assert.rejects(popRetrieveAll(pb.ports.pop3, student.address, 'wrong-pass'), /-ERR/);
  });

  it('the Mail page API gives the text of a message: plain text decoded, HTML as text with no markup', async () => {
    const user = 'reader@example.test';
    assert.equal(pb.cli(['user', 'add', user, '--password', 'reader-pw']).code, 0);
    const html =
      '<html><head><script>alert("x")</script></head><body><p>Hallo <b>klas</b></p><img src="https://evil.example/t.png"></body></html>';
    const message = [
      'From: teacher@example.test',
      `To: ${user}`,
      'Subject: text please',
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="alt"',
      '',
      '--alt',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Dag klas, =C3=A7a va?',
      '--alt',
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from(html).toString('base64'),
      '--alt--',
      '',
    ].join('\r\n');
    const smtp = await LineClient.connect(pb.ports.smtp);
    try {
      assert.match(await smtp.reply(), /^220/);
      assert.match(await smtp.cmd('EHLO tester'), /^250/);
      assert.match(await smtp.cmd('MAIL FROM:<teacher@example.test>'), /^250/);
      assert.match(await smtp.cmd(`RCPT TO:<${user}>`), /^250/);
      assert.match(await smtp.cmd('DATA'), /^354/);
      smtp.write(`${message}.\r\n`);
      assert.match(await smtp.reply(), /^250/);
    } finally {
      smtp.close();
    }
    const c = new WebClient(base);
    await c.login(user, 'reader-pw');
    const { mailboxes } = await c.json<{ mailboxes: { id: number; name: string }[] }>('GET', '/api/mail/me/mailboxes');
    const inbox = mailboxes.find((m) => m.name === 'INBOX');
    assert.ok(inbox);
    const list = await c.json<{ messages: { uid: number }[] }>('GET', `/api/mail/me/mailboxes/${inbox.id}/messages`);
    const uid = list.messages[0].uid;
    const text = await c.json<{ parts: { part: string; type: string; text: string }[] }>(
      'GET',
      `/api/mail/me/mailboxes/${inbox.id}/messages/${uid}/text`,
    );
    assert.deepEqual(
      text.parts.map((p) => [p.part, p.type]),
      [
        ['1', 'text/plain'],
        ['2', 'text/html'],
      ],
    );
    assert.equal(text.parts[0].text, 'Dag klas, ça va?');
    assert.equal(text.parts[1].text, 'Hallo klas');
    assert.ok(!JSON.stringify(text).includes('script') && !JSON.stringify(text).includes('evil.example'));
    // Another user may not read it.
    const admin = new WebClient(base);
    await admin.login('teacher', 'teacher-pw');
    await admin.json('GET', `/api/mail/${user}/mailboxes/${inbox.id}/messages/${uid}/text`);
    await c.json('GET', `/api/mail/teacher@example.test/mailboxes/${inbox.id}/messages/${uid}/text`, undefined, 403);
  });

  it('Thunderbird autoconfig lists the listeners that are on, by hostname, with %EMAILADDRESS%', async () => {
    for (const path of [
      '/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=dave%40example.test',
      '/mail/config-v1.1.xml',
    ]) {
      const res = await fetch(base + path);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /xml/);
      const doc = parseXml(await res.text());
      assert.equal(doc.name, 'clientConfig');
      assert.equal(doc.attrs.version, '1.1');
      const provider = kids(doc, 'emailProvider')[0];
      assert.equal(provider.attrs.id, 'example.test');
      assert.ok(kids(provider, 'domain').some((d) => d.text === 'example.test'));
      const servers = [...kids(provider, 'incomingServer'), ...kids(provider, 'outgoingServer')].map((s) => ({
        type: s.attrs.type,
        hostname: textOf(s, 'hostname'),
        port: Number(textOf(s, 'port')),
        socketType: textOf(s, 'socketType'),
        username: textOf(s, 'username'),
        authentication: textOf(s, 'authentication'),
      }));
      const expect = (type: string, port: number, socketType: string) => ({
        type,
        hostname: 'mx.example.test',
        port,
        socketType,
        username: '%EMAILADDRESS%',
        authentication: 'password-cleartext',
      });
      assert.deepEqual(servers, [
        expect('imap', pb.ports.imaps, 'SSL'),
        expect('imap', pb.ports.imap, 'STARTTLS'),
        expect('pop3', pb.ports.pop3s, 'SSL'),
        expect('pop3', pb.ports.pop3, 'STARTTLS'),
        expect('smtp', pb.ports.submissions, 'SSL'),
        expect('smtp', pb.ports.submission, 'STARTTLS'),
      ]);
    }
  });

  it('Microsoft Autodiscover (POX) answers IMAP, POP3 and SMTP for the address asked, in any path spelling', async () => {
    const request = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>erin@example.test</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`;
    for (const path of ['/autodiscover/autodiscover.xml', '/Autodiscover/Autodiscover.xml']) {
      const res = await fetch(base + path, { method: 'POST', body: request, headers: { 'content-type': 'text/xml' } });
      assert.equal(res.status, 200, path);
      const doc = parseXml(await res.text());
      assert.equal(doc.name, 'Autodiscover');
      assert.equal(doc.attrs.xmlns, 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006');
      const response = kids(doc, 'Response')[0];
      assert.equal(
        response.attrs.xmlns,
        'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a',
      );
      const account = kids(response, 'Account')[0];
      assert.equal(textOf(account, 'AccountType'), 'email');
      assert.equal(textOf(account, 'Action'), 'settings');
      const protocols = kids(account, 'Protocol').map((p) => ({
        type: textOf(p, 'Type'),
        server: textOf(p, 'Server'),
        port: Number(textOf(p, 'Port')),
        login: textOf(p, 'LoginName'),
        ssl: textOf(p, 'SSL'),
      }));
      assert.deepEqual(protocols, [
        { type: 'IMAP', server: 'mx.example.test', port: pb.ports.imaps, login: 'erin@example.test', ssl: 'on' },
        { type: 'POP3', server: 'mx.example.test', port: pb.ports.pop3s, login: 'erin@example.test', ssl: 'on' },
        { type: 'SMTP', server: 'mx.example.test', port: pb.ports.submissions, login: 'erin@example.test', ssl: 'on' },
      ]);
    }
    const res = await fetch(`${base}/autodiscover/autodiscover.xml`, { method: 'POST', body: '<nothing/>' });
    const error = parseXml(await res.text());
    assert.equal(textOf(kids(kids(error, 'Response')[0], 'Error')[0], 'ErrorCode'), '600');
  });

  it('refuses parallel failed logins from one address beyond a short line with 429, unchecked', async () => {
    const c = new WebClient(base);
    // The login limits shared with the mail protocols (docs/security.md): parallel attempts wait
    // in a short line behind the address's penalty; the rest get 429 without a password check.
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        c.req('POST', '/api/login', { username: 'teacher', password: `guess-${i}` }),
      ),
    );
    assert.ok(
      results.every((r) => r.status === 401 || r.status === 429),
      results.map((r) => r.status).join(' '),
    );
    const checked = results.filter((r) => r.status === 401).length;
    assert.ok(checked <= 8, `checked ${checked} of 20`);
    const limited = results.find((r) => r.status === 429);
    assert.ok(limited, 'no 429 among 20 parallel failures');
    assert.match(((await limited.json()) as { error: string }).error, /Too many login attempts from your address/);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
  });
});

describe('web API over HTTPS (web.https = true)', () => {
  let pb: PostbodeProcess;
  before(async () => {
    pb = await startPostbode({ listeners: ['pop3', 'http'], extraArgs: ['--set', 'web.https=true'] });
    assert.equal(pb.cli(['admin', 'add', 'teacher', '--password', 'teacher-pw']).code, 0);
  });
  after(async () => {
    await pb.stop();
    removeDir(pb.dataDir);
  });

  it('serves the API with the mail certificate and marks the login cookie Secure', async () => {
    const ca = readFileSync(path.join(pb.dataDir, 'tls/cert.pem'), 'utf8');
    const body = JSON.stringify({ username: 'teacher', password: 'teacher-pw' });
    const res = await new Promise<{ status: number; cookie: string; text: string; peer: string }>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          servername: 'localhost',
          port: pb.ports.http,
          path: '/api/login',
          method: 'POST',
          ca,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (r) => {
          const peer = String((r.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '');
          let text = '';
          r.on('data', (d: Buffer) => {
            text += d.toString();
          });
          r.on('end', () =>
            resolve({ status: r.statusCode ?? 0, cookie: String(r.headers['set-cookie'] ?? ''), text, peer }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.peer, 'mx.example.test');
    assert.match(res.cookie, /pb_session=.*Secure/);
    // Plain HTTP on the same port gets no API answer.
    await assert.rejects(fetch(`http://127.0.0.1:${pb.ports.http}/api/me`));
  });
});
