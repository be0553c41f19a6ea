/**
 * Makes the screenshots of docs/classroom.md from a running server in classroom mode, driven by
 * headless Chromium (Debian's /usr/bin/chromium through playwright-core, as test/web-ui.test.ts):
 * the teacher makes lab accounts, students do a few exercises over real sockets (port 25 by hand,
 * POP3, IMAP), a student looks at their own port-25 session and their checklist in Dutch, the teacher
 * looks at the class overview and resets the class. Each picture is checked to stay under 150 KB. The
 * server listens on ephemeral ports of 127.0.0.1 (so the pictures show those ports, not 25, 110, 143),
 * and Chromium is told that mail.class.example is 127.0.0.1.
 *
 *   npm run build && node --import tsx scripts/classroom-screenshots.ts     # writes docs/img/classroom-*.png
 *
 * It is also a check of those pages: it fails when a step does not show what it waits for.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { uiEn } from '../src/web/i18n/ui.en.js';
import { uiNl } from '../src/web/i18n/ui.nl.js';
import { LineClient } from '../test/harness/line-client.js';
import { type PostbodeProcess, ROOT, removeDir, startPostbode } from '../test/harness/server.js';

const CHROMIUM = '/usr/bin/chromium';
const OUT = path.join(ROOT, 'docs/img');
const MAX_BYTES = 150 * 1024;
const TEACHER = 'teacher';
const TEACHER_PASSWORD = 'teach-me-42';
const DOMAIN = 'class.example';
const HOSTNAME = 'mail.class.example';
const VIEWPORT = { width: 1024, height: 640 };

async function shot(target: Page | Locator, name: string): Promise<void> {
  const file = path.join(OUT, `${name}.png`);
  await target.screenshot({ path: file });
  const size = statSync(file).size;
  assert.ok(size <= MAX_BYTES, `${name}.png is ${size} bytes, over ${MAX_BYTES}: make the view smaller`);
  console.log(`${name}.png ${Math.round(size / 1024)} KB`);
}

async function expect(c: LineClient, line: string, re: RegExp): Promise<void> {
  const r = await c.cmd(line);
  assert.match(r, re, `${line} → ${r}`);
}

/** The course's first exercise: a mail by hand on port 25, from the student's own machine. */
async function telnetSmtp(port: number, from: string, sender: string, to: string): Promise<void> {
  const c = await LineClient.connect(port, { localAddress: from });
  try {
    assert.match(await c.reply(), /^220 /);
    await expect(c, 'HELO pc-07', /^250 /);
    await expect(c, `MAIL FROM:<${sender}>`, /^250 /);
    await expect(c, `RCPT TO:<${to}>`, /^250 /);
    await expect(c, 'RCPT TO:<nobody@class.example>', /^550 5\.1\.1/);
    await expect(c, 'DATA', /^354 /);
    c.send('Subject: my first mail by hand');
    c.send('');
    c.send('Hello from telnet.');
    await expect(c, '.', /^250 /);
    await expect(c, 'QUIT', /^221 /);
  } finally {
    c.close();
  }
}

async function pop3(port: number, from: string, user: string, password: string): Promise<void> {
  const c = await LineClient.connect(port, { localAddress: from });
  try {
    assert.match(await c.line(), /^\+OK/);
    await expect(c, `USER ${user}`, /^\+OK/);
    await expect(c, `PASS ${password}`, /^\+OK/);
    await expect(c, 'STAT', /^\+OK/);
    c.send('LIST');
    await c.line();
    await c.multiline();
    c.send('RETR 1');
    await c.line();
    await c.multiline();
    await expect(c, 'DELE 1', /^\+OK/);
    await expect(c, 'QUIT', /^\+OK/);
  } finally {
    c.close();
  }
}

async function imap(port: number, from: string, user: string, password: string): Promise<void> {
  const c = await LineClient.connect(port, { localAddress: from });
  const tagged = async (tag: string, line: string) => {
    c.send(`${tag} ${line}`);
    for (;;) {
      const l = await c.line();
      if (l.startsWith(`${tag} `)) {
        assert.match(l, new RegExp(`^${tag} OK`), `${line} → ${l}`);
        return;
      }
    }
  };
  try {
    assert.match(await c.line(), /^\* OK/);
    await tagged('a1', `LOGIN ${user} ${password}`);
    await tagged('a2', 'LIST "" "*"');
    await tagged('a3', 'SELECT INBOX');
    await tagged('a4', 'CREATE Homework');
    await tagged('a5', 'LOGOUT');
  } finally {
    c.close();
  }
}

/** Logs in on the login page, whose words are the browser's language (the UI's catalogues). */
async function login(
  page: Page,
  base: string,
  name: string,
  password: string,
  lang: 'en' | 'nl' = 'en',
): Promise<void> {
  const words = lang === 'nl' ? uiNl : uiEn;
  await page.goto(`${base}/`);
  await page.getByLabel(words['login.username']).fill(name);
  await page.getByLabel(words['login.password']).fill(password);
  await page.getByRole('button', { name: words['login.submit'] }).click();
  await page.getByText(`${name} (`).first().waitFor();
}

