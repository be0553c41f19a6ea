/**
 * The admin API (docs/web-api.md, "Admin"): domains, users, passwords, quotas, aliases, server status,
 * and lab accounts handed out in batches.
 *
 * Invariants:
 * - Everything here is admin-only except `GET /server-info`, which any logged-in user may read.
 * - Changes go straight to the store, as the CLI does; adding a user makes its domain local, adding an
 *   alias does not (delivery/alias-rules.ts: the same rules as `postbode alias add`, but PUT replaces).
 * - Domain names are checked by mail/address-syntax.ts `domainNameError` (IDNA, LDH labels) and chosen
 *   passwords by auth/password-policy.ts (auth.min_password_length), as in the CLI.
 * - Passwords are never stored in clear. A lab batch keeps its generated passwords in memory only, for
 *   one hour after it was made, so the teacher can download the CSV and the sheet; then they are gone.
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { generatePassword } from '../../auth/generated-password.js';
import { passwordError } from '../../auth/password-policy.js';
import { AliasRuleError, planAlias } from '../../delivery/alias-rules.js';
import { domainNameError, mailboxError } from '../../mail/address-syntax.js';
import { StoreConflictError } from '../../store/types.js';
import type { ClassResetView } from '../api-types.js';
import { ClassResetError, type ClassResetPlan, planClassReset, resetClass } from '../class-reset.js';
import {
  ApiError,
  apiError,
  badRequest,
  issueText,
  jsonBody,
  type ListenerInfo,
  requireAdmin,
  requireUser,
  type WebContext,
  type WebEnv,
} from '../context.js';
import { type Language, negotiate, translate, type UiKey } from '../i18n/index.js';
import { cspWithInlineStyle } from '../security.js';

const BATCH_LIFETIME_MS = 3600_000;
const HASH_CONCURRENCY = 4;

const domainName = z
  .string({ error: 'zod.domainString' })
  .trim()
  .toLowerCase()
  .superRefine((value, ctx) => {
    const problem = domainNameError(value);
    if (problem) ctx.addIssue({ code: 'custom', message: 'zod.domain', params: { problem } });
  });

const address = z
  .string({ error: 'zod.addressString' })
  .trim()
  .toLowerCase()
  .superRefine((value, ctx) => {
    const problem = mailboxError(value, true) ?? domainNameError(domainOf(value));
    if (problem) ctx.addIssue({ code: 'custom', message: 'zod.address', params: { value, problem } });
  });

const password = z.string().min(1, 'problem.password.empty').max(1024);
const quotaBytes = z
  .number({ error: 'zod.quotaNumber' })
  .int('zod.quotaWhole')
  .positive('zod.quotaPositive')
  .nullable();

const newUser = z.strictObject({ address, password: password.optional(), quotaBytes: quotaBytes.optional() });
const aliasTargets = z.strictObject({ targets: z.array(address).min(1, 'zod.oneTarget') });
const labRequest = z.strictObject({
  domain: domainName,
  count: z
    .number({ error: 'zod.countNumber' })
    .int('zod.countWhole')
    .min(1, 'zod.countRange')
    .max(500, 'zod.countRange'),
  prefix: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[a-z][a-z0-9._-]{0,39}$/, 'zod.prefix')
    .default('student'),
});

const classResetPreview = z.strictObject({
  accounts: z.string({ error: 'zod.patternString' }).min(1, 'zod.patternEmpty').max(320),
});
const classReset = z.strictObject({
  addresses: z
    .array(z.string().trim().toLowerCase().min(1), { error: 'zod.addressList' })
    .min(1, 'zod.oneAddress')
    .max(10_000, 'zod.manyAddresses'),
});

/** A reset plan as the API shows it (the session ids stay on the server). */
function resetView(p: ClassResetPlan): ClassResetView {
  return { accounts: p.accounts, totals: p.totals, openSessions: p.openSessions };
}

export interface LabAccount {
  address: string;
  password: string;
}

interface LabBatch {
  id: string;
  domain: string;
  created: number;
  accounts: LabAccount[];
}

