/**
 * The web application: the JSON API under `/api` (docs/web-api.md), client autoconfiguration, and the
 * static UI from `dist/ui`.
 *
 * Invariants:
 * - Every `/api` request passes the session middleware (sets `user`) and the CSRF guard first; a mail
 *   user's request then places them at its client address for the exercises (`presence`).
 * - Unknown `/api` paths answer 404 JSON; errors answer `{"error": ...}`, said in the asker's
 *   language (`lang`, set first for every request: ?lang=, Accept-Language, lab.language) where the
 *   error is an `ApiError`; a fault's details go to the log only.
 * - Every response carries the security headers (CSP, nosniff, frame denial, no referrer), and no
 *   request body is read past web.max_body_size (security.ts, docs/security.md#web-and-live-streams).
 * - The UI is read from `dist/ui` at request time: `index.html` (no caching, so a new build is picked
 *   up at once) at `/`; other files there get a long cache when requested with a version query
 *   (`app.js?v=HASH`), else a short one. Without a built UI, `/` says how to build it.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Hono, type MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ApiError, type WebContext, type WebEnv } from './context.js';
import { ExerciseTracker } from './exercises/progress.js';
import { apiText, negotiate } from './i18n/index.js';
import { adminRoutes } from './routes/admin.js';
import { autoconfigRoutes } from './routes/autoconfig.js';
import { exercisesRoutes } from './routes/exercises.js';
import { labRoutes } from './routes/lab.js';
import { mailRoutes } from './routes/mail.js';
import { queueRoutes } from './routes/queue.js';
import { sieveRoutes } from './routes/sieve.js';
import { bodyLimit, securityHeaders } from './security.js';
import {
  authRoutes,
  clientIp,
  csrfGuard,
  sessionMiddleware,
  type WebSessionTable,
  webSessionTable,
} from './session-auth.js';

/** Bytes of large request bodies received at once, at least (4 × web.max_body_size if that is more). */
const BODY_BUDGET_BYTES = 32 << 20;

/** dist/ui, from both src/web (tsx) and dist/web (built). */
export const UI_DIR = path.resolve(import.meta.dirname, '../../dist/ui');

export interface AppOptions {
  /** Where the built UI lives (default dist/ui). */
  uiDir?: string;
  /** Default: the store's table when it keeps web logins (several nodes), else one in memory. */
  sessions?: WebSessionTable;
}

export function createApp(ctx: WebContext, opts: AppOptions = {}): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const sessions = opts.sessions ?? webSessionTable(ctx.store, { perUser: ctx.config.web.sessions_per_user });

  app.onError((err, c) => {
    const lang = c.get('lang') ?? 'en';
    if (err instanceof ApiError) return c.json({ error: err.text(lang), ...err.extra }, err.status);
    if (err instanceof HTTPException) {
      if (err.res) return err.res;
      return c.json({ error: err.message || apiText(lang, 'request.refused') }, err.status);
    }
    ctx.log.error({ err, method: c.req.method, path: c.req.path }, 'web request failed');
    return c.json({ error: apiText(lang, 'server.internal') }, 500);
  });

  app.use('*', async (c, next) => {
    c.set(
      'lang',
      negotiate({
        chosen: c.req.query('lang'),
        acceptLanguage: c.req.header('accept-language'),
        configured: ctx.config.lab.language,
      }),
    );
    await next();
  });
  app.use('*', securityHeaders);
  const maxBody = ctx.config.web.max_body_size;
  app.use('*', bodyLimit({ maxBytes: maxBody, budgetBytes: Math.max(BODY_BUDGET_BYTES, 4 * maxBody) }));

  const api = new Hono<WebEnv>();
  api.use('*', sessionMiddleware(ctx, sessions));
  api.use('*', csrfGuard);
  if (ctx.exercises instanceof ExerciseTracker) api.use('*', presence(ctx.exercises));
  api.route('/', authRoutes(ctx, sessions));
  api.route('/', adminRoutes(ctx));
  api.route('/', labRoutes(ctx));
  api.route('/', exercisesRoutes(ctx));
  api.route('/', mailRoutes(ctx));
  api.route('/', queueRoutes(ctx));
  api.route('/', sieveRoutes(ctx));
  api.all('*', (c) =>
    c.json({ error: apiText(c.get('lang'), 'api.noEndpoint', { method: c.req.method, path: c.req.path }) }, 404),
  );
  app.route('/api', api);
  app.route('/', autoconfigRoutes(ctx));

  const uiDir = opts.uiDir ?? UI_DIR;
  app.get('*', async (c) => {
    let rel: string;
    try {
      rel = c.req.path === '/' ? 'index.html' : decodeURIComponent(c.req.path.slice(1));
    } catch {
      return c.text('bad path', 400);
    }
    const file = path.resolve(uiDir, rel);
    if (!file.startsWith(uiDir + path.sep)) return c.text('not found', 404);
    let body: Buffer;
    try {
      if (!(await stat(file)).isFile()) throw new Error('not a file');
      body = await readFile(file);
    } catch {
      if (rel === 'index.html') return c.html(NO_UI_PAGE, 503);
      return c.text('not found', 404);
    }
    const type = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    const cache =
      rel === 'index.html'
        ? 'no-cache'
        : new URL(c.req.url).search
          ? 'public, max-age=31536000, immutable'
          : 'public, max-age=300';
    return c.body(new Uint8Array(body), 200, { 'Content-Type': type, 'Cache-Control': cache });
  });
  return app;
}

/**
 * Where each student uses the web lab from (exercises/progress.ts `WebPresence`): a port-25 session
 * without a login counts for the one student whose browser has the same client address.
 */
function presence(tracker: ExerciseTracker): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    const user = c.get('user');
    if (user?.role === 'user') {
      const ip = clientIp(c);
      if (c.req.method === 'POST' && c.req.path.endsWith('/logout')) tracker.presence.left(ip, user.name);
      else tracker.presence.seen(ip, user.name);
    }
    await next();
  };
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const NO_UI_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>postbode</title></head>
<body>
<h1>postbode</h1>
<p>The web UI has not been built. In the postbode directory run</p>
<pre>npm run build</pre>
<p>and reload this page. The JSON API under <code>/api</code> works without it (see docs/web-api.md).</p>
</body></html>
`;
