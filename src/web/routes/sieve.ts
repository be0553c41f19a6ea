/**
 * Mail filtering for a mail user (docs/web-api.md "Sieve"): the account's Sieve scripts (list, read,
 * write with errors at their line and column, activate, rename, delete), and the filters and vacation
 * reply of the web form, kept as the script `postbode` (sieve-rules.ts).
 *
 * Invariants:
 * - `:account` is resolved by `accountFor`, as in the mail browser: users only themselves (403
 *   otherwise), admins anyone.
 * - No script is stored that does not compile (src/sieve `compile`), nor one over
 *   sieve.max_script_bytes, nor a new one beyond sieve.max_scripts: the same limits as ManageSieve
 *   (RFC 5804 §1.5), so a script the web stored can always be read and stored back over ManageSieve.
 * - A script name follows the store's rule (src/store/sieve.ts, RFC 5804 §1.6), as over ManageSieve.
 * - The form's script is written only from rules (`PUT .../rules`); when it was edited by hand since,
 *   the form refuses to overwrite it (409) unless asked to (`overwrite: true`), so a hand edit is never
 *   lost by accident.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { compile, SUPPORTED_EXTENSIONS } from '../../sieve/index.js';
import type { SieveDiagnostic } from '../../sieve/types.js';
import { sieveNameProblem } from '../../store/sieve.js';
import type { Account, SieveScriptInfo } from '../../store/types.js';
import type { SieveRulesResponse, SieveScriptJson } from '../api-types.js';
import {
  type ApiError,
  accountFor,
  apiError,
  badRequest,
  jsonBody,
  requestLanguage,
  requireUser,
  type WebContext,
  type WebEnv,
} from '../context.js';
import { apiText } from '../i18n/index.js';
import { rulesSchema, rulesToScript, scriptToRules, UI_SCRIPT_NAME } from '../sieve-rules.js';

const FORM_OFF_NOTE =
  'The script "postbode" was edited by hand (in the script editor, over ManageSieve or with "postbode sieve put"), so the form is off for it: your edits are kept. Saving the form replaces the script with the form\'s rules.';

export function sieveRoutes(ctx: WebContext): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const { store } = ctx;
  const limits = () => ({
    maxScriptBytes: ctx.config.sieve.max_script_bytes,
    maxScripts: ctx.config.sieve.max_scripts,
  });
  app.use('/sieve/*', requireUser);

  const account = async (c: Context<WebEnv>): Promise<Account> => {
    const address = accountFor(c, c.req.param('account') ?? '');
    const found = await store.accounts.get(address);
    if (!found) {
      throw apiError(404, 'account.none', { address });
    }
    return found;
  };

  const nameOf = (c: Context<WebEnv>): string => checkName(c.req.param('name') ?? '');

  /** Compiles and stores `source` as `name`: 400 with the errors, 413 too big, 409 too many scripts. */
  const save = async (acct: Account, name: string, source: string): Promise<void> => {
    const { maxScriptBytes, maxScripts } = limits();
    const size = Buffer.byteLength(source, 'utf8');
    if (size > maxScriptBytes) {
      throw apiError(413, 'sieve.tooBig', { size, limit: maxScriptBytes });
    }
    const result = compile(source, { limits: { maxScriptBytes } });
    if (!result.ok) throw compileError(result.errors);
    const existing = await store.sieve.list(acct.id);
    if (!existing.some((s) => s.name === name) && existing.length >= maxScripts) {
      throw apiError(409, 'sieve.tooMany', { address: acct.address, count: existing.length, limit: maxScripts });
    }
    await store.sieve.put(acct.id, name, source);
  };

  app.get('/sieve/:account', async (c) => {
    const acct = await account(c);
    const scripts = await store.sieve.list(acct.id);
    return c.json({
      account: acct.address,
      scripts: scripts.map(infoJson),
      active: scripts.find((s) => s.active)?.name ?? null,
      formScript: UI_SCRIPT_NAME,
      limits: limits(),
      // What a script may require (RFC 5228 §3.2); the comparators every script has are left out.
      extensions: SUPPORTED_EXTENSIONS.filter((e) => e !== 'comparator-i;octet' && e !== 'comparator-i;ascii-casemap'),
    });
  });

  app.post('/sieve/:account/check', async (c) => {
    await account(c);
    const body = await jsonBody(c, z.object({ source: z.string() }));
    const { maxScriptBytes } = limits();
    const size = Buffer.byteLength(body.source, 'utf8');
    if (size > maxScriptBytes) {
      return c.json({
        ok: false,
        errors: [
          {
            line: 1,
            column: 1,
            message: apiText(requestLanguage(c), 'sieve.tooBigCheck', { size, limit: maxScriptBytes }),
          },
        ],
      });
    }
    const result = compile(body.source, { limits: { maxScriptBytes } });
    return c.json(result.ok ? { ok: true, errors: [] } : { ok: false, errors: result.errors.map(diagnosticJson) });
  });

  app.get('/sieve/:account/scripts/:name', async (c) => {
    const acct = await account(c);
    const name = nameOf(c);
    const info = (await store.sieve.list(acct.id)).find((s) => s.name === name);
    const source = info ? await store.sieve.get(acct.id, name) : null;
    if (!info || source === null) throw noScript(acct, name);
    const body: SieveScriptJson = { ...infoJson(info), source, form: scriptToRules(source).kind };
    return c.json(body);
  });

  app.put('/sieve/:account/scripts/:name', async (c) => {
    const acct = await account(c);
    const name = nameOf(c);
    const body = await jsonBody(c, z.object({ source: z.string(), activate: z.boolean().optional() }));
    await save(acct, name, body.source);
    if (body.activate) await store.sieve.setActive(acct.id, name);
    ctx.log.info({ account: acct.address, script: name, by: c.get('user')?.name }, 'sieve script stored from the web');
    const info = (await store.sieve.list(acct.id)).find((s) => s.name === name);
    if (!info) throw noScript(acct, name);
    return c.json(infoJson(info));
  });

  app.delete('/sieve/:account/scripts/:name', async (c) => {
    const acct = await account(c);
    const name = nameOf(c);
    const result = await store.sieve.delete(acct.id, name);
    if (result === 'missing') throw noScript(acct, name);
    if (result === 'active') {
      // RFC 5804 §2.10: the active script cannot be deleted.
      throw apiError(409, 'sieve.activeNotDeleted', { name, address: acct.address });
    }
    return c.body(null, 204);
  });

  app.post('/sieve/:account/scripts/:name/rename', async (c) => {
    const acct = await account(c);
    const name = nameOf(c);
    const body = await jsonBody(c, z.object({ to: z.string() }));
    const to = checkName(body.to);
    const result = await store.sieve.rename(acct.id, name, to);
    if (result === 'missing') throw noScript(acct, name);
    if (result === 'exists') {
      throw apiError(409, 'sieve.nameTaken', { name: to });
    }
    return c.body(null, 204);
  });

  app.put('/sieve/:account/active', async (c) => {
    const acct = await account(c);
    const body = await jsonBody(c, z.object({ name: z.string().nullable() }));
    const name = body.name === null || body.name === '' ? null : checkName(body.name);
    if (!(await store.sieve.setActive(acct.id, name))) throw noScript(acct, name ?? '');
    return c.body(null, 204);
  });

  app.get('/sieve/:account/rules', async (c) => {
    const acct = await account(c);
    const scripts = await store.sieve.list(acct.id);
    const info = scripts.find((s) => s.name === UI_SCRIPT_NAME);
    const source = info ? await store.sieve.get(acct.id, UI_SCRIPT_NAME) : null;
    const other = scripts.find((s) => s.active && s.name !== UI_SCRIPT_NAME);
    const activeNote = other
      ? `The active script is "${other.name}", not the form's: the form's rules apply only once "${UI_SCRIPT_NAME}" is active (saving the form activates it).`
      : null;
    let body: SieveRulesResponse;
    if (!info || source === null) {
      body = { form: 'on', rules: { filters: [], vacation: null }, active: false, source: null, note: activeNote };
    } else {
      const read = scriptToRules(source);
      if (read.kind === 'form') {
        body = { form: 'on', rules: read.rules, active: info.active, source, note: activeNote };
      } else {
        const note =
          read.kind === 'edited'
            ? FORM_OFF_NOTE
            : `The script "${UI_SCRIPT_NAME}" was not made by the form (it has no rules comment), so the form is off for it. Saving the form replaces it.`;
        body = { form: 'off', rules: read.kind === 'edited' ? read.rules : null, active: info.active, source, note };
      }
    }
    return c.json(body);
  });

  app.post('/sieve/:account/rules/preview', async (c) => {
    await account(c);
    const body = await jsonBody(c, z.object({ rules: rulesSchema }));
    return c.json({ source: rulesToScript(body.rules) });
  });

  app.put('/sieve/:account/rules', async (c) => {
    const acct = await account(c);
    const body = await jsonBody(
      c,
      z.object({
        rules: rulesSchema,
        activate: z.boolean().default(true),
        overwrite: z.boolean().default(false),
      }),
    );
    const current = await store.sieve.get(acct.id, UI_SCRIPT_NAME);
    if (current !== null && !body.overwrite && scriptToRules(current).kind !== 'form') {
      throw apiError(409, 'sieve.handEdited', { name: UI_SCRIPT_NAME });
    }
    const source = rulesToScript(body.rules);
    await save(acct, UI_SCRIPT_NAME, source);
    if (body.activate) await store.sieve.setActive(acct.id, UI_SCRIPT_NAME);
    ctx.log.info({ account: acct.address, by: c.get('user')?.name }, 'sieve rules stored from the web form');
    const info = (await store.sieve.list(acct.id)).find((s) => s.name === UI_SCRIPT_NAME);
    return c.json({ source, active: info?.active ?? false });
  });

  return app;
}

function checkName(name: string): string {
  const problem = sieveNameProblem(name);
  if (problem) throw badRequest('sieve.badName', { problem });
  return name;
}

function noScript(acct: Account, name: string): ApiError {
  return apiError(404, 'sieve.noScript', { address: acct.address, name });
}

function diagnosticJson(d: SieveDiagnostic) {
  return { line: d.line, column: d.column, message: d.message };
}

/** 400 with every error at its place; the message names the first (the compiler's words stay English). */
function compileError(errors: SieveDiagnostic[]): ApiError {
  const first = errors[0];
  const extra = { errors: errors.map(diagnosticJson) };
  if (!first) return apiError(400, 'sieve.compileUnknown', undefined, extra);
  const where = { line: first.line, column: first.column, message: first.message, count: errors.length };
  return apiError(400, errors.length === 1 ? 'sieve.compileOne' : 'sieve.compileMany', where, extra);
}

function infoJson(s: SieveScriptInfo) {
  return { name: s.name, active: s.active, size: s.size, updatedAt: s.updatedAt.getTime() };
}
