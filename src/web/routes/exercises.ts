/**
 * The web lab's exercises (docs/web-api.md "Exercises"): the list in a language, a student's checklist,
 * the class overview (every student × every exercise) as JSON and CSV, and the ticks live (SSE).
 *
 * Invariants:
 * - Every route needs a login. A mail user sees only their own progress, whatever they ask for; the
 *   overview of the class and its CSV are for admins.
 * - Progress comes from the checker (exercises/progress.ts), which reads the session history: nobody
 *   reports their own progress, so nothing here changes it.
 * - The live stream is one SSE stream per client, counted in the same slots as the lab's streams
 *   (web.streams_per_user, web.max_streams); a tick is serialized once for all admin streams.
 * - Which language: `?lang=` (en, nl, fr), else the browser's Accept-Language, else `lab.language`; a text
 *   missing in that language comes in English. `{server}` in a text comes as the configured hostname.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { FrameQueue } from '../../net/bounded-writer.js';
import type { ExerciseInfo, ExercisesResponse, ProgressEntry, ProgressResponse } from '../api-types.js';
import { apiError, currentUser, requireAdmin, requireUser, type WebContext, type WebEnv } from '../context.js';
import { fillIn, LANGUAGES, protocolsOf, textIn } from '../exercises/definitions.js';
import { ExerciseTracker, progressTable } from '../exercises/progress.js';
import { negotiate } from '../i18n/index.js';
import { openEventStream, STREAM_QUEUE_BYTES, sseFrame, streamSlotsFor } from '../sse.js';
import { csvField } from './admin.js';

export function exercisesRoutes(ctx: WebContext): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const tracker = ctx.exercises instanceof ExerciseTracker ? ctx.exercises : null;
  const slots = streamSlotsFor(ctx.config);
  const stallMs = ctx.config.web.stream_stall_timeout * 1000;

  const needTracker = (): ExerciseTracker => {
    if (!tracker) {
      throw apiError(503, 'exercises.noRecorder');
    }
    return tracker;
  };

  /** The students of the overview: every mail account (an admin may narrow it with ?domain=). */
  const students = async (c: Context<WebEnv>): Promise<string[]> => {
    const user = currentUser(c);
    if (user.role === 'user') return [user.name];
    const domain = (c.req.query('domain') ?? '').trim().toLowerCase();
    return (await ctx.store.accounts.list())
      .map((a) => a.address)
      .filter((a) => domain === '' || a.endsWith(`@${domain}`))
      .sort();
  };

  const progress = async (c: Context<WebEnv>): Promise<ProgressResponse> => {
    const t = needTracker();
    const user = currentUser(c);
    const rows = await t.rows(user.role === 'user' ? user.name : undefined);
    const who = await students(c);
    return {
      students: who,
      exercises: t.exercises.map((e) => e.id),
      progress: progressTable(who, t.exercises, rows),
    };
  };

  app.use('/exercises', requireUser);
  app.use('/exercises/*', requireUser);

  app.get('/exercises', (c) => {
    const t = needTracker();
    const server = { server: ctx.config.hostname };
    const language = negotiate({
      chosen: c.req.query('lang'),
      acceptLanguage: c.req.header('accept-language'),
      configured: ctx.config.lab.language,
    });
    const exercises: ExerciseInfo[] = t.exercises.map((e) => ({
      id: e.id,
      title: fillIn(textIn(e.title, language), server),
      hint: fillIn(textIn(e.hint, language), server),
      protocols: protocolsOf(e.rule),
      download: e.rule.download !== undefined,
    }));
    const body: ExercisesResponse = { language, languages: [...LANGUAGES], exercises };
    return c.json(body);
  });

  app.get('/exercises/progress', async (c) => c.json(await progress(c)));

  app.get('/exercises/progress.csv', requireAdmin, async (c) => {
    const { students: who, exercises, progress: entries } = await progress(c);
    const at = new Map(entries.filter((e) => e.done).map((e) => [`${e.student}\0${e.exercise}`, e.at ?? 0]));
    const lines = [['student', ...exercises, 'done'].map(csvField).join(',')];
    for (const student of who) {
      const cells = exercises.map((id) => {
        const t = at.get(`${student}\0${id}`);
        return t === undefined ? '' : new Date(t).toISOString();
      });
      lines.push([student, ...cells, String(cells.filter((x) => x !== '').length)].map(csvField).join(','));
    }
    return c.body(`${lines.join('\r\n')}\r\n`, 200, {
      'Content-Type': 'text/csv; charset=utf-8; header=present',
      'Content-Disposition': 'attachment; filename="exercises-progress.csv"',
    });
  });

  app.get('/exercises/stream', (c) => {
    const t = needTracker();
    const user = currentUser(c);
    const release = slots.take(user);
    const queue = new FrameQueue(STREAM_QUEUE_BYTES);
    let stop: () => void = () => {};
    let opened: ReturnType<typeof openEventStream>;
    try {
      opened = openEventStream(c, queue, stallMs, (reason) => {
        stop();
        release();
        if (reason) ctx.log.info({ user: user.name, path: c.req.path, reason }, 'live stream dropped');
      });
    } catch (err) {
      release();
      throw err;
    }
    const { writer } = opened.stream;
    if (!writer.closed) {
      const mine = user.role === 'user' ? user.name.toLowerCase() : null;
      stop = t.subscribe((entry: ProgressEntry) => {
        if (mine !== null && entry.student !== mine) return;
        if (queue.push(frameOf(entry))) writer.pump();
        else writer.drop(`more than ${STREAM_QUEUE_BYTES >> 10} KB of events waiting: the client does not keep up`);
      });
    }
    return opened.response;
  });

  /** The frame of the tick being handed out now (every stream gets the same entry object). */
  let last: { entry: ProgressEntry; frame: Buffer } | null = null;
  const frameOf = (entry: ProgressEntry): Buffer => {
    if (last?.entry !== entry) last = { entry, frame: sseFrame('progress', JSON.stringify(entry)) };
    return last.frame;
  };

  return app;
}
