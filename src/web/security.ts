/**
 * Response headers that every web response carries, and the request body limit
 * (docs/security.md#web-and-live-streams).
 *
 * Invariants:
 * - Every response of the app (UI, API, errors, SSE) has `SECURITY_HEADERS`; a route may set its own
 *   `Content-Security-Policy` (e.g. with the hash of an inline style it serves), which is kept.
 * - Nothing under /api is served with a script or style type (mail parts may have one).
 * - A request body is never held beyond `maxBytes`: an announced larger one (Content-Length) gets 413
 *   before a byte of it is read; a chunked one is read up to the limit, then answered 413; either way
 *   the connection is closed after the answer (lingering: http.ts drops the rest of the body for up to 2 s so
 *   the answer is not lost to a reset). Bodies being received hold a share of a budget for all requests together; when
 *   it is spent, new ones get 503 with Retry-After instead of more memory.
 */
import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { WebEnv } from './context.js';
import { apiText, type Language } from './i18n/index.js';

/**
 * The UI is one HTML page loading app.js and app.css from this origin (no inline script or style
 * element; Preact's `style` properties are DOM properties, which CSP allows); the favicon is a data:
 * URL; the API is called on this origin.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/**
 * The policy for a generated page with one inline `<style>` element (the printable lab sheet): that
 * exact style is allowed by its hash, nothing else changes.
 */
export function cspWithInlineStyle(css: string): string {
  const hash = createHash('sha256').update(css, 'utf8').digest('base64');
  return CONTENT_SECURITY_POLICY.replace("style-src 'self'", `style-src 'self' 'sha256-${hash}'`);
}

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

/** The header @hono/node-server puts on a response that was written directly to node (SSE). */
const ALREADY_SENT = 'x-hono-already-sent';

/**
 * Script and style types (the HTML standard's JavaScript MIME types, and CSS). The API serves mail
 * parts with the type the sender gave them; `script-src 'self'` would let an injected tag load such a
 * part as a script of this origin, so under /api they are served as `application/octet-stream`.
 */
const ACTIVE_TYPES =
  /^\s*(?:text\/(?:javascript(?:1\.[0-5])?|ecmascript|jscript|livescript|x-ecmascript|x-javascript|css)|application\/(?:javascript|ecmascript|x-ecmascript|x-javascript))\s*(?:;|$)/i;

/**
 * Adds `SECURITY_HEADERS` to every response (those a route set itself stay), and makes script and
 * style types under /api inert.
 */
export const securityHeaders: MiddlewareHandler<WebEnv> = async (c, next) => {
  await next();
  const headers = c.res.headers;
  if (headers.has(ALREADY_SENT)) return;
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    if (!headers.has(name)) headers.set(name, value);
  }
  if (c.req.path.startsWith('/api/') && ACTIVE_TYPES.test(headers.get('content-type') ?? '')) {
    headers.set('Content-Type', 'application/octet-stream');
  }
};

function size(bytes: number, lang: Language): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return apiText(lang, 'size.mb', { n: bytes >> 20 });
  if (bytes >= 1024 && bytes % 1024 === 0) return apiText(lang, 'size.kb', { n: bytes >> 10 });
  return apiText(lang, 'size.bytes', { n: bytes });
}

/** What a request with too large a body is told. */
export function tooLargeMessage(maxBytes: number, lang: Language = 'en'): string {
  return apiText(lang, 'body.tooLarge', { size: size(maxBytes, lang) });
}

export interface BodyLimitOptions {
  /** Largest body in bytes (web.max_body_size). */
  maxBytes: number;
  /** Bytes of large bodies (over `SMALL_BODY_BYTES`) being received by all requests together. */
  budgetBytes: number;
}

/**
 * Bodies up to this size (every login and admin request) take nothing from the budget, so that large
 * bodies held open by a client cannot refuse anybody's login; their memory is bounded by the
 * connection limits (web.max_connections × 64 KB).
 */
export const SMALL_BODY_BYTES = 64 * 1024;

/** The body limit middleware: see the invariants above. */
export function bodyLimit(opts: BodyLimitOptions): MiddlewareHandler<WebEnv> {
  let inFlight = 0;
  const reserve = (bytes: number): boolean => {
    if (bytes <= SMALL_BODY_BYTES) return true;
    if (inFlight + bytes > opts.budgetBytes) return false;
    inFlight += bytes;
    return true;
  };
  const release = (bytes: number): void => {
    if (bytes > SMALL_BODY_BYTES) inFlight -= bytes;
  };
  return async (c, next) => {
    const lang = c.get('lang') ?? 'en';
    const tooLarge = () => tooLargeMessage(opts.maxBytes, lang);
    const busy = () => apiText(lang, 'body.busy');
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return next();
    if (c.req.header('transfer-encoding') === undefined) {
      const declared = c.req.header('content-length');
      const length = declared === undefined ? 0 : Number(declared);
      if (!(length >= 0)) return c.json({ error: apiText(lang, 'body.contentLength') }, 400);
      // Never read: the connection closes after this answer (lingering to discard the body would cost
      // up to 64 MB of reading per connection in @hono/node-server).
      if (length > opts.maxBytes)
        return c.json({ error: tooLarge(), limit: opts.maxBytes }, 413, { Connection: 'close' });
      if (!reserve(length)) return c.json({ error: busy() }, 503, { 'Retry-After': '2' });
      try {
        await next();
      } finally {
        release(length);
      }
      return;
    }
    // Chunked: the size shows only while reading; past SMALL_BODY_BYTES it reserves the most it may take.
    const body = c.req.raw.body;
    if (!body) return next();
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    let reserved = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > opts.maxBytes) {
          // The rest is never read: the connection closes after this answer.
          return c.json({ error: tooLarge(), limit: opts.maxBytes }, 413, { Connection: 'close' });
        }
        if (total > SMALL_BODY_BYTES && reserved === 0) {
          if (!reserve(opts.maxBytes))
            return c.json({ error: busy() }, 503, { 'Retry-After': '2', Connection: 'close' });
          reserved = opts.maxBytes;
        }
        chunks.push(value);
      }
      c.req.raw = new Request(c.req.raw, { body: Buffer.concat(chunks, total) });
      await next();
    } finally {
      release(reserved);
    }
  };
}
