/**
 * Explains a traced session line by line for the protocol lab: which command each reply answers,
 * what its codes mean (SMTP basic and enhanced codes, POP3, IMAP and ManageSieve response codes), where the RFC
 * defines it, and the session state after the line.
 *
 * Invariants:
 * - Pure: no I/O, no store. Feed one session's events in order (the 'open' event first); the result
 *   for an event depends only on the events before it, so a live view and a replay agree.
 * - Replies are paired with commands from a queue of pending commands, so pipelined commands
 *   (SMTP PIPELINING, POP3 PIPELINING, IMAP tags, ManageSieve in order) are paired correctly.
 * - `encrypted` is true after a 'tls' event, and for every line of a session opened on an
 *   implicit-TLS listener. The lab shows the decrypted text either way.
 * - Unknown input (a line the model cannot place) gets a plain annotation, never an exception.
 */

import type { Protocol, TraceEvent } from '../../trace/bus.js';
import type { AnnotatedEvent } from '../api-types.js';
import { type LabWords, type Language, labWords } from '../i18n/index.js';
import { ImapTracker } from './annotate-imap.js';
import { ManageSieveTracker } from './annotate-managesieve.js';
import { Pop3Tracker } from './annotate-pop3.js';
import { SmtpTracker } from './annotate-smtp.js';
import type { RfcRef } from './rfc.js';

export interface Annotator {
  push(event: TraceEvent): AnnotatedEvent;
  readonly state: string;
}

/** What the protocol trackers (annotate-smtp/pop3/imap/managesieve.ts) implement. */
export interface ProtocolTracker {
  readonly state: string;
  /** A line the client sent (already redacted by the engine). */
  client(seq: number, text: string): LineNote;
  /** A line the server sent. */
  server(seq: number, text: string): LineNote;
  /** A TLS handshake completed (after STARTTLS/STLS, or at once on implicit-TLS ports). */
  tls(): void;
  /** The engine reported a state; trackers use it when they joined a session late. */
  engineState(state: string): void;
  /**
   * The state an engine's state event announces, in this tracker's words. Engines report a change when
   * they make it, which may be before the reply that the tracker moves on: the event must show the
   * state after the change, not the one before.
   */
  stateAfter(engineState: string): string;
}

/** A tracker's note on one line; the annotator adds the state. */
export interface LineNote {
  code?: string | null;
  enhanced?: string | null;
  summary: string;
  detail?: string | null;
  answers?: { seq: number; command: string } | null;
  rfc?: RfcRef | null;
  /** For client lines: true when this is a command (not data, a literal or a SASL response). */
  command?: boolean;
  /** For replies: true when the reply reports a failure (SMTP 4xx/5xx, -ERR, NO, BAD). */
  failure?: boolean;
}

/**
 * A fresh tracker of one protocol, explaining in the language of `words` (the exercises' checker reads
 * sessions with them too, exercises/check.ts).
 */
export function trackerFor(proto: Protocol, words: LabWords = labWords()): ProtocolTracker {
  switch (proto) {
    case 'smtp':
      return new SmtpTracker(words);
    case 'pop3':
      return new Pop3Tracker(words);
    case 'imap':
      return new ImapTracker(words);
    case 'managesieve':
      return new ManageSieveTracker(words);
  }
}

interface Internal extends Annotator {
  /** The last note, for annotateSession's back references. */
  lastNote: LineNote | null;
}

/** An annotator whose explanations are in `lang`; the protocol lines stay as they crossed the wire. */
export function createAnnotator(proto: Protocol, lang: Language = 'en'): Annotator {
  return createInternal(proto, labWords(lang));
}

function createInternal(proto: Protocol, w: LabWords): Internal {
  const tracker = trackerFor(proto, w);
  let encrypted = false;
  const annotator: Internal = {
    lastNote: null,
    get state() {
      return tracker.state;
    },
    push(event) {
      annotator.lastNote = null;
      const base = (text: string, summary: string, detail: string | null = null): AnnotatedEvent => ({
        seq: event.type === 'open' ? 0 : event.seq,
        t: event.t,
        type: event.type,
        text,
        encrypted,
        annotation: {
          code: null,
          enhanced: null,
          summary,
          detail,
          answers: null,
          rfc: null,
          state: tracker.state,
        },
      });
      switch (event.type) {
        case 'open': {
          if (event.tls) {
            encrypted = true;
            tracker.tls();
          }
          const text = `${event.proto.toUpperCase()} connection from ${hostPort(event.remote, event.remotePort)} to ${hostPort(event.local, event.localPort)} (listener ${event.listener})`;
          return base(text, w.t(event.tls ? 'session.openTls' : 'session.openPlain'));
        }
        case 'tls': {
          const first = !encrypted;
          encrypted = true;
          if (first) tracker.tls();
          return base(
            `TLS established: ${event.protocol}, ${event.cipher}`,
            w.t('session.tlsDone'),
            w.t('session.tlsDetail', { protocol: event.protocol, cipher: event.cipher }),
          );
        }
        case 'auth':
          return base(
            `${event.ok ? 'login' : 'failed login'}: ${event.user} (${event.mechanism})`,
            w.t(event.ok ? 'session.authOk' : 'session.authFailed', { user: event.user, mechanism: event.mechanism }),
          );
        case 'state': {
          tracker.engineState(event.state);
          const after = tracker.stateAfter(event.state);
          const annotated = base(`state: ${event.state}`, w.t('session.state', { state: after }));
          if (annotated.annotation) annotated.annotation.state = after;
          return annotated;
        }
        case 'note':
          return base(event.text, event.text);
        case 'close':
          return base(`connection closed (${event.reason})`, w.t('session.closed', { reason: event.reason }));
        case 'in':
        case 'out': {
          const note =
            event.type === 'in' ? tracker.client(event.seq, event.text) : tracker.server(event.seq, event.text);
          annotator.lastNote = note;
          return {
            seq: event.seq,
            t: event.t,
            type: event.type,
            text: event.text,
            encrypted,
            annotation: {
              code: note.code ?? null,
              enhanced: note.enhanced ?? null,
              summary: note.summary,
              detail: note.detail ?? null,
              answers: note.answers ?? null,
              rfc: note.rfc ?? null,
              state: tracker.state,
            },
          };
        }
      }
    },
  };
  return annotator;
}

/**
 * Annotates a whole recorded session. Unlike the live annotator it can look back: a client command
 * that the server refused gets, in its detail, the number of the reply that explains why.
 */
export function annotateSession(events: TraceEvent[], lang: Language = 'en'): AnnotatedEvent[] {
  const open = events.find((e) => e.type === 'open');
  const proto: Protocol = open?.type === 'open' ? open.proto : 'smtp';
  const w = labWords(lang);
  const annotator = createInternal(proto, w);
  const out: AnnotatedEvent[] = [];
  const commands = new Map<number, AnnotatedEvent>();
  for (const event of events) {
    const annotated = annotator.push(event);
    const note = annotator.lastNote;
    out.push(annotated);
    if (!note) continue;
    if (note.command) commands.set(annotated.seq, annotated);
    const answered = note.answers ? commands.get(note.answers.seq) : undefined;
    if (note.failure && answered?.annotation) {
      const why = w.t('session.refusedBy', { seq: annotated.seq, reply: annotated.text.slice(0, 80) });
      const a = answered.annotation;
      if (!a.detail?.includes(why)) a.detail = a.detail ? `${a.detail} ${why}` : why;
    }
  }
  return out;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
