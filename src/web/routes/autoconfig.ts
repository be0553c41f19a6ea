/** Client autoconfiguration: Thunderbird autoconfig and Microsoft Autodiscover (no login). */
import { Hono } from 'hono';
import type { WebContext, WebEnv } from '../context.js';

export function autoconfigRoutes(_ctx: WebContext): Hono<WebEnv> {
  return new Hono<WebEnv>();
}
