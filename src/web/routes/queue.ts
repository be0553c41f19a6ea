/** The outbound queue for admins (docs/web-api.md). Placeholder until its owner fills it in. */
import { Hono } from 'hono';
import type { WebContext, WebEnv } from '../context.js';

export function queueRoutes(_ctx: WebContext): Hono<WebEnv> {
  return new Hono<WebEnv>();
}
