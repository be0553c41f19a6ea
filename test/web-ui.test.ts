/**
 * The web UI in a real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
 * against a real server: an admin logs in, creates a user on the Users page, mail is submitted over a
 * real SMTP socket (STARTTLS + AUTH) and the session appears live in the list, with annotated replies
 * in the session view; the message opens in the mail browser; the exported pcap decodes as SMTP in
 * tshark; two IMAP sessions side by side; lab accounts and resetting the class; the class overview ticking live and a
 * student's checklist in Dutch.
 *
 * With POSTBODE_SCREENSHOTS=1 it also saves screenshots of the main views into docs/img/ (1280×800).
 * Skipped with a message when Chromium is not installed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { LineClient } from './harness/line-client.js';
import { type PostbodeProcess, ROOT, removeDir, startPostbode } from './harness/server.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = process.env.POSTBODE_SCREENSHOTS === '1' ? path.join(ROOT, 'docs/img') : null;
const ADMIN_PASSWORD = 'teach-me-42';
const ALICE = 'alice@example.test';
const ALICE_PASSWORD = 'alice-pw-7';

function hasTshark(): boolean {
  return spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** The few browser globals the page-side functions use (the test's tsconfig has no DOM types). */
interface Browser {
  getComputedStyle(e: unknown): { fontSize: string };
  document: { documentElement: { scrollWidth: number; clientWidth: number } };
}

/** A locator's text (Playwright's textContent; lint takes innerText for the DOM property). */
async function text(l: Locator): Promise<string> {
  return (await l.textContent()) ?? '';
}

/**
 * Fills the "reset the class" card's pattern once the card shows its default (student*@ the first
 * domain): the domain list loads after the card appears, and a fill before it lands would have its
 * text joined to the default instead of replacing it.
 */
async function fillResetPattern(page: Page, reset: Locator, pattern: string): Promise<void> {
  // Polled through the locator, not page.waitForFunction: a predicate that is false at first is polled
  // by code Playwright evals in the page, which the lab's Content-Security-Policy forbids.
  const input = reset.locator('input[name=accounts]');
  const deadline = Date.now() + 20_000;
  while (!(await input.inputValue()).startsWith('student*@')) {
    if (Date.now() > deadline) throw new Error('the reset card never showed its default pattern');
    await page.waitForTimeout(25);
  }
  await input.fill(pattern);
}

async function shot(page: Page, name: string): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

async function sendMail(port: number, subject: string, to = ALICE, html?: string): Promise<void> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    requireTLS: true,
    name: 'laptop.example.test',
    auth: { user: ALICE, pass: ALICE_PASSWORD },
    tls: { rejectUnauthorized: false },
  });
  try {
    await transport.sendMail({
      from: ALICE,
      to,
      subject,
      text: 'Hello from the web UI test.\n',
      ...(html ? { html } : {}),
      attachments: [{ filename: 'notes.txt', content: 'an attachment\n' }],
    });
  } finally {
    transport.close();
  }
}

