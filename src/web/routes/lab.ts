/**
 * The protocol lab (docs/web-api.md "Protocol lab"): sessions live and from the history, annotated
 * transcripts, live streams (SSE), exports (text, pcap, TLS key log), the capability explainer and
 * the TLS key log switch.
 *
 * Invariants:
 * - Every route needs a login; users see only sessions where they authenticated as themselves
 *   (recorder/access.ts decides), admins all. The key log routes are admin-only.
 * - SSE streams (src/web/sse.ts) send a comment line every 15 s, unsubscribe from the recorder when
 *   the client goes, and drop a client that does not keep up; a user has at most web.streams_per_user
 *   open, the server web.max_streams (429 beyond).
 * - An event is serialized once for all streams that show it: a session summary once per change (all
 *   list streams write the same bytes); the annotated events of a followed session once, in a hub that
 *   all its followers read from at their own pace (a follower holds a position, not a copy).
 * - Key log lines are served only as `keylog.txt` to admins; nothing else here ever contains them.
 * - Every capture download is logged, and handed to the exercises' checker (a student's download of
 *   their own cleartext session with a login is an exercise).
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { FrameQueue, type FrameSource } from '../../net/bounded-writer.js';
import { TlsKeyLog } from '../../net/keylog.js';
import type { Protocol, TraceEvent } from '../../trace/bus.js';
import type { CaptureInfo, SessionSummary } from '../api-types.js';
import {
  apiError,
  badRequest,
  currentUser,
  jsonBody,
  requireAdmin,
  requireUser,
  type WebContext,
  type WebEnv,
} from '../context.js';
import { ExerciseTracker } from '../exercises/progress.js';
import { type Language, labWords, negotiate } from '../i18n/index.js';
import { type Annotator, annotateSession, createAnnotator } from '../lab/annotate.js';
import { explainCapabilities, probeAdvertised } from '../lab/capabilities.js';
import { CAPTURE_CUT_NOTE, hasPasswords, sessionToPcap } from '../lab/pcap.js';
import { SessionRecorder, type Viewer } from '../recorder/index.js';
import { clientIp } from '../session-auth.js';
import { openEventStream, type SseStream, STREAM_QUEUE_BYTES, sseFrame, streamSlotsFor } from '../sse.js';

/** The probe shows up as four short sessions in the lab; what is advertised only changes with a restart. */
const CAPABILITIES_TTL_MS = 3_600_000;

const PROTOCOLS = ['smtp', 'pop3', 'imap', 'managesieve'] as const;

/** The warning shown wherever TLS key logging appears. */
export const KEYLOG_WARNING =
  "TLS key logging keeps the traffic keys of every new TLS session, so anyone with a session's keylog.txt and a capture of it can read it, passwords included. Turn it on only for a lab, and off again after.";