/** Lab batches in memory, forgotten an hour after they were made. */
export class LabBatches {
  readonly #batches = new Map<string, LabBatch>();

  constructor(private readonly now: () => number = Date.now) {}

  add(domain: string, accounts: LabAccount[]): LabBatch {
    this.#sweep();
    const batch = { id: randomBytes(12).toString('base64url'), domain, created: this.now(), accounts };
    this.#batches.set(batch.id, batch);
    return batch;
  }

  get(id: string): LabBatch | null {
    this.#sweep();
    return this.#batches.get(id) ?? null;
  }

  #sweep(): void {
    const limit = this.now() - BATCH_LIFETIME_MS;
    for (const [id, b] of this.#batches) if (b.created < limit) this.#batches.delete(id);
  }
}

/** A password the admin chose (not generated) meets auth.min_password_length. */
function checkChosenPassword(ctx: WebContext, pass: string | undefined): void {
  if (pass === undefined) return;
  const problem = passwordError(pass, ctx.config.auth.min_password_length);
  if (problem) throw badRequest('text', { problem });
}

function domainOf(addr: string): string {
  return addr.slice(addr.lastIndexOf('@') + 1);
}

/** The account's address from the URL, checked. */
function addressParam(c: Context<WebEnv>, name: string): string {
  const parsed = address.safeParse(c.req.param(name) ?? '');
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  throw new ApiError(400, (lang) => issueText(lang, issue));
}

/** The alias key from the URL: an address, or `@domain` for a catch-all. */
function aliasParam(c: Context<WebEnv>): string {
  const raw = (c.req.param('alias') ?? '').trim().toLowerCase();
  if (raw.startsWith('@')) {
    if (domainNameError(raw.slice(1))) throw badRequest('alias.badCatchAll', { alias: raw });
    return raw;
  }
  return addressParam(c, 'alias');
}

