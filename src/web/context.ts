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
 * - Errors leave as `{"error": "..."}` with a status: throw `apiError(status, key, params)` or
 *   `badRequest(key, params)`, a text of the api catalogue (src/web/i18n/api.*.ts) that app.ts says in
 *   the asker's language (`c.get('lang')`: ?lang=, Accept-Language, lab.language); request bodies are
 *   checked by `jsonBody`, whose schemas give catalogue keys as their messages. Unexpected errors are
 *   logged and answered with a 500 that says nothing about internals.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import type { AuthService } from '../auth/service.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { TlsMaterial } from '../net/tls.js';
import type { ListenerInfo, ServerStatus } from '../server/status.js';
import type { Store } from '../store/types.js';
import type { TraceBus } from '../trace/bus.js';
import { type ApiKey, apiText, apiTranslated, isApiKey, type Language } from './i18n/index.js';

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
    /** The asker's language (app.ts, for every request): ?lang=, else Accept-Language, else lab.language. */
    lang: Language;
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
  if (!user) throw apiError(401, 'auth.notLoggedIn');
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
    throw apiError(403, 'auth.adminOnly');
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
    if (user.role !== 'user') throw badRequest('auth.adminNoMailbox');
    return user.name;
  }
  if (user.role === 'admin' || wanted === user.name) return wanted;
  throw apiError(403, 'auth.ownMailOnly', { name: user.name });
}

type Params = Readonly<Record<string, string | number>>;

/**
 * An error the API answers with `{"error": text, ...extra}`, the text said in the asker's language
 * by app.ts; `message` is the English (for logs and tests that call a route's helpers directly).
 */
export class ApiError extends HTTPException {
  readonly #text: (lang: Language) => string;
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(status: ContentfulStatusCode, text: (lang: Language) => string, extra: Record<string, unknown> = {}) {
    super(status, { message: text('en') });
    this.#text = text;
    this.extra = extra;
  }

  text(lang: Language): string {
    return this.#text(lang);
  }
}

/** The api catalogue's `key` as an error with `status`. */
export function apiError(status: ContentfulStatusCode, key: ApiKey, params?: Params, extra?: Record<string, unknown>) {
  return new ApiError(status, (lang) => apiText(lang, key, params), extra);
}

export function badRequest(key: ApiKey, params?: Params): ApiError {
  return apiError(400, key, params);
}

/** The language of a request (set for every request by app.ts; English where none was set). */
export function requestLanguage(c: Context<WebEnv>): Language {
  return c.get('lang') ?? 'en';
}

/** zod's own messages (a wrong type, an unknown key…) in Dutch and French; English is zod's default. */
const ZOD_MESSAGES: Partial<Record<Language, z.core.$ZodErrorMap>> = {
  nl: z.locales.nl().localeError,
  fr: z.locales.fr().localeError,
};

/**
 * A zod issue's text: a catalogue key with the issue's params, else an English message a shared
 * schema words (src/web/sieve-rules.ts) said in `lang` where the catalogue knows it, else zod's own.
 */
export function issueText(lang: Language, issue: z.core.$ZodIssue): string {
  if (!isApiKey(issue.message)) return apiTranslated(lang, issue.message);
  const params = issue.code === 'custom' ? (issue.params as Params | undefined) : undefined;
  return apiText(lang, issue.message, params);
}

/** The JSON body validated by a zod schema; 400 naming each bad field otherwise. */
export async function jsonBody<S extends z.ZodType>(c: Context<WebEnv>, schema: S): Promise<z.infer<S>> {
  let raw: unknown;
  try {
    const text = await c.req.text();
    raw = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw badRequest('body.notJson');
  }
  const lang = requestLanguage(c);
  const zodMessages = ZOD_MESSAGES[lang];
  const result = schema.safeParse(raw, zodMessages ? { error: zodMessages } : undefined);
  if (result.success) return result.data;
  const { issues } = result.error;
  throw new ApiError(400, (l) =>
    apiText(l, 'body.invalid', {
      problems: issues.map((i) => `${i.path.join('.') || 'body'}: ${issueText(l, i)}`).join('; '),
    }),
  );
}
