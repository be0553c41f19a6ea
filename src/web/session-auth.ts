/**
 * Web login: cookie sessions, the CSRF guard, login rate limiting, and the `/api/login`, `/api/logout`,
 * `/api/me` routes.
 *
 * Invariants:
 * - A session id is 32 random bytes (base64url) in the cookie `pb_session` (HttpOnly, SameSite=Strict,
 *   Secure over HTTPS). Where sessions live is one `WebSessionTable`: with a store that keeps them
 *   (`Store.webSessions`, PostgreSQL) they are in the database, valid on every node of it, and a restart
 *   logs nobody out (`StoreWebSessions`); otherwise in this process only (`WebSessions`), and a restart
 *   logs everybody out. Both keep the limits below the same way.
 * - A session expires after 12 hours without a request; expired sessions are swept lazily.
 * - At most `perUser` (web.sessions_per_user, 20) sessions per user: a new login ends that user's oldest session. When the
 *   table (`maxSessions`, 100,000) is full, expired sessions are swept; if it is still full the login is
 *   refused with 503, except an admin's: users who fill the table (thousands of accounts logging in)
 *   must not lock out the admin who could stop them (admins are few, and still `perUser` each). One
 *   user's logins never end another user's sessions.
 * - Admins (the `admins` table, `postbode admin add NAME`) and mail users are separate: a name without
 *   `@` is an admin name first, then a bare local part. Both are checked under the login limits shared
 *   with the mail protocols (AuthService → src/auth/limiter.ts): the wait comes before the check and
 *   attempts in flight count, so parallel requests get no more checks than sequential ones.
 * - Requests that change something (POST/PUT/PATCH/DELETE under /api) must carry
 *   `Content-Type: application/json` or `X-Postbode: 1`. A cross-site HTML form can send neither, so
 *   with SameSite=Strict this stops cross-site request forgery.
 * - A login refused by the limits without a check (too many attempts waiting) gets 429 and Retry-After.
 */
import { randomBytes } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import { verifyPassword } from '../auth/password.js';
import { type LoginClient, type LoginResult, throttledText } from '../auth/service.js';
import type { WebSessionStore } from '../store/types.js';
import {
  apiError,
  currentUser,
  jsonBody,
  requestLanguage,
  type WebContext,
  type WebEnv,
  type WebUser,
} from './context.js';
import { apiText, apiTranslated, LANGUAGES } from './i18n/index.js';

export const SESSION_COOKIE = 'pb_session';
const IDLE_MS = 12 * 3600_000;

export interface WebSessionLimits {
  /** Sessions in all (default 100,000). */
  maxSessions: number;
  /** Sessions of one user (default 20); a new login ends the user's oldest. */
  perUser: number;
}

const DEFAULT_LIMITS: WebSessionLimits = { maxSessions: 100_000, perUser: 20 };

interface WebSession {
  user: WebUser;
  key: string;
  lastSeen: number;
}

type MaybePromise<T> = T | Promise<T>;

/** Where login sessions live (see the header): this process, or the store for every node. */
export interface WebSessionTable {
  /** A new session for `user`; null when the table is full of other users' live sessions. */
  create(user: WebUser): MaybePromise<string | null>;
  /** The session's user, and the idle timer restarted; null when unknown or expired. */
  get(id: string): MaybePromise<WebUser | null>;
  delete(id: string): MaybePromise<void>;
}

const newSessionId = () => randomBytes(32).toString('base64url');

/** In-memory login sessions. */
export class WebSessions implements WebSessionTable {
  readonly #sessions = new Map<string, WebSession>();
  /** Session ids per user (role and name), oldest first. */
  readonly #byUser = new Map<string, string[]>();
  readonly limits: WebSessionLimits;