export function adminRoutes(ctx: WebContext, batches = new LabBatches()): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const { store } = ctx;

  app.get('/server-info', requireUser, async (c) =>
    c.json({
      hostname: ctx.config.hostname,
      product: ctx.product,
      listeners: ctx.listeners.map((l) => ({ name: l.name, host: l.host, port: l.port })),
      domains: await store.domains.list(),
      classroom: ctx.config.lab.classroom,
      plaintextNetworks: ctx.config.plaintext_networks,
    }),
  );

  for (const path of [
    '/status',
    '/domains',
    '/domains/*',
    '/users',
    '/users/*',
    '/aliases',
    '/aliases/*',
    '/lab-accounts',
    '/lab-accounts/*',
    '/class-reset',
    '/class-reset/*',
  ]) {
    app.use(path, requireAdmin);
  }

  app.get('/status', async (c) => c.json(await ctx.status()));

  app.get('/domains', async (c) => c.json({ domains: await store.domains.list() }));
  app.post('/domains', async (c) => {
    const { name } = await jsonBody(c, z.strictObject({ name: domainName }));
    if (!(await store.domains.add(name))) throw apiError(409, 'domain.exists', { name });
    return c.json({ name }, 201);
  });
  app.delete('/domains/:name', async (c) => {
    const name = c.req.param('name').trim().toLowerCase();
    const left = (await store.accounts.list()).filter((a) => a.address.endsWith(`@${name}`)).length;
    if (left > 0 && (await store.domains.has(name)) && c.req.query('force') !== '1') {
      throw apiError(409, left === 1 ? 'domain.hasAccount' : 'domain.hasAccounts', { name, count: left });
    }
    if (!(await store.domains.remove(name))) {
      throw apiError(404, 'domain.notLocal', { name });
    }
    return c.body(null, 204);
  });

  app.get('/users', async (c) => {
    const accounts = await store.accounts.list();
    const users = [];
    for (const a of accounts) {
      users.push({
        address: a.address,
        quotaBytes: a.quotaBytes,
        usedBytes: await store.accounts.usage(a.id),
        disabled: a.disabled,
        createdAt: a.createdAt.getTime(),
      });
    }
    return c.json({ users });
  });
  app.post('/users', async (c) => {
    const body = await jsonBody(c, newUser);
    checkChosenPassword(ctx, body.password);
    const pass = body.password ?? generatePassword();
    await store.domains.add(domainOf(body.address));
    try {
      await store.accounts.create({
        address: body.address,
        ...(await ctx.auth.passwordFields(pass)),
        quotaBytes: body.quotaBytes ?? null,
      });
    } catch (err) {
      if (err instanceof StoreConflictError) {
        throw apiError(409, 'user.exists', { address: body.address });
      }
      throw err;
    }
    return c.json({ address: body.address, password: pass }, 201);
  });
  app.delete('/users/:address', async (c) => {
    const addr = addressParam(c, 'address');
    if (!(await store.accounts.delete(addr))) throw noUser(addr);
    return c.body(null, 204);
  });
  app.post('/users/:address/password', async (c) => {
    const addr = addressParam(c, 'address');
    const body = await jsonBody(c, z.strictObject({ password: password.optional() }));
    checkChosenPassword(ctx, body.password);
    const pass = body.password ?? generatePassword();
    if (!(await store.accounts.update(addr, await ctx.auth.passwordFields(pass)))) throw noUser(addr);
    return c.json({ password: pass });
  });
  app.put('/users/:address/quota', async (c) => {
    const addr = addressParam(c, 'address');
    const body = await jsonBody(c, z.strictObject({ quotaBytes }));
    if (!(await store.accounts.update(addr, { quotaBytes: body.quotaBytes }))) throw noUser(addr);
    return c.json({ address: addr, quotaBytes: body.quotaBytes });
  });

  app.get('/aliases', async (c) => c.json({ aliases: await store.aliases.list() }));
  app.put('/aliases/:alias', async (c) => {
    const alias = aliasParam(c);
    const body = await jsonBody(c, aliasTargets);
    let targets: string[];
    try {
      ({ targets } = await planAlias(store, {
        key: alias,
        targets: body.targets,
        replace: true,
        howToAddDomain: (d) => `POST /api/domains {"name": "${d}"}`,
      }));
    } catch (err) {
      if (err instanceof AliasRuleError) throw badRequest('text', { problem: err.message });
      throw err;
    }
    await store.aliases.set(alias, targets);
    return c.json({ alias, targets });
  });
  app.delete('/aliases/:alias', async (c) => {
    const alias = aliasParam(c);
    if (!(await store.aliases.remove(alias))) {
      throw apiError(404, 'alias.none', { alias });
    }
    return c.body(null, 204);
  });

  app.post('/lab-accounts', async (c) => {
    const req = await jsonBody(c, labRequest);
    const accounts = await createLabAccounts(ctx, req);
    const batch = batches.add(req.domain, accounts);
    return c.json({ batch: batch.id, accounts }, 201);
  });
  app.get('/lab-accounts/:batch/accounts.csv', (c) => {
    const batch = batchOf(batches, c.req.param('batch'));
    const servers = mailServers(ctx);
    const web = new URL(c.req.url).origin;
    const header = ['address', 'password', ...servers.map((s) => s.column), 'web'];
    const rows = batch.accounts.map((a) => [a.address, a.password, ...servers.map((s) => s.hostPort), `${web}/`]);
    const csv = [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
    return c.body(csv, 200, {
      'Content-Type': 'text/csv; charset=utf-8; header=present',
      'Content-Disposition': `attachment; filename="lab-accounts-${batch.domain}.csv"`,
      'Cache-Control': 'no-store',
    });
  });
  // Reset the class (class-reset.ts): a preview by pattern, then the deletion of the addresses shown.
  app.post('/class-reset/preview', async (c) => {
    const { accounts } = await jsonBody(c, classResetPreview);
    // Sessions that ended a moment ago are still in the recorder's next batch: written first, they are
    // counted (and deleted by the reset) like the others.
    await ctx.recorder?.flush();
    try {
      return c.json(resetView(await planClassReset(store, accounts)));
    } catch (err) {
      if (err instanceof ClassResetError) throw badRequest('text', { problem: err.message });
      throw err;
    }
  });
  app.post('/class-reset', async (c) => {
    const { addresses } = await jsonBody(c, classReset);
    await ctx.recorder?.flush();
    return c.json(resetView(await resetClass(store, addresses)));
  });
  app.get('/lab-accounts/:batch/sheet.html', (c) => {
    const batch = batchOf(batches, c.req.param('batch'));
    c.header('Cache-Control', 'no-store');
    c.header('Content-Security-Policy', SHEET_CSP);
    // In the language of the UI's switch (?lang=), else the browser's, else lab.language.
    const lang = negotiate({
      chosen: c.req.query('lang'),
      acceptLanguage: c.req.header('accept-language'),
      configured: ctx.config.lab.language,
    });
    return c.html(labSheet(ctx, batch, new URL(c.req.url).origin, lang));
  });
  return app;
}

