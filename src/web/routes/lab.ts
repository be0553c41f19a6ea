/** The protocol lab: sessions, live streams, exports, capabilities, TLS key log switch (docs/web-api.md). Placeholder until its owner fills it in. */
import { Hono } from 'hono';
import type { WebContext, WebEnv } from '../context.js';

export function labRoutes(_ctx: WebContext): Hono<WebEnv> {
  return new Hono<WebEnv>();
}
