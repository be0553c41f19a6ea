/**
 * Web login: cookie sessions kept in memory, the CSRF guard, login rate limiting, and the
 * `/api/login`, `/api/logout`, `/api/me` routes.
 *
 * Invariants:
 * - A session id is 32 random bytes (base64url) in the cookie `pb_session` (HttpOnly, SameSite=Strict,
 *   Secure over HTTPS). Sessions live in this process only: a restart logs everybody out.
 * - A session expires after 12 hours without a request; expired sessions are swept lazily.
 * - Admins (the `admins` table, `postbode admin add NAME`) and mail users (AuthService, with its failure
 *   delay) are separate: a name without `@` is an admin name first, then a bare local part.
 * - Requests that change something (POST/PUT/PATCH/DELETE under /api) must carry
 *   `Content-Type: application/json` or `X-Postbode: 1`. A cross-site HTML form can send neither, so
 *   with SameSite=Strict this stops cross-site request forgery.
 * - An address that fails to log in too often is refused with 429 for a while, before any password
 *   is checked.
 */
import { randomBytes } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';
import { verifyPassword } from '../auth/password.js';
import { currentUser, jsonBody, type WebContext, type WebEnv, type WebUser } from './context.js';

export const SESSION_COOKIE = 'pb_session';
const IDLE_MS = 12 * 3600_000;
const SESSION_LIMIT = 100_000;

/** In-memory login sessions. */
export class WebSessions {
  readonly #sessions = new Map<string, { user: WebUser; lastSeen: number }>();

  constructor(
    readonly idleMs = IDLE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  create(user: WebUser): string {
    if (this.#sessions.size >= SESSION_LIMIT) this.sweep();
    if (this.#sessions.size >= SESSION_LIMIT) {
      // Still full of live sessions: drop the oldest (Map keeps insertion order).
      this.#sessions.delete(this.#sessions.keys().next().value as string);
    }
    const id = randomBytes(32).toString('base64url');
    this.#sessions.set(id, { user, lastSeen: this.now() });
    return id;
  }

  /** The session's user, and the idle timer restarted; null when unknown or expired. */
  get(id: string): WebUser | null {
    const s = this.#sessions.get(id);
    if (!s) return null;
    const now = this.now();
    if (now - s.lastSeen > this.idleMs) {
      this.#sessions.delete(id);
      return null;
    }
    s.lastSeen = now;
    return s.user;
  }

  delete(id: string): void {
    this.#sessions.delete(id);
  }

  /** Ends every session of one user (e.g. an admin deleted or a password changed). */
  deleteUser(user: WebUser): void {
    for (const [id, s] of this.#sessions) {
      if (s.user.name === user.name && s.user.role === user.role) this.#sessions.delete(id);
    }
  }

  sweep(): void {
    const now = this.now();
    for (const [id, s] of this.#sessions) if (now - s.lastSeen > this.idleMs) this.#sessions.delete(id);
  }

  get size(): number {
    return this.#sessions.size;
  }
}

/** Failed logins per client address in a sliding window; too many → refused for the rest of it. */
export class LoginLimiter {
  readonly #failures = new Map<string, number[]>();

  constructor(
    readonly maxFailures = 10,
    readonly windowMs = 15 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `ip` may try again, or 0 when it may now. */
  blockedFor(ip: string): number {
    const recent = this.#recent(ip);
    if (recent.length < this.maxFailures) return 0;
    return recent[recent.length - this.maxFailures] + this.windowMs - this.now();
  }

  fail(ip: string): void {
    const recent = this.#recent(ip);
    recent.push(this.now());
    this.#failures.set(ip, recent);
    if (this.#failures.size > 50_000) {
      for (const key of this.#failures.keys()) if (this.#recent(key).length === 0) this.#failures.delete(key);
    }
  }

  succeed(ip: string): void {
    this.#failures.delete(ip);
  }

  #recent(ip: string): number[] {
    const since = this.now() - this.windowMs;
    const list = (this.#failures.get(ip) ?? []).filter((t) => t > since);
    if (list.length === 0) this.#failures.delete(ip);
    return list;
  }
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
export function sessionMiddleware(ctx: WebContext, sessions: WebSessions): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    const id = getCookie(c, SESSION_COOKIE);
    let user = id ? sessions.get(id) : null;
    if (id && user && !(await stillValid(ctx, user))) {
      sessions.delete(id);
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
      throw new HTTPException(403, {
        message: `${c.req.method} requests must send Content-Type: application/json or the header X-Postbode: 1 (protection against cross-site requests)`,
      });
    }
  }
  await next();
};

const loginBody = z.object({
  username: z.string().min(1, 'give your admin name or mail address').max(320),
  password: z.string().min(1, 'give your password').max(1024),
});

/** Checks a name and password: an admin account first (names without @), then a mail account. */
export async function checkLogin(ctx: WebContext, username: string, password: string): Promise<WebUser | null> {
  const name = username.trim().toLowerCase();
  if (!name.includes('@')) {
    const admin = await ctx.store.admins.get(name);
    if (admin) {
      if (await verifyPassword(password, admin.passwordHash)) return { name: admin.name, role: 'admin' };
      const delay = ctx.config.auth.failure_delay_ms;
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      return null;
    }
  }
  const account = await ctx.auth.login(name, password);
  return account ? { name: account.address, role: 'user' } : null;
}

export function authRoutes(ctx: WebContext, sessions: WebSessions, limiter = new LoginLimiter()): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const secure = ctx.config.web.https;

  app.post('/login', async (c) => {
    const ip = clientIp(c);
    const wait = limiter.blockedFor(ip);
    if (wait > 0) {
      const minutes = Math.ceil(wait / 60_000);
      c.header('Retry-After', String(Math.ceil(wait / 1000)));
      return c.json(
        {
          error: `too many failed logins from your address; try again in ${minutes} minute${minutes === 1 ? '' : 's'}`,
        },
        429,
      );
    }
    const { username, password } = await jsonBody(c, loginBody);
    const user = await checkLogin(ctx, username, password);
    if (!user) {
      limiter.fail(ip);
      return c.json({ error: 'wrong name or password (admins use their admin name, users their mail address)' }, 401);
    }
    limiter.succeed(ip);
    const old = getCookie(c, SESSION_COOKIE);
    if (old) sessions.delete(old);
    setCookie(c, SESSION_COOKIE, sessions.create(user), { httpOnly: true, sameSite: 'Strict', secure, path: '/' });
    return c.json(user);
  });

  app.post('/logout', (c) => {
    const id = getCookie(c, SESSION_COOKIE);
    if (id) sessions.delete(id);
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure });
    return c.body(null, 204);
  });

  app.get('/me', (c) => c.json(currentUser(c)));
  return app;
}