  constructor(
    readonly idleMs = IDLE_MS,
    private readonly now: () => number = Date.now,
    limits: Partial<WebSessionLimits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** A new session for `user`; null when the table is full of other users' live sessions. */
  create(user: WebUser): string | null {
    const key = userKey(user);
    const own = this.#byUser.get(key) ?? [];
    // The user's own oldest sessions make room first; other users' sessions are never ended for it.
    while (own.length >= this.limits.perUser) this.delete(own[0]);
    if (user.role !== 'admin' && this.#sessions.size >= this.limits.maxSessions) this.sweep();
    if (user.role !== 'admin' && this.#sessions.size >= this.limits.maxSessions) return null;
    const id = newSessionId();
    this.#sessions.set(id, { user, key, lastSeen: this.now() });
    const ids = this.#byUser.get(key);
    if (ids) ids.push(id);
    else this.#byUser.set(key, [id]);
    return id;
  }

  /** The session's user, and the idle timer restarted; null when unknown or expired. */
  get(id: string): WebUser | null {
    const s = this.#sessions.get(id);
    if (!s) return null;
    const now = this.now();
    if (now - s.lastSeen > this.idleMs) {
      this.delete(id);
      return null;
    }
    s.lastSeen = now;
    return s.user;
  }

  delete(id: string): void {
    const s = this.#sessions.get(id);
    if (!s) return;
    this.#sessions.delete(id);
    const ids = this.#byUser.get(s.key);
    if (!ids) return;
    const at = ids.indexOf(id);
    if (at >= 0) ids.splice(at, 1);
    if (ids.length === 0) this.#byUser.delete(s.key);
  }

  /** Ends every session of one user (e.g. an admin deleted or a password changed). */
  deleteUser(user: WebUser): void {
    for (const id of [...(this.#byUser.get(userKey(user)) ?? [])]) this.delete(id);
  }

  sweep(): void {
    const now = this.now();
    for (const [id, s] of this.#sessions) if (now - s.lastSeen > this.idleMs) this.delete(id);
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Live sessions of one user. */
  countOf(user: WebUser): number {
    return this.#byUser.get(userKey(user))?.length ?? 0;
  }
}

/** Login sessions in the store (`Store.webSessions`): valid on every node that shares it. */
export class StoreWebSessions implements WebSessionTable {
  readonly limits: WebSessionLimits;

  constructor(
    private readonly store: WebSessionStore,
    readonly idleMs = IDLE_MS,
    private readonly now: () => number = Date.now,
    limits: Partial<WebSessionLimits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  async create(user: WebUser): Promise<string | null> {
    const id = newSessionId();
    // An admin is not held to the table's size (see the header).
    const maxSessions = user.role === 'admin' ? Number.MAX_SAFE_INTEGER : this.limits.maxSessions;
    const created = await this.store.create(id, user, { ...this.limits, maxSessions, idleMs: this.idleMs }, this.now());
    return created ? id : null;
  }

  get(id: string): Promise<WebUser | null> {
    return this.store.get(id, this.idleMs, this.now());
  }

  delete(id: string): Promise<void> {
    return this.store.delete(id);
  }

  /** Ends every session of one user, on every node. */
  deleteUser(user: WebUser): Promise<void> {
    return this.store.deleteUser(user);
  }

  /** Live sessions of one user. */
  countOf(user: WebUser): Promise<number> {
    return this.store.count(user);
  }
}

/** The session table of the web app: the store's when it keeps web logins (several nodes), else memory. */
export function webSessionTable(
  store: { webSessions?: WebSessionStore },
  limits: Partial<WebSessionLimits> = {},
): WebSessionTable {
  return store.webSessions
    ? new StoreWebSessions(store.webSessions, undefined, undefined, limits)
    : new WebSessions(undefined, undefined, limits);
}

function userKey(user: WebUser): string {
  return `${user.role}\0${user.name}`;
}

/** The client's IP address ('' when unknown, e.g. in app.request() tests). */
export function clientIp(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? '';
  } catch {
    return '';
  }
}

/**
 * Sets `c.get('user')` from the session cookie for every request. The account behind a session is
 * looked up each time, so deleting (or disabling) it ends its sessions at once.
 */
export function sessionMiddleware(ctx: WebContext, sessions: WebSessionTable): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    const id = getCookie(c, SESSION_COOKIE);
    let user = id ? await sessions.get(id) : null;
    if (id && user && !(await stillValid(ctx, user))) {
      await sessions.delete(id);
      user = null;
    }
    c.set('user', user);
    await next();
  };
}

async function stillValid(ctx: WebContext, user: WebUser): Promise<boolean> {
  if (user.role === 'admin') return (await ctx.store.admins.get(user.name)) !== null;
  const account = await ctx.store.accounts.get(user.name);
  return account !== null && !account.disabled;
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** 403 for a state-changing request that a cross-site form could have sent. */
export const csrfGuard: MiddlewareHandler<WebEnv> = async (c, next) => {
  if (UNSAFE_METHODS.has(c.req.method)) {
    const type = (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json' && c.req.header('x-postbode') !== '1') {
      throw apiError(403, 'csrf.header', { method: c.req.method });
    }
  }
  await next();
};

const loginBody = z.object({
  username: z.string().min(1, 'login.giveName').max(320),
  password: z.string().min(1, 'login.givePassword').max(1024),
});

/**
 * Checks a name and password under the shared login limits: an admin account first (names without @),
 * then a mail account.
 */
export async function checkLogin(
  ctx: WebContext,
  client: LoginClient,
  username: string,
  password: string,
): Promise<LoginResult<WebUser>> {
  const name = username.trim().toLowerCase();
  if (!name.includes('@')) {
    const admin = await ctx.store.admins.get(name);
    if (admin) {
      return ctx.auth.guarded(
        client,
        `admin ${admin.name}`,
        async (): Promise<WebUser | null> =>
          (await verifyPassword(password, admin.passwordHash)) ? { name: admin.name, role: 'admin' } : null,
      );
    }
  }
  const result = await ctx.auth.login(client, name, password);
  return result.ok ? { ok: true, account: { name: result.account.address, role: 'user' } } : result;
}

export function authRoutes(ctx: WebContext, sessions: WebSessionTable): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const secure = ctx.config.web.https;

  app.post('/login', async (c) => {
    const { username, password } = await jsonBody(c, loginBody);
    const result = await checkLogin(ctx, { remoteAddress: clientIp(c), protocol: 'web' }, username, password);
    if (!result.ok && result.reason === 'throttled') {
      c.header('Retry-After', String(Math.max(1, Math.ceil(result.throttle.retryAfterMs / 1000))));
      return c.json({ error: apiTranslated(requestLanguage(c), throttledText(result.throttle)) }, 429);
    }
    if (!result.ok) {
      return c.json({ error: apiText(requestLanguage(c), 'login.wrong') }, 401);
    }
    const user = result.account;
    const old = getCookie(c, SESSION_COOKIE);
    if (old) await sessions.delete(old);
    const id = await sessions.create(user);
    if (id === null) {
      c.header('Retry-After', '60');
      return c.json({ error: apiText(requestLanguage(c), 'login.tooManySessions') }, 503);
    }
    setCookie(c, SESSION_COOKIE, id, { httpOnly: true, sameSite: 'Strict', secure, path: '/' });
    return c.json(user);
  });

  app.post('/logout', async (c) => {
    const id = getCookie(c, SESSION_COOKIE);
    if (id) await sessions.delete(id);
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure });
    return c.body(null, 204);
  });

  app.get('/me', (c) => c.json(currentUser(c)));
  // Public, for the login page too: the configured default language (lab.language) and the choices.
  app.get('/language', (c) => c.json({ default: ctx.config.lab.language, languages: [...LANGUAGES] }));
  return app;
}