function noUser(addr: string): ApiError {
  return apiError(404, 'user.none', { address: addr });
}

function batchOf(batches: LabBatches, id: string): LabBatch {
  const batch = batches.get(id);
  if (!batch) {
    throw apiError(404, 'lab.noBatch');
  }
  return batch;
}

/** Creates `count` accounts `<prefix>NN@domain` with the next free numbers and generated passwords. */
async function createLabAccounts(
  ctx: WebContext,
  req: { domain: string; count: number; prefix: string },
): Promise<LabAccount[]> {
  const { store } = ctx;
  await store.domains.add(req.domain);
  const width = Math.max(2, String(req.count).length);
  const existing = new Set((await store.accounts.list()).map((a) => a.address));
  const wanted: string[] = [];
  for (let n = 1; wanted.length < req.count; n++) {
    const addr = `${req.prefix}${String(n).padStart(width, '0')}@${req.domain}`;
    if (!existing.has(addr)) wanted.push(addr);
  }
  for (const addr of wanted) {
    const problem = mailboxError(addr, true);
    if (problem) throw badRequest('lab.prefixTooLong', { address: addr, problem });
  }
  const accounts: LabAccount[] = [];
  // scrypt runs on the libuv pool (4 threads by default): hash a few at a time.
  for (let i = 0; i < wanted.length; i += HASH_CONCURRENCY) {
    const chunk = wanted.slice(i, i + HASH_CONCURRENCY);
    const made = await Promise.all(
      chunk.map(async (addr) => {
        const pass = generatePassword();
        await store.accounts.create({ address: addr, ...(await ctx.auth.passwordFields(pass)), quotaBytes: null });
        return { address: addr, password: pass };
      }),
    );
    for (const m of made) accounts.push(m);
  }
  return accounts;
}

interface MailServer {
  column: string;
  label: string;
  security: string;
  hostPort: string;
  port: number;
}

/** The mail listeners a student uses, with the port they are bound to, in the order a sheet lists them. */
function mailServers(ctx: WebContext, lang: Language = 'en'): MailServer[] {
  const sending = translate(lang, 'sheet.smtpSending');
  const order: [ListenerInfo['name'], string, string][] = [
    ['submission', sending, 'STARTTLS'],
    ['submissions', sending, 'SSL/TLS'],
    ['imap', 'IMAP', 'STARTTLS'],
    ['imaps', 'IMAP', 'SSL/TLS'],
    ['pop3', 'POP3', 'STARTTLS'],
    ['pop3s', 'POP3', 'SSL/TLS'],
    ['managesieve', translate(lang, 'sheet.managesieve'), 'STARTTLS'],
  ];
  const out: MailServer[] = [];
  for (const [name, label, security] of order) {
    const l = ctx.listeners.find((x) => x.name === name);
    if (l) out.push({ column: name, label, security, port: l.port, hostPort: `${ctx.config.hostname}:${l.port}` });
  }
  return out;
}