describe('web UI in headless Chromium', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed` }, () => {
  let pb: PostbodeProcess;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  const profile = mkdtempSync(path.join(tmpdir(), 'postbode-chromium-'));
  const downloads = mkdtempSync(path.join(tmpdir(), 'postbode-downloads-'));
  const cspViolations: string[] = [];

  before(async () => {
    pb = await startPostbode({ listeners: ['smtp', 'submission', 'imap', 'pop3', 'http'] });
    base = `http://127.0.0.1:${pb.ports.http}`;
    const r = pb.cli(['admin', 'add', 'teacher', '--password', ADMIN_PASSWORD]);
    assert.equal(r.code, 0, r.stderr);
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 800 },
      acceptDownloads: true,
      downloadsPath: downloads,
    });
    // A bound on each wait, not a speed claim: generous, as a loaded 2-core CI machine renders slowly.
    context.setDefaultTimeout(20_000);
    // Every page runs under the server's Content-Security-Policy; a violation is a bug.
    context.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
    });
    page = context.pages()[0] ?? (await context.newPage());
  });

  after(async () => {
    await context?.close();
    await pb?.stop();
    if (pb) removeDir(pb.dataDir);
    removeDir(profile);
    removeDir(downloads);
  });

  it('refuses a wrong password with a readable message, then logs the admin in', async () => {
    await page.goto(`${base}/`);
    await page.getByLabel('Admin name or mail address').fill('teacher');
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Log in' }).click();
    const error = page.getByRole('alert');
    await error.waitFor();
    assert.match(await text(error), /\w{6,}/);
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('teacher (admin)').waitFor();
  });

  it('creates a user on the Users page and shows the API error for a duplicate', async () => {
    await page.goto(`${base}/#/admin/users`);
    const form = page.getByRole('form', { name: 'Create a user' });
    await form.getByLabel('Address').fill(ALICE);
    await form.getByLabel('Password').fill(ALICE_PASSWORD);
    await form.getByRole('button', { name: 'Create user' }).click();
    await page.locator(`tr[data-user="${ALICE}"]`).waitFor();
    await form.getByLabel('Address').fill(ALICE);
    await form.getByLabel('Password').fill(ALICE_PASSWORD);
    await form.getByRole('button', { name: 'Create user' }).click();
    const error = page.getByRole('alert');
    await error.waitFor();
    assert.match(await text(error), /alice@example\.test|exists/i);
    await shot(page, 'admin-users');
  });

  let smtpSession = '';
  it('shows an SMTP session live in the list, then annotated in the session view', async () => {
    await page.goto(`${base}/#/sessions`);
    await page.getByText('● live').waitFor();
    await sendMail(
      pb.ports.submission,
      'Seen in the lab',
      ALICE,
      '<p>Hello in <b>HTML</b></p><script>document.title = "pwned"</script><img src="http://127.0.0.1:9/x.png">',
    );
    // No reload: the row must come from the live stream.
    const row = page.locator('tr[data-session]', { has: page.locator('a.proto.smtp') }).first();
    await row.waitFor();
    assert.match(await text(row), /alice@example\.test/);
    assert.match(await text(row), /yes/); // TLS after STARTTLS
    smtpSession = (await row.getAttribute('data-session')) ?? '';
    assert.ok(smtpSession);
    // The listener by name, not only its port; a closed session says so once.
    assert.match(await text(row.locator('td.listener')), /^submission \d+$/);
    await row.locator('.state', { hasText: /^closed$/ }).waitFor();
    await shot(page, 'sessions');

    await row.locator('a.proto').click();
    await page.locator('.line.server .anno').first().waitFor();
    const conv = page.locator('.conversation');
    await conv.locator('.line.client', { hasText: 'EHLO laptop.example.test' }).first().waitFor();
    await conv.locator('.line.client', { hasText: 'STARTTLS' }).first().waitFor();
    // Secrets are redacted: the AUTH line never shows the credentials.
    const all = await text(conv);
    assert.doesNotMatch(all, new RegExp(Buffer.from(`\0${ALICE}\0${ALICE_PASSWORD}`).toString('base64')));
    // Lines after STARTTLS are marked as encrypted on the wire.
    await conv.locator('.line.enc .lock').first().waitFor();
    // The reply to MAIL FROM: code, enhanced code, the command it answers, an RFC link.
    const mailReply = conv.locator('.line.server', { has: page.locator('.answers', { hasText: 'MAIL FROM:<' }) });
    await mailReply.first().waitFor();
    const anno = await text(mailReply.first().locator('.anno'));
    assert.match(anno, /250/);
    assert.match(anno, /2\.1\.0/);
    assert.ok((await mailReply.first().locator('a.rfc').getAttribute('href'))?.startsWith('http'));
    // Hovering "answers" highlights the command it answers.
    await mailReply.first().locator('.answers').hover();
    assert.match(await text(conv.locator('.line.client.hl')), /MAIL FROM/);
    await shot(page, 'session');
  });

  it('grows the transcript with "Large text" and fits a phone screen', async () => {
    await page.goto(`${base}/#/sessions/${encodeURIComponent(smtpSession)}`);
    const conv = page.locator('.conversation');
    await conv.waitFor();
    const size = async () =>
      Number.parseFloat(await conv.evaluate((e) => (globalThis as unknown as Browser).getComputedStyle(e).fontSize));
    const normal = await size();
    await page.getByLabel('Large text').check();
    assert.ok((await size()) > normal * 1.3, 'large text is larger');
    await page.getByLabel('Large text').uncheck();
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      const overflow = await page.evaluate(() => {
        const root = (globalThis as unknown as Browser).document.documentElement;
        return root.scrollWidth - root.clientWidth;
      });
      assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow}px on a phone`);
      await shot(page, 'phone-session');
      await page.goto(`${base}/#/sessions`);
      await page.locator(`tr[data-session="${smtpSession}"]`).waitFor();
      const listOverflow = await page.evaluate(() => {
        const root = (globalThis as unknown as Browser).document.documentElement;
        return root.scrollWidth - root.clientWidth;
      });
      assert.ok(listOverflow <= 1, `the session list scrolls sideways by ${listOverflow}px on a phone`);
      const row = page.locator(`tr[data-session="${smtpSession}"]`);
      assert.ok((await row.boundingBox())!.width <= 390, 'a session fits the width of a phone');
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('exports the session as a pcap that tshark decodes as SMTP', async (t) => {
    await page.goto(`${base}/#/sessions/${encodeURIComponent(smtpSession)}`);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download capture.pcap' }).click(),
    ]);
    const file = path.join(downloads, 'capture.pcap');
    await download.saveAs(file);
    const pcap = readFileSync(file);
    assert.ok(pcap.length > 24, 'pcap has packets');
    if (!hasTshark()) {
      t.skip('tshark is not installed (apt-get install tshark); the pcap was not decoded');
      return;
    }
    // The server listens on an ephemeral port here, but the packets carry submission's standard 587,
    // so tshark decodes them as SMTP without "Decode As", as the session page says.
    const r = spawnSync('tshark', ['-r', file, '-Y', 'smtp'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /SMTP/);
    assert.match(r.stdout, /MAIL FROM/i);
  });

  it('opens the message in the mail browser: headers, MIME tree, raw source, attachment', async () => {
    await page.goto(`${base}/#/mail`);
    await page.getByLabel('Account').selectOption(ALICE);
    await page.locator('.mailboxes a', { hasText: 'INBOX' }).click();
    await page.locator('.msglist a', { hasText: 'Seen in the lab' }).click();
    await page.locator('.message h2', { hasText: 'Seen in the lab' }).waitFor();
    assert.match(await text(page.locator('table.headers')), /Subject\s*Seen in the lab/);
    // The text to read: the plain part, and the HTML part as text (its script neither shown nor run).
    const body = page.getByRole('region', { name: 'Message text' });
    await body.locator('pre.body', { hasText: 'Hello from the web UI test.' }).waitFor();
    await body.locator('pre.body', { hasText: 'Hello in HTML' }).waitFor();
    assert.doesNotMatch(await text(body), /pwned|<script|<b>/);
    assert.notEqual(await page.title(), 'pwned');
    assert.equal(await body.locator('img, iframe, script').count(), 0);
    await page.locator('a.dl', { hasText: 'notes.txt' }).first().waitFor();
    await shot(page, 'mail');
    await page.getByRole('tab', { name: 'MIME tree' }).click();
    assert.match(await text(page.locator('.mimetree')), /multipart\/mixed[\s\S]*text\/plain/i);
    await page.getByRole('tab', { name: 'Raw source' }).click();
    await page.locator('pre.raw', { hasText: 'Subject: Seen in the lab' }).waitFor();
  });

  it('shows two live IMAP sessions side by side on one time axis', async () => {
    const clients = [0, 1].map(
      () =>
        new ImapFlow({
          host: '127.0.0.1',
          port: pb.ports.imap,
          secure: false,
          doSTARTTLS: false,
          auth: { user: ALICE, pass: ALICE_PASSWORD },
          logger: false,
        }),
    );
    try {
      for (const c of clients) {
        await c.connect();
        await c.mailboxOpen('INBOX');
      }
      await clients[0].messageFlagsAdd('1:*', ['\\Flagged']);
      await clients[1].noop();
      await page.goto(`${base}/#/sessions`);
      const rows = page.locator('tr[data-session]', { has: page.locator('a.proto.imap') });
      await rows.nth(1).waitFor();
      const [b, a] = [await rows.nth(0).getAttribute('data-session'), await rows.nth(1).getAttribute('data-session')];
      await page.goto(`${base}/#/compare/${encodeURIComponent(a!)}/${encodeURIComponent(b!)}`);
      await page
        .locator('.crow.a .line.client', { hasText: / STORE / })
        .first()
        .waitFor();
      // The other client hears of the flag change (an untagged FETCH) in its own column.
      await page.locator('.crow.b .line.server', { hasText: 'FETCH' }).first().waitFor();
      await page
        .locator('.crow.a .line.client', { hasText: / STORE / })
        .first()
        .evaluate((e) => e.scrollIntoView({ block: 'center' }));
      await shot(page, 'compare');
    } finally {
      for (const c of clients) await c.logout().catch(() => {});
    }
  });

  it('explains the advertised capabilities', async () => {
    await page.goto(`${base}/#/capabilities`);
    const smtp = page.locator('#cap-smtp table.caps');
    await smtp.locator('td.kw', { hasText: 'STARTTLS' }).first().waitFor();
    assert.match(await text(smtp), /RFC 3207/);
    await shot(page, 'capabilities');
  });

  it('filters the session list on the server by user and client address', async () => {
    // A session nobody logged in to, so the user filter has something to leave out.
    await new Promise<void>((resolve, reject) => {
      const sock = connect(pb.ports.smtp, '127.0.0.1');
      sock.once('data', () => sock.end('QUIT\r\n'));
      sock.once('close', () => resolve());
      sock.once('error', reject);
    });
    await page.goto(`${base}/#/sessions`);
    const rows = page.locator('tr[data-session]');
    await rows.first().waitFor();
    await page.locator('tr[data-session]', { hasNotText: ALICE }).first().waitFor();

    const byUser = page.waitForRequest((r) => /\/api\/sessions\?.*user=alice%40example\.test/.test(r.url()));
    await page.getByLabel('User').fill(ALICE);
    await byUser;
    await page.locator('tr[data-session]', { hasNotText: ALICE }).first().waitFor({ state: 'detached' });
    assert.ok((await rows.count()) > 0, 'the user has sessions');
    for (const row of await rows.all()) assert.match(await text(row), /alice@example\.test/);

    const byRemote = page.waitForRequest((r) => /\/api\/sessions\?.*remote=10\./.test(r.url()));
    await page.getByLabel('Client address').fill('10.');
    await byRemote;
    await page.getByText('No session matches these filters.').waitFor();
    await page.getByLabel('Client address').fill('127.0.');
    await rows.first().waitFor();
  });

  it('creates lab accounts with CSV and printable sheet links', async () => {
    await page.goto(`${base}/#/admin/lab`);
    const form = page.getByRole('form', { name: 'Create lab accounts' });
    await form.getByLabel('How many').fill('3');
    await form.getByRole('button', { name: 'Create accounts' }).click();
    await page.locator('table.lab tbody tr').nth(2).waitFor({ timeout: 30_000 }); // three password hashes (scrypt, SCRAM)
    // The test server's web lab listens on 127.0.0.1: the page says students cannot reach it.
    assert.match(await text(page.locator('.notice.warn')), /--listen http=0\.0\.0\.0:\d+/);
    const csvHref = await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href');
    const csv = await page.request.get(`${base}${csvHref}`);
    assert.equal(csv.status(), 200);
    assert.equal((await csv.text()).trim().split('\n').length, 4); // header + 3
    await shot(page, 'lab-accounts');
    const sheetHref = await page.getByRole('link', { name: 'Printable sheet' }).getAttribute('href');
    const sheet = await context.newPage();
    await sheet.goto(`${base}${sheetHref}`);
    assert.match(await sheet.content(), /student/);
    // Its inline style is allowed by hash under the CSP.
    assert.equal(await sheet.evaluate("getComputedStyle(document.querySelector('.card')).borderTopStyle"), 'dashed');
    await shot(sheet, 'lab-sheet');
    await sheet.close();
  });

  it('resets the class: a preview that counts what goes, then only those accounts are deleted', async () => {
    await page.goto(`${base}/#/admin/lab`);
    const reset = page.getByRole('region', { name: 'Reset the class' });
    await fillResetPattern(page, reset, 'student*@example.test');
    await reset.getByRole('button', { name: 'Show what goes' }).click();
    const confirm = reset.getByRole('alertdialog', { name: 'Confirm the reset' });
    await confirm.getByText('This deletes 3 accounts, 0 messages (0 B), 0 sessions').waitFor();
    await confirm.getByText('The accounts').click();
    assert.match(await text(confirm), /student01@example\.test: 0 messages, 0 sessions, 0 exercises/);
    await confirm.getByRole('button', { name: 'Delete 3 accounts' }).click();
    await reset.getByText('Deleted 3 accounts').waitFor();
    const users = await page.request.get(`${base}/api/users`);
    const left = ((await users.json()) as { users: { address: string }[] }).users.map((u) => u.address);
    assert.deepEqual(left, [ALICE], 'the lab accounts are gone, alice stays');
  });

  it('shows outbound mail in the queue and deletes an entry after confirmation', async () => {
    await sendMail(pb.ports.submission, 'For another server', 'bob@remote.example');
    await page.goto(`${base}/#/admin/queue`);
    const entry = page.locator('.qentry', { hasText: 'bob@remote.example' });
    await entry.waitFor();
    assert.match(await text(entry), /pending/);
    await shot(page, 'queue');
    page.once('dialog', (d) => d.accept());
    await entry.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('The queue is empty').waitFor();
  });

  it('fills in the class overview live as a student does an exercise', async () => {
    await page.goto(`${base}/#/exercises`);
    const row = page.locator(`table.overview tr[data-student="${ALICE}"]`);
    // Alice's earlier submission (EHLO, STARTTLS, AUTH PLAIN) already counts.
    await row.locator('td[data-exercise="smtp-starttls-auth-plain"][data-done="yes"]').waitFor();
    await page.getByText('● live').waitFor();
    const cell = row.locator('td[data-exercise="smtp-unknown-user"]');
    assert.equal(await cell.getAttribute('data-done'), 'no');
    // Alice on port 25 by hand: a 550 5.1.1. The page is not reloaded: the tick comes live.
    const c = await LineClient.connect(pb.ports.smtp);
    try {
      assert.match(await c.reply(), /^220/);
      assert.match(await c.cmd('HELO pc-1'), /^250/);
      assert.match(await c.cmd(`MAIL FROM:<${ALICE}>`), /^250/);
      assert.match(await c.cmd('RCPT TO:<nobody@example.test>'), /^550 5\.1\.1/);
      assert.match(await c.cmd('QUIT'), /^221/);
    } finally {
      c.close();
    }
    await row.locator('td.fresh[data-exercise="smtp-unknown-user"][data-done="yes"]').waitFor();
    assert.equal(
      await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href'),
      '/api/exercises/progress.csv',
    );
    await shot(page, 'class-overview');
  });

  it('lets a mail user in with their own address: own mail and sessions, no admin pages', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Admin name or mail address').fill(ALICE);
    await page.getByLabel('Password').fill(ALICE_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText(`${ALICE} (user)`).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Users' }).count(), 0);
    await page.goto(`${base}/#/mail`);
    assert.equal(await page.getByLabel('Account').count(), 0);
    await page.locator('.mailboxes a', { hasText: 'INBOX' }).click();
    await page.locator('.msglist a', { hasText: 'Seen in the lab' }).waitFor();
    await page.goto(`${base}/#/admin/users`);
    assert.match(await text(page.getByRole('alert')), /administrators/);
  });

  it("shows the student's own checklist, and the one language switch turns the whole UI to Dutch", async () => {
    await page.goto(`${base}/#/exercises`);
    const list = page.getByRole('list', { name: 'Your exercises' });
    await list.locator('li[data-exercise="smtp-unknown-user"][data-done="yes"]').waitFor();
    assert.equal(await list.locator('li[data-exercise="pop3-apop"]').getAttribute('data-done'), 'no');
    await page.getByRole('combobox', { name: 'Language' }).selectOption('nl');
    const lijst = page.getByRole('list', { name: 'Jouw oefeningen' });
    await lijst.locator('li[data-exercise="smtp-unknown-user"]', { hasText: 'Krijg een 550 5.1.1' }).waitFor();
    assert.match(await text(lijst.locator('li[data-exercise="pop3-apop"] .hint')), /tijdstempel/);
    assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Oefeningen');
    assert.equal(await page.locator('html').getAttribute('lang'), 'nl');
    await shot(page, 'exercises');
    // A session's explanations follow; its protocol lines stay as they crossed the wire.
    await page.goto(`${base}/#/sessions`);
    await page.locator('table.sessions a.proto').first().click();
    await page
      .getByText(/TCP-verbinding geopend/)
      .first()
      .waitFor();
    assert.equal(await page.getByText(/TCP connection opened/).count(), 0);
    // The choice is kept in the browser: a reload stays in Dutch, and the menu follows.
    await page.reload();
    await page.getByRole('link', { name: 'Sessies' }).waitFor();
    await page.getByRole('button', { name: 'Afmelden' }).waitFor();
    await page.getByRole('combobox', { name: 'Taal' }).selectOption('fr');
    await page.getByRole('link', { name: 'Exercices' }).waitFor();
    await page.getByRole('combobox', { name: 'Langue' }).selectOption('en');
    await page.getByRole('link', { name: 'Exercises' }).waitFor();
    // The teacher's lab accounts page in Dutch: the "reset the class" card, and the server's refusal
    // of a blank pattern in its red error box.
    await page.getByRole('combobox', { name: 'Language' }).selectOption('nl');
    await page.getByRole('button', { name: 'Afmelden' }).click();
    await page.getByLabel('Beheerdersnaam of mailadres').fill('teacher');
    await page.getByLabel('Wachtwoord').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Aanmelden' }).click();
    await page.getByRole('link', { name: 'Labaccounts' }).click();
    const reset = page.getByRole('region', { name: 'De klas resetten' });
    assert.equal(await text(reset.getByRole('heading', { level: 2 })), 'De klas resetten');
    await fillResetPattern(page, reset, '  ');
    await reset.getByRole('button', { name: 'Toon wat verdwijnt' }).click();
    assert.match(await text(reset.getByRole('alert')), /geef de te verwijderen accounts op als patroon/);
    await page.getByRole('combobox', { name: 'Taal' }).selectOption('en');
    await page.getByRole('link', { name: 'Lab accounts' }).waitFor();
  });

  it('ran every page without a Content-Security-Policy violation', () => {
    assert.deepEqual(cspViolations, []);
  });
});
