/**
 * What every web route module gets, and the helpers they share.
 *
 * Invariants of src/web/:
 * - The web layer reaches the server only through `WebContext` (built once by src/server/server.ts);
 *   routes never open their own store or listeners. It imports no protocol engine (src/smtp, src/pop3,
 *   src/imap) and from src/server only the status types (test/layers.test.ts checks this).
 * - Every route module exports `xxxRoutes(ctx): Hono<WebEnv>`; app.ts mounts it under `/api`.
 * - Who is asking is decided once per request by the session middleware (session-auth.ts), which sets
 *   `c.get('user')` (null when not logged in). Routes guard themselves with `requireUser` /
 *   `requireAdmin`: 401 when nobody is logged in, 403 when the role does not allow it.
 * - Errors leave as `{"error": "..."}` with a status: throw `new HTTPException(status, {message})`
 *   (hono/http-exception) or `badRequest(...)`; app.ts renders it. Unexpected errors are logged and
 *   answered with a 500 that says nothing about internals.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { z } from 'zod';
import type { AuthService } from '../auth/service.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { TlsMaterial } from '../net/tls.js';
import type { ListenerInfo, ServerStatus } from '../server/status.js';
import type { Store } from '../store/types.js';
import type { TraceBus } from '../trace/bus.js';

export type WebRole = 'admin' | 'user';

/** The logged-in party: an admin account name, or a mail address for role `user`. */
export interface WebUser {
  name: string;
  role: WebRole;
}

/** Hono environment of every route: the session middleware sets these per request. */
export interface WebEnv {
  Variables: {
    user: WebUser | null;
  };
}

export type { ListenerInfo, ServerStatus };

/**
 * The session recorder (src/web/recorder/) as the context holds it. Only what the composition root
 * needs is named here, so this file does not depend on it; the lab routes check for the real class
 * (`instanceof SessionRecorder`).
 */
export interface SessionRecorderLike {
  /** Stops listening to the bus and flushes what is pending. */
  stop(): void | Promise<void>;
  /** Writes the sessions and events not yet in the history. */
  flush(): Promise<void>;
}

/** The TLS key log switch (admin only, off by default); the lab routes check for the real class (TlsKeyLog). */
export interface KeylogLike {
  /** Whether new TLS sessions get their keys logged. */
  readonly enabled: boolean;
}

/** The exercises' checker (src/web/exercises/progress.ts); the exercise routes check for the real class. */
export interface ExerciseTrackerLike {
  /** Stops checking new sessions and waits for the ticks in progress. */
  stop(): Promise<void>;
  /** The lab served `address`'s mail client configuration (autoconfig, Autodiscover) to `remote`. */
  autoconfigServed(address: string, remote: string): void;
}

export interface WebContext {
  config: Config;
  store: Store;
  bus: TraceBus;
  auth: AuthService;
  tls: TlsMaterial;
  log: Logger;
  /** Bound listeners (mail and http), filled as they start; the same array the server reports. */
  listeners: ListenerInfo[];
  /** e.g. `postbode 0.1.0` */
  product: string;
  version: string;
  /** The same object `postbode status` prints (control socket `status`). */
  status: () => Promise<ServerStatus>;
  /**
   * Capabilities the mail engines advertise only after login, which the lab's capability probe (a
   * client that does not log in) cannot see: IMAP's (RFC 9051 §6.1.1). Given by the composition root,
   * so the web layer does not import the engines.
   */
  capabilitiesAfterLogin: { imap: readonly string[] };
  recorder?: SessionRecorderLike;
  keylog?: KeylogLike;
  /** Present with the recorder: checks the exercises of the sessions it records. */
  exercises?: ExerciseTrackerLike;
}

/** The logged-in user of a request; only valid behind `requireUser`/`requireAdmin`. */
export function currentUser(c: Context<WebEnv>): WebUser {
  const user = c.get('user');
  if (!user) throw new HTTPException(401, { message: 'not logged in: POST /api/login with {username, password}' });
  return user;
}

/** 401 unless someone is logged in. */
export const requireUser: MiddlewareHandler<WebEnv> = async (c, next) => {
  currentUser(c);
  await next();
};

/** 401 unless someone is logged in, 403 unless it is an admin. */
export const requireAdmin: MiddlewareHandler<WebEnv> = async (c, next) => {
  if (currentUser(c).role !== 'admin') {
    throw new HTTPException(403, {
      message: 'this needs an admin account (create one with "postbode admin add NAME" and log in with it)',
    });
  }
  await next();
};

/**
 * The mail address a request may look at: `me` is the logged-in user's own address; admins may name
 * any account, users only themselves (403 otherwise).
 */
export function accountFor(c: Context<WebEnv>, account: string): string {
  const user = currentUser(c);
  const wanted = account.trim().toLowerCase();
  if (wanted === 'me') {
    if (user.role !== 'user') throw new HTTPException(400, { message: 'an admin has no mailbox; name an account' });
    return user.name;
  }
  if (user.role === 'admin' || wanted === user.name) return wanted;
  throw new HTTPException(403, { message: `you are logged in as ${user.name} and may only see your own mail` });
}

export function badRequest(message: string): HTTPException {
  return new HTTPException(400, { message });
}

/** The JSON body validated by a zod schema; 400 naming each bad field otherwise. */
export async function jsonBody<S extends z.ZodType>(c: Context<WebEnv>, schema: S): Promise<z.infer<S>> {
  let raw: unknown;
  try {
    const text = await c.req.text();
    raw = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw badRequest('the request body is not valid JSON; send a JSON object');
  }
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
  throw badRequest(`invalid request: ${problems.join('; ')}`);
}
