/**
 * The outbound queue for admins (docs/web-api.md "Admin"): entries with their recipients, attempts,
 * next attempt and last errors; retry now; delete.
 *
 * Invariants:
 * - Admin only. Times are milliseconds since the epoch. Message bytes are not shown here (the sender's
 *   copy is in the mail browser).
 * - Retry makes the entry due now; the worker sends it on its next scan (delivery.retry_interval_scan).
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { QueueEntry } from '../../store/types.js';
import { type ApiError, apiError, badRequest, requireAdmin, type WebContext, type WebEnv } from '../context.js';

export function queueRoutes(ctx: WebContext): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.use('/queue', requireAdmin);
  app.use('/queue/*', requireAdmin);

  app.get('/queue', async (c) => {
    const entries = await ctx.store.queue.list();
    return c.json({ entries: entries.map(queueJson) });
  });

  app.post('/queue/:id/retry', async (c) => {
    const id = entryId(c);
    if (!(await ctx.store.queue.retry(id))) throw gone(id);
    return c.body(null, 204);
  });

  app.delete('/queue/:id', async (c) => {
    const id = entryId(c);
    if (!(await ctx.store.queue.delete(id))) throw gone(id);
    ctx.log.info({ queueId: id }, 'queue entry deleted from the web lab');
    return c.body(null, 204);
  });

  return app;
}

function entryId(c: Context<WebEnv>): number {
  const raw = c.req.param('id') ?? '';
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id < 1) throw badRequest('queue.badId', { id: raw });
  return id;
}

function gone(id: number): ApiError {
  return apiError(404, 'queue.gone', { id });
}

/** A queue entry as JSON, dates as milliseconds. */
export function queueJson(e: QueueEntry) {
  return {
    id: e.id,
    envelopeFrom: e.envelopeFrom,
    size: e.size,
    createdAt: e.createdAt.getTime(),
    nextAttemptAt: e.nextAttemptAt.getTime(),
    attempts: e.attempts,
    lastError: e.lastError,
    dsnRet: e.dsnRet,
    dsnEnvid: e.dsnEnvid,
    recipients: e.recipients.map((r) => ({
      address: r.address,
      state: r.state,
      lastError: r.lastError,
      notify: r.notify,
      orcpt: r.orcpt,
    })),
  };
}
