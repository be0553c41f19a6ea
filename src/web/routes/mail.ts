/** The mail browser: mailboxes, messages, MIME parts of an account (docs/web-api.md). Placeholder until its owner fills it in. */
import { Hono } from 'hono';
import type { WebContext, WebEnv } from '../context.js';

export function mailRoutes(_ctx: WebContext): Hono<WebEnv> {
  return new Hono<WebEnv>();
}