/** RFC 4180: quote fields with a comma, quote or line break; double the quotes. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** The sheet's style, allowed by its hash in the page's Content-Security-Policy. */
const SHEET_CSS = `
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #000; }
.card { border: 1px dashed #555; padding: 0.8rem 1rem; margin: 0 0 1rem; break-inside: avoid; page-break-inside: avoid; }
h1 { font-size: 1.3rem; } h2 { font-size: 1.15rem; margin: 0 0 0.4rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 0 0 0.5rem; }
dt { font-weight: 600; } dd { margin: 0; }
code { font-family: ui-monospace, monospace; font-size: 1.05em; } .fp { font-size: 0.75em; overflow-wrap: anywhere; } .pw { font-size: 1.25em; letter-spacing: 0.05em; }
table { border-collapse: collapse; margin: 0.3rem 0; } th, td { border: 1px solid #999; padding: 0.15rem 0.6rem; text-align: left; }
p { margin: 0.3rem 0 0; }
@media print { body { margin: 0; } .noprint { display: none; } .card:nth-of-type(3n) { break-after: page; page-break-after: always; } }
`;
const SHEET_CSP = cspWithInlineStyle(SHEET_CSS);

/**
 * What a student needs to know about the certificate: a self-signed one makes every mail client warn,
 * so the sheet gives its SHA-256 fingerprint to compare before accepting it.
 */
function certificateNote(ctx: WebContext, lang: Language): string {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(ctx.tls.cert);
  } catch {
    return '';
  }
  if (cert.issuer === cert.subject) {
    return `<p class="cert"><strong>${translate(lang, 'sheet.certificate')}</strong> ${translate(lang, 'sheet.selfSigned', { fingerprint: `<code class="fp">${escapeHtml(cert.fingerprint256)}</code>` })}</p>`;
  }
  const issuer = /(?:^|\n)CN=([^\n]*)/.exec(cert.issuer)?.[1] ?? cert.issuer;
  return `<p class="cert"><strong>${translate(lang, 'sheet.certificate')}</strong> ${translate(lang, 'sheet.issuedBy', { issuer: escapeHtml(issuer) })}</p>`;
}

function labSheet(ctx: WebContext, batch: LabBatch, web: string, lang: Language): string {
  const servers = mailServers(ctx, lang);
  const tr = (key: UiKey, params?: Record<string, string | number>) => translate(lang, key, params);
  const host = escapeHtml(ctx.config.hostname);
  const smtp = ctx.listeners.find((x) => x.name === 'smtp');
  // Port 25 first: the course's first exercise (telnet, no login); not a port for a mail client.
  const rows = [
    ...(smtp
      ? [`<tr><td>${tr('sheet.smtpServer')}</td><td>${smtp.port}</td><td>${tr('sheet.noneStarttls')}</td></tr>`]
      : []),
    ...servers.map((s) => `<tr><td>${s.label}</td><td>${s.port}</td><td>${s.security}</td></tr>`),
  ].join('');
  const certNote = certificateNote(ctx, lang);
  const cards = batch.accounts
    .map(
      (a) => `<section class="card">
<h2>${escapeHtml(a.address)}</h2>
<dl>
<dt>${tr('sheet.addressAndUser')}</dt><dd><code>${escapeHtml(a.address)}</code></dd>
<dt>${tr('login.password')}</dt><dd><code class="pw">${escapeHtml(a.password)}</code></dd>
<dt>${tr('sheet.server')}</dt><dd><code>${host}</code></dd>
</dl>
<table><thead><tr><th>${tr('sessions.protocol')}</th><th>${tr('sheet.port')}</th><th>${tr('sheet.security')}</th></tr></thead><tbody>${rows}</tbody></table>
<p>${tr('sheet.webLab', { url: `<code>${escapeHtml(web)}/</code>` })}</p>
${certNote}
</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8">
<title>${tr('sheet.title', { domain: escapeHtml(batch.domain) })}</title>
<style>${SHEET_CSS}</style></head>
<body>
<h1 class="noprint">${tr('sheet.heading', { count: batch.accounts.length, domain: escapeHtml(batch.domain), host })}</h1>
${cards}
</body></html>
`;
}
