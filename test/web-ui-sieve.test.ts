/**
 * The Filters page in a real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
 * against a real server: a mail user sets a vacation reply and a filter in the form, saves, and the
 * server holds an active script made from them; the raw editor shows a compile error at its line.
 * With POSTBODE_SCREENSHOTS=1 it also saves docs/img/filters.png. Skipped with a message when Chromium
 * is not installed.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { type PostbodeProcess, ROOT, removeDir, startPostbode } from './harness/server.js';
import { Api } from './harness/web-api-client.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = process.env.POSTBODE_SCREENSHOTS === '1' ? path.join(ROOT, 'docs/img') : null;
const ALICE = 'alice@example.test';
const ALICE_PASSWORD = 'alice-pw-7';

describe('Filters page in headless Chromium', {
  skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed`,
}, () => {
  let pb: PostbodeProcess;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  const profile = mkdtempSync(path.join(tmpdir(), 'postbode-chromium-'));
  const cspViolations: string[] = [];

  before(async () => {
    pb = await startPostbode({ listeners: ['smtp', 'http'] });
    base = `http://127.0.0.1:${pb.ports.http}`;
    const r = pb.cli(['user', 'add', ALICE, '--password', ALICE_PASSWORD]);
    assert.equal(r.code, 0, r.stderr);
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      viewport: { width: 1280, height: 800 },
    });
    // A bound on each wait, not a speed claim: generous, as a loaded 2-core CI machine renders slowly.
    context.setDefaultTimeout(20_000);
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
  });

  it('a mail user sets a vacation reply and a filter; the server holds them as the active script', async () => {
    await page.goto(`${base}/`);
    await page.getByLabel('Admin name or mail address').fill(ALICE);
    await page.getByLabel('Password').fill(ALICE_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText(`${ALICE} (user)`).waitFor();

    await page.goto(`${base}/#/filters`);
    await page.getByText('No script is active').waitFor();
    const form = page.getByRole('form', { name: 'Vacation reply and filters' });
    await form.getByLabel('Vacation reply').check();
    await form.getByLabel('First day').fill('2026-12-20');
    await form.getByLabel('Last day').fill('2027-01-05');
    await form.getByLabel('Subject').fill('Away');
    await form.getByLabel('Text').fill('Back on 6 January.');
    await form.getByRole('button', { name: 'Add a filter' }).click();
    await form.getByLabel('Text', { exact: true }).last().waitFor();
    await form.getByLabel('Header', { exact: true }).selectOption('subject');
    await form.locator('li.filter').getByLabel('Text').fill('lab');
    await form.getByLabel('Folder').fill('Lab');
    await form.getByRole('button', { name: 'Save and activate' }).click();
    await page.getByText('Saved. The rules are active').waitFor();
    await page.getByText('Active script: postbode').waitFor();
    if (SHOTS) {
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, 'filters.png'), fullPage: true });
    }

    const api = await Api.login(base, ALICE, ALICE_PASSWORD);
    const rules = await api.json<{
      form: string;
      active: boolean;
      source: string;
      rules: { vacation: Record<string, unknown>; filters: Record<string, unknown>[] };
    }>('GET', '/api/sieve/me/rules');
    assert.equal(rules.form, 'on');
    assert.equal(rules.active, true);
    assert.deepEqual(
      { ...rules.rules.vacation },
      { enabled: true, start: '2026-12-20', end: '2027-01-05', subject: 'Away', text: 'Back on 6 January.', days: 1 },
    );
    assert.equal(rules.rules.filters.length, 1);
    assert.equal(rules.rules.filters[0].field, 'subject');
    assert.equal(rules.rules.filters[0].fileinto, 'Lab');
    assert.match(rules.source, /currentdate :value "ge" "date" "2026-12-20"/);
    assert.match(rules.source, /vacation :days 1 :subject "Away" "Back on 6 January\.";/);

    // The form reads back what it wrote.
    await page.reload();
    await page.getByLabel('First day').waitFor();
    assert.equal(await page.getByLabel('First day').inputValue(), '2026-12-20');
    assert.equal(await page.locator('li.filter').getByLabel('Folder').inputValue(), 'Lab');
  });

  it('the raw editor shows a compile error at its line and column, and stores nothing', async () => {
    page.once('dialog', (d) => void d.accept('broken'));
    await page.getByRole('button', { name: 'New script' }).click();
    const editor = page.getByRole('form', { name: 'Edit the script broken' });
    await editor.getByLabel('Sieve source').fill('require ["fileinto"];\nfileinto "A"\n');
    await editor.getByRole('button', { name: 'Save' }).click();
    const errors = editor.locator('ul.sieve-errors');
    await errors.waitFor();
    assert.match((await errors.textContent()) ?? '', /line \d+, column \d+/);
    const api = await Api.login(base, ALICE, ALICE_PASSWORD);
    const overview = await api.json<{ scripts: { name: string }[] }>('GET', '/api/sieve/me');
    assert.deepEqual(
      overview.scripts.map((s) => s.name),
      ['postbode'],
    );
    assert.deepEqual(cspViolations, []);
  });
});