async function main(): Promise<void> {
  const pb: PostbodeProcess = await startPostbode({
    hostname: HOSTNAME,
    domains: [DOMAIN],
    listeners: ['smtp', 'submission', 'pop3', 'imap', 'http'],
    extraArgs: ['--classroom'],
  });
  const profile = mkdtempSync(path.join(tmpdir(), 'postbode-shots-'));
  let teacherContext: BrowserContext | null = null;
  let studentContext: BrowserContext | null = null;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-sync',
      // The pages show the server's name, as in a classroom, not 127.0.0.1.
      `--host-resolver-rules=MAP ${HOSTNAME} 127.0.0.1`,
    ],
  });
  try {
    assert.equal(pb.cli(['admin', 'add', TEACHER, '--password', TEACHER_PASSWORD]).code, 0);
    const base = `http://${HOSTNAME}:${pb.ports.http}`;
    teacherContext = await browser.newContext({ viewport: VIEWPORT, locale: 'en-GB' });
    teacherContext.setDefaultTimeout(60_000);
    const page = await teacherContext.newPage();
    await login(page, base, TEACHER, TEACHER_PASSWORD);

    // Before the lesson: the lab accounts, the classroom notice, the sheet.
    await page.goto(`${base}/#/admin/lab`);
    const form = page.getByRole('form', { name: 'Create lab accounts' });
    await form.getByLabel('How many').fill('4');
    await form.getByRole('button', { name: 'Create accounts' }).click();
    const rows = page.locator('table.lab tbody tr');
    await rows.nth(3).waitFor({ timeout: 120_000 }); // four password hashes (scrypt, SCRAM) on a busy machine
    const accounts: { address: string; password: string }[] = [];
    for (let i = 0; i < 4; i++) {
      const cells = rows.nth(i).locator('td');
      accounts.push({
        address: (await cells.nth(0).textContent()) ?? '',
        password: (await cells.nth(1).textContent()) ?? '',
      });
    }
    await page.getByRole('note', { name: 'Classroom mode' }).waitFor();
    await shot(page, 'classroom-lab-accounts');
    const sheetHref = await page.getByRole('link', { name: 'Printable sheet' }).getAttribute('href');
    const sheet = await teacherContext.newPage();
    await sheet.goto(`${base}${sheetHref}`);
    await shot(sheet, 'classroom-sheet');
    await sheet.close();

    // During the lesson: three students at their machines (127.0.0.2 …, routed over loopback).
    const [s1, s2, s3] = accounts;
    await telnetSmtp(pb.ports.smtp, '127.0.0.2', s1.address, s2.address);
    await telnetSmtp(pb.ports.smtp, '127.0.0.3', s2.address, s1.address);
    await pop3(pb.ports.pop3, '127.0.0.2', s1.address, s1.password);
    await imap(pb.ports.imap, '127.0.0.4', s3.address, s3.password);

    // A student (browser in Dutch) sees their own port-25 session and their checklist.
    studentContext = await browser.newContext({ viewport: VIEWPORT, locale: 'nl-BE' });
    studentContext.setDefaultTimeout(60_000);
    const student = await studentContext.newPage();
    await login(student, base, s1.address, s1.password, 'nl');
    await student.goto(`${base}/#/sessions`);
    const own = student.locator('tr[data-session]', { has: student.locator('a.proto.smtp') }).first();
    await own.waitFor();
    const id = await own.getAttribute('data-session');
    await student.goto(`${base}/#/sessions/${encodeURIComponent(id ?? '')}`);
    await student.getByText('Subject: my first mail by hand').first().waitFor();
    // The conversation rather than the session's facts: from the greeting on.
    await student.evaluate('window.scrollTo(0, 430)');
    await shot(student, 'classroom-student-session');
    await student.goto(`${base}/#/exercises`);
    await student.locator('li[data-exercise="smtp-telnet-send"][data-done="yes"]').waitFor();
    await student.locator('li[data-exercise="pop3-read-delete"][data-done="yes"]').waitFor();
    await student.getByText('Verstuur met de hand een mail op poort 25').first().waitFor();
    await shot(student, 'classroom-checklist-nl');

    // The class overview, as the teacher sees it filling in.
    await page.goto(`${base}/#/exercises`);
    await page
      .locator(`table.overview tr[data-student="${s3.address}"] td[data-exercise="imap-create"][data-done="yes"]`)
      .waitFor();
    await shot(page, 'classroom-overview');

    // After the lesson: reset the class.
    await page.goto(`${base}/#/admin/lab`);
    const reset = page.getByRole('region', { name: 'Reset the class' });
    await reset.getByLabel('Accounts').fill(`student*@${DOMAIN}`);
    await reset.getByRole('button', { name: 'Show what goes' }).click();
    const confirm = reset.getByRole('alertdialog', { name: 'Confirm the reset' });
    await confirm.getByText('This deletes 4 accounts').waitFor();
    await shot(reset, 'classroom-reset');
    await confirm.getByRole('button', { name: 'Delete 4 accounts' }).click();
    await reset.getByText('Deleted 4 accounts').waitFor();
    const users = pb.cli(['user', 'list']);
    assert.doesNotMatch(users.stdout, /student0/, 'the class is gone');
  } finally {
    await teacherContext?.close();
    await studentContext?.close();
    await browser.close();
    await pb.stop();
    removeDir(pb.dataDir);
    removeDir(profile);
  }
}

await main();
