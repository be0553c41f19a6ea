/** Admin API: domains, users, aliases, quotas, lab accounts, status (docs/web-api.md). */
import { Hono } from 'hono';
import type { WebContext, WebEnv } from '../context.js';

export function adminRoutes(_ctx: WebContext): Hono<WebEnv> {
  return new Hono<WebEnv>();
}