export function labRoutes(ctx: WebContext): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const recorder = ctx.recorder instanceof SessionRecorder ? ctx.recorder : null;
  const keylog = ctx.keylog instanceof TlsKeyLog ? ctx.keylog : null;
  const exercises = ctx.exercises instanceof ExerciseTracker ? ctx.exercises : null;
  /** What the listeners advertised, probed at most every CAPABILITIES_TTL_MS; explained per request in its language. */
  let capabilities: { at: number; value: ReturnType<typeof probeAdvertised> } | null = null;
  const slots = streamSlotsFor(ctx.config);
  const stallMs = ctx.config.web.stream_stall_timeout * 1000;
  /** Followed live sessions by id and language: one annotator and one list of frames for all their followers. */
  const hubs = new Map<string, FollowHub>();
  /** The explanations' language: the UI's switch (?lang=, an EventSource sends no header), the browser's, lab.language. */
  const viewerLanguage = (c: Context<WebEnv>): Language =>
    negotiate({
      chosen: c.req.query('lang'),
      acceptLanguage: c.req.header('accept-language'),
      configured: ctx.config.lab.language,
    });
  /** The frame of the summary the recorder is handing out now (it gives every listener the same object). */
  let summaryFrame: { summary: SessionSummary; frame: Buffer } | null = null;
  const frameOf = (s: SessionSummary): Buffer => {
    if (summaryFrame?.summary !== s) summaryFrame = { summary: s, frame: sseFrame('session', JSON.stringify(s)) };
    return summaryFrame.frame;
  };
  const dropped = (who: Viewer, path: string) => (reason: string | null) => {
    if (reason) ctx.log.info({ user: who.name, path, reason }, 'live stream dropped');
  };

  const needRecorder = (): SessionRecorder => {
    if (!recorder) {
      throw apiError(503, 'lab.noRecorder');
    }
    return recorder;
  };
  const viewer = (c: Context<WebEnv>): Viewer => {
    const user = currentUser(c);
    // Classroom mode: a student also sees the port-25 sessions from the address they use the lab from.
    return ctx.config.lab.classroom
      ? { role: user.role, name: user.name, remote: clientIp(c) }
      : { role: user.role, name: user.name };
  };
  /** A session the caller may see, or 404/403. */
  const session = async (c: Context<WebEnv>) => {
    const id = c.req.param('id') ?? '';
    const found = await needRecorder().get(viewer(c), id);
    if (found === null) {
      throw apiError(404, 'lab.noSession', { id });
    }
    if (found === 'forbidden') {
      throw apiError(403, 'lab.notYours', { id, name: currentUser(c).name });
    }
    return found;
  };

  app.use('/sessions', requireUser);
  app.use('/sessions/*', requireUser);
  app.use('/capabilities', requireUser);
  app.use('/keylog', requireAdmin);

  app.get('/sessions', async (c) => {
    const q = c.req.query();
    const proto = q.proto || undefined;
    if (proto !== undefined && !(PROTOCOLS as readonly string[]).includes(proto)) {
      throw badRequest('lab.badProto', { proto });
    }
    let limit = 200;
    if (q.limit) {
      limit = Number(q.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw badRequest('lab.badLimit');
      }
    }
    const sessions = await needRecorder().list(viewer(c), {
      ...(proto ? { proto: proto as Protocol } : {}),
      ...(q.user ? { user: q.user } : {}),
      ...(q.remote ? { remote: q.remote } : {}),
      active: q.active === '1' || q.active === 'true',
      limit,
    });
    return c.json({ sessions });
  });

  // Before /sessions/:id, which would take "stream" for an id.
  app.get('/sessions/stream', (c) => {
    const rec = needRecorder();
    const who = viewer(c);
    const release = slots.take(currentUser(c));
    const queue = new FrameQueue(STREAM_QUEUE_BYTES);
    let stop: () => void = () => {};
    let opened: ReturnType<typeof openEventStream>;
    try {
      opened = openEventStream(c, queue, stallMs, (reason) => {
        stop();
        release();
        dropped(who, c.req.path)(reason);
      });
    } catch (err) {
      release();
      throw err;
    }
    const { writer } = opened.stream;
    if (!writer.closed) {
      stop = rec.subscribeSessions(who, (s: SessionSummary) => {
        if (queue.push(frameOf(s))) writer.pump();
        else writer.drop(`more than ${STREAM_QUEUE_BYTES >> 10} KB of events waiting: the client does not keep up`);
      });
    }
    return opened.response;
  });

  app.get('/sessions/:id', async (c) => {
    const found = await session(c);
    const lang = viewerLanguage(c);
    return c.json({ session: found.summary, events: annotateSession(found.events, lang) });
  });

  app.get('/sessions/:id/stream', async (c) => {
    const found = await session(c);
    const rec = needRecorder();
    const who = viewer(c);
    const id = found.summary.id;
    // One hub per session and language: its frames are made once and shared by the viewers.
    const lang = viewerLanguage(c);
    const hubKey = `${id}\0${lang}`;
    const release = slots.take(currentUser(c));
    let hub = hubs.get(hubKey);
    if (!hub) {
      const created: FollowHub = new FollowHub(id, createAnnotator(found.summary.proto, lang), () => {
        if (hubs.get(hubKey) === created) hubs.delete(hubKey);
      });
      // In the map before the recorder answers (it may read the session's start back from the store):
      // a viewer that comes meanwhile joins this hub, whose frames start when it has them.
      hubs.set(hubKey, created);
      hub = created;
      let followed: Awaited<ReturnType<typeof rec.follow>>;
      try {
        followed = await rec.follow(id, (e) => created.push(e));
      } catch (err) {
        if (hubs.get(hubKey) === created) hubs.delete(hubKey);
        created.start([], () => {});
        created.push(null);
        release();
        throw err;
      }
      if (followed) created.start(followed.events, followed.stop);
      else {
        // Closed already: replay what was recorded and end.
        if (hubs.get(hubKey) === created) hubs.delete(hubKey);
        const again = await rec.get(who, id).catch(() => null);
        created.start(again && again !== 'forbidden' ? again.events : found.events, () => {});
        created.push(null);
      }
    }
    const cursor = hub.cursor();
    const joined = hub;
    try {
      const { response, stream } = openEventStream(c, cursor, stallMs, (reason) => {
        joined.leave(cursor);
        release();
        dropped(who, c.req.path)(reason);
      });
      cursor.writer = stream.writer;
      stream.writer.pump();
      return response;
    } catch (err) {
      joined.leave(cursor);
      release();
      throw err;
    }
  });

  app.get('/sessions/:id/transcript.txt', async (c) => {
    const found = await session(c);
    return c.body(transcript(found.summary, found.events, found.encrypted), 200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Disposition': `inline; filename="postbode-${found.summary.id}.txt"`,
    });
  });

  /**
   * The form of a session's pcap the caller asks for (`?passwords=1`: with the passwords) and may
   * have: the passwords only for admins, only when the recorder kept them (lab.capture_passwords, a
   * session without TLS), else 403 saying why.
   */
  const captureOf = async (c: Context<WebEnv>) => {
    const found = await session(c);
    const wire = await needRecorder().wire(found.summary.id);
    const available = needRecorder().capturePasswords && hasPasswords(wire);
    const cut = found.events.some((e) => e.type === 'note' && e.text.startsWith(CAPTURE_CUT_NOTE));
    return { found, wire, available, cut };
  };

  app.get('/sessions/:id/capture', async (c) => {
    const { found, wire, available, cut } = await captureOf(c);
    const info: CaptureInfo = {
      bytes: wire.reduce((n, w) => n + w.data.length, 0),
      cut,
      passwords: available && currentUser(c).role === 'admin',
      keptPasswords: needRecorder().capturePasswords && !found.summary.tls,
    };
    return c.json(info);
  });

  app.get('/sessions/:id/capture.pcap', async (c) => {
    const { found, wire, available } = await captureOf(c);
    const asked = c.req.query('passwords');
    const passwords = asked !== undefined && asked !== '0' && asked !== 'false';
    if (passwords) {
      if (currentUser(c).role !== 'admin') {
        throw apiError(403, 'lab.passwordsAdminOnly');
      }
      if (!available) {
        throw apiError(403, found.summary.tls ? 'lab.passwordsTls' : 'lab.noPasswords', { id: found.summary.id });
      }
    }
    const pcap = sessionToPcap(found.events, wire, { passwords });
    // Recorded: a student's download of their own cleartext session is an exercise (exercises/).
    const who = currentUser(c);
    ctx.log.info({ user: who.name, session: found.summary.id, passwords }, 'capture downloaded');
    exercises?.downloaded(who, found.summary, found.events, found.encrypted);
    return c.body(new Uint8Array(pcap), 200, {
      'Content-Type': 'application/vnd.tcpdump.pcap',
      'Content-Disposition': `attachment; filename="postbode-${found.summary.id}${passwords ? '-passwords' : ''}.pcap"`,
      'X-Capture-Form': passwords ? 'passwords' : 'redacted',
    });
  });

  app.get('/sessions/:id/keylog.txt', requireAdmin, async (c) => {
    const found = await session(c);
    const lines = keylog?.lines(found.summary.id) ?? null;
    if (!lines) {
      throw apiError(404, 'lab.noKeylog', { id: found.summary.id });
    }
    const header = `# postbode TLS key log of session ${found.summary.id} (NSS key log format). ${KEYLOG_WARNING}\n`;
    return c.body(header + lines.map((l) => `${l}\n`).join(''), 200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Disposition': `attachment; filename="postbode-${found.summary.id}.keylog.txt"`,
    });
  });

  app.get('/keylog', (c) => c.json({ enabled: keylog?.enabled ?? false, warning: KEYLOG_WARNING }));

  app.put('/keylog', async (c) => {
    const body = await jsonBody(c, z.object({ enabled: z.boolean() }));
    if (!keylog) throw apiError(503, 'lab.keylogUnavailable');
    keylog.enabled = body.enabled;
    ctx.log.warn(
      { admin: currentUser(c).name, enabled: body.enabled },
      body.enabled ? 'TLS key logging turned on (new TLS sessions are decryptable)' : 'TLS key logging turned off',
    );
    return c.json({ enabled: keylog.enabled, warning: KEYLOG_WARNING });
  });

  app.get('/capabilities', async (c) => {
    const now = Date.now();
    if (!capabilities || now - capabilities.at > CAPABILITIES_TTL_MS) {
      const value = probeAdvertised(ctx.listeners.filter((l) => l.name !== 'http'));
      capabilities = { at: now, value };
      value.catch(() => {
        capabilities = null;
      });
    }
    const seen = await capabilities.value;
    const lang = viewerLanguage(c);
    const explained = explainCapabilities(seen, lang);
    // The probe sees what a client sees before login; IMAP lists its extensions only after
    // LOGIN (RFC 9051 §6.1.1), so those come from the engine's own list (through the context),
    // marked as such.
    if (seen.imap.length > 0) {
      const afterLogin = ctx.capabilitiesAfterLogin.imap.filter((k) => !seen.imap.includes(k));
      const w = labWords(lang);
      for (const cap of explainCapabilities({ smtp: [], pop3: [], imap: afterLogin }, lang).imap) {
        explained.imap.push({ ...cap, effect: `${w.t('cap.afterLogin')} ${cap.effect}` });
      }
    }
    return c.json(explained);
  });

  return app;
}

/**
 * One followed session: its events annotated and serialized once, kept as frames (at most the
 * recorder's events per session, plus the end), read by every follower from its own position.
 */
class FollowHub {
  readonly frames: Buffer[] = [];
  ended = false;
  readonly #cursors = new Set<HubCursor>();
  #stop: () => void = () => {};
  #pending: (TraceEvent | null)[] = [];
  #started = false;

  constructor(
    readonly id: string,
    readonly annotator: Annotator,
    readonly onIdle: () => void,
  ) {}

  /** The events so far, then those that arrived meanwhile; viewers that joined before get them. */
  start(events: TraceEvent[], stop: () => void): void {
    this.#stop = stop;
    for (const e of events) this.#add(e);
    this.#started = true;
    for (const e of this.#pending) this.push(e);
    this.#pending = [];
    for (const cursor of this.#cursors) cursor.writer?.pump();
  }

  /** A new event of the session, or null when it ended. */
  push(e: TraceEvent | null): void {
    if (this.ended) return;
    if (!this.#started) {
      this.#pending.push(e);
      return;
    }
    if (e) this.#add(e);
    else {
      this.frames.push(sseFrame('end', JSON.stringify({ id: this.id })));
      this.ended = true;
      this.#stop();
      this.onIdle();
    }
    for (const cursor of this.#cursors) cursor.writer?.pump();
  }

  #add(e: TraceEvent): void {
    this.frames.push(sseFrame('event', JSON.stringify(this.annotator.push(e))));
  }

  cursor(): HubCursor {
    const cursor = new HubCursor(this);
    this.#cursors.add(cursor);
    return cursor;
  }

  leave(cursor: HubCursor): void {
    this.#cursors.delete(cursor);
    if (this.#cursors.size === 0 && !this.ended) {
      this.ended = true;
      this.#stop();
      this.onIdle();
    }
  }
}

class HubCursor implements FrameSource {
  #next = 0;
  writer: SseStream['writer'] | null = null;

  constructor(readonly hub: FollowHub) {}

  next(): Uint8Array | null {
    return this.#next < this.hub.frames.length ? this.hub.frames[this.#next++] : null;
  }

  get finished(): boolean {
    return this.hub.ended && this.#next >= this.hub.frames.length;
  }
}

function clock(t: number): string {
  return new Date(t).toISOString().slice(11, 23);
}

/** The plain-text export: a header, then one line per event with its time (UTC). */
export function transcript(summary: SessionSummary, events: TraceEvent[], encrypted: boolean[]): string {
  const lines = [
    `# postbode session ${summary.id}: ${summary.proto} on ${summary.listener} (port ${summary.localPort}) from ${summary.remote}:${summary.remotePort}`,
    `# started ${new Date(summary.start).toISOString()}${summary.end ? `, ended ${new Date(summary.end).toISOString()}` : ', still open'}${summary.user ? `, user ${summary.user}` : ''}${summary.tlsInfo ? `, ${summary.tlsInfo}` : ''}`,
    '# C: client, S: server, --: what happened; secrets are redacted. Times are UTC.',
  ];
  if (summary.keyLogged) lines.push('# TLS key log was on for this session: its secrecy is weakened.');
  events.forEach((e, i) => {
    const lock = encrypted[i] ? ' [TLS]' : '';
    switch (e.type) {
      case 'in':
        lines.push(`${clock(e.t)} C:${lock} ${e.text}`);
        break;
      case 'out':
        lines.push(`${clock(e.t)} S:${lock} ${e.text}`);
        break;
      case 'open':
        lines.push(`${clock(e.t)} -- connected${e.tls ? ' (implicit TLS)' : ''}`);
        break;
      case 'tls':
        lines.push(`${clock(e.t)} -- TLS established: ${e.protocol} ${e.cipher}`);
        break;
      case 'auth':
        lines.push(`${clock(e.t)} -- ${e.ok ? 'logged in' : 'login failed'}: ${e.user} (${e.mechanism})`);
        break;
      case 'state':
        lines.push(`${clock(e.t)} -- state: ${e.state}`);
        break;
      case 'note':
        lines.push(`${clock(e.t)} -- ${e.text}`);
        break;
      case 'close':
        lines.push(`${clock(e.t)} -- closed: ${e.reason}`);
        break;
    }
  });
  return `${lines.join('\n')}\n`;
}
