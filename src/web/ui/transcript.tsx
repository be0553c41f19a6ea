/**
 * The conversation view of one session's trace: client lines on the left, server lines on the right,
 * each server reply with its annotation, state changes as separators, and 🔒 on lines that were
 * encrypted on the wire. Also the hook that keeps a session's events live.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { type AnnotatedEvent, type Annotation, get, type SessionSummary, seg } from './api';
import { language, t } from './i18n';
import { errorText, fmtTime, useEventStream } from './util';

export interface LiveSession {
  session: SessionSummary | null;
  events: AnnotatedEvent[];
  error: string | null;
  stream: 'connecting' | 'live' | 'closed' | 'error';
}

function mergeEvents(old: AnnotatedEvent[], add: AnnotatedEvent[]): AnnotatedEvent[] {
  const seen = new Set(old.map((e) => e.seq));
  const fresh = add.filter((e) => !seen.has(e.seq));
  if (fresh.length === 0) return old;
  return [...old, ...fresh].sort((a, b) => a.seq - b.seq);
}

/** Loads a session and its events, then follows /api/sessions/:id/stream while it is open. */
export function useLiveSession(id: string): LiveSession {
  const [session, setSession] = useState<SessionSummary | null>(null);
  const [events, setEvents] = useState<AnnotatedEvent[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [follow, setFollow] = useState(false);
  const [ended, setEnded] = useState(0);
  // The explanations come in the UI's language: a switch loads them again.
  const lang = language();
  const shownLang = useRef(lang);
  useEffect(() => {
    let live = true;
    setError(null);
    get<{ session: SessionSummary; events: AnnotatedEvent[] }>(`/api/sessions/${seg(id)}`).then(
      (r) => {
        if (!live) return;
        setSession(r.session);
        // Events of another language are replaced, not merged (merging keeps the first copy of a line).
        const same = shownLang.current === lang;
        shownLang.current = lang;
        setEvents((old) => mergeEvents(ended && same ? old : [], r.events));
        if (r.session.active) setFollow(true);
      },
      (e: unknown) => live && setError(errorText(e)),
    );
    return () => {
      live = false;
    };
  }, [id, ended, lang]);
  const stream = useEventStream(follow ? `/api/sessions/${seg(id)}/stream?lang=${lang}` : null, {
    event: (data) => {
      const ev = JSON.parse(data) as AnnotatedEvent;
      setEvents((old) => mergeEvents(old, [ev]));
    },
    end: () => {
      setFollow(false);
      setEnded((n) => n + 1);
    },
  });
  return { session, events, error, stream: follow ? stream : 'closed' };
}

function Rfc({ rfc }: { rfc: NonNullable<Annotation['rfc']> }) {
  return (
    <a href={rfc.url} target="_blank" rel="noreferrer" class="rfc">
      {rfc.doc}
      {rfc.section ? ` §${rfc.section.replace(/^§/, '')}` : ''}
    </a>
  );
}

/** What to show of an event's annotation, given the events before it (see `decorate`). */
export interface Shown {
  /** The client line this reply answers (its text), on the first line of a reply only. */
  answers: string | null;
  /** The state after this line, when it differs from the state before. */
  state: string | null;
  /** False for a client line explained exactly like the one before (e.g. body lines). */
  anno: boolean;
}

/** Decides per event what of its annotation is worth showing, so long replies stay readable. */
export function decorate(events: AnnotatedEvent[]): Map<number, Shown> {
  const text = new Map<number, string>();
  const out = new Map<number, Shown>();
  let state: string | null = null;
  let lastAnswers: number | null = null;
  let lastClient: string | null = null;
  for (const [i, ev] of events.entries()) {
    const a = ev.annotation;
    if (ev.type === 'in') text.set(ev.seq, ev.text);
    const shown: Shown = { answers: null, state: null, anno: a !== null };
    if (a?.answers && ev.type === 'out') {
      if (a.answers.seq !== lastAnswers) {
        const line = text.get(a.answers.seq) ?? a.answers.command;
        shown.answers = line.length > 60 ? `${line.slice(0, 57)}…` : line;
      }
      lastAnswers = a.answers.seq;
    }
    if (ev.type === 'in') {
      lastAnswers = null;
      if (a && a.summary === lastClient) shown.anno = false;
      lastClient = a?.summary ?? null;
    }
    if (a?.state && a.state !== state) {
      // A state event right after shows the change as a separator already.
      if (state !== null && ev.type !== 'state' && events[i + 1]?.type !== 'state') shown.state = a.state;
      state = a.state;
    }
    out.set(ev.seq, shown);
  }
  return out;
}

export function AnnotationView({
  a,
  shown,
  client,
  onAnswers,
}: {
  a: Annotation;
  shown: Shown;
  client: boolean;
  onAnswers?: (seq: number | null, scroll: boolean) => void;
}) {
  if (client) {
    return (
      <div class="anno compact">
        <span class="summary">{a.summary}</span>
        {a.detail && <span class="muted"> {a.detail}</span>} {a.rfc && <Rfc rfc={a.rfc} />}
      </div>
    );
  }
  return (
    <div class="anno">
      <div class="anno-line">
        {a.code && <span class="code">{a.code}</span>}
        {a.enhanced && (
          <span class="enh" title={t('transcript.enhancedTitle')}>
            {a.enhanced}
          </span>
        )}
        <span class="summary">{a.summary}</span>
      </div>
      <div class="anno-meta">
        {a.answers && shown.answers !== null && (
          <button
            type="button"
            class="answers"
            title={t('transcript.answersTitle')}
            onMouseEnter={() => onAnswers?.(a.answers!.seq, false)}
            onMouseLeave={() => onAnswers?.(null, false)}
            onFocus={() => onAnswers?.(a.answers!.seq, false)}
            onBlur={() => onAnswers?.(null, false)}
            onClick={() => onAnswers?.(a.answers!.seq, true)}
          >
            {t('transcript.answers')} <code>{shown.answers}</code>
          </button>
        )}
        {a.rfc && <Rfc rfc={a.rfc} />}
        {shown.state && <span class="state-after">{t('transcript.stateArrow', { state: shown.state })}</span>}
      </div>
      {a.detail && (
        <details>
          <summary>explain</summary>
          <p>{a.detail}</p>
        </details>
      )}
    </div>
  );
}

/** A padlock drawn in SVG (emoji fonts are missing on many lab machines and projectors). */
export function LockIcon({ title = 'encrypted on the wire (TLS); shown here decrypted' }: { title?: string }) {
  return (
    <svg class="lock" viewBox="0 0 16 16" width="0.9em" height="0.9em" role="img" aria-label={title}>
      <title>{title}</title>
      <path d="M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7h1zm2 0h4V5a2 2 0 0 0-4 0v2z" fill="currentColor" fill-rule="evenodd" />
    </svg>
  );
}

function Lock({ on }: { on: boolean }) {
  return on ? <LockIcon /> : null;
}

/** One event as a row; `side` places client/server lines apart. */
export function EventRow({
  ev,
  shown,
  highlighted,
  onAnswers,
  showTime = true,
  scope = '',
}: {
  ev: AnnotatedEvent;
  shown: Shown | undefined;
  highlighted: boolean;
  onAnswers: (seq: number | null, scroll: boolean) => void;
  showTime?: boolean;
  /** Prefix of the element ids, so two sessions on one page do not clash. */
  scope?: string;
}) {
  const time = showTime ? <time class="t">{fmtTime(ev.t)}</time> : null;
  if (ev.type === 'in' || ev.type === 'out') {
    const client = ev.type === 'in';
    return (
      <div
        class={`line ${client ? 'client' : 'server'}${highlighted ? ' hl' : ''}${ev.encrypted ? ' enc' : ''}`}
        id={`${scope}ev-${ev.seq}`}
        data-seq={ev.seq}
      >
        {time}
        <div class="bubble">
          <div class="text">
            <span class="who">{client ? 'C:' : 'S:'}</span>
            <Lock on={ev.encrypted} />
            <span class="wire">{ev.text === '' ? '\u00a0' : ev.text}</span>
          </div>
          {ev.annotation && shown?.anno !== false && (
            <AnnotationView
              a={ev.annotation}
              shown={shown ?? { answers: null, state: null, anno: true }}
              client={client}
              onAnswers={onAnswers}
            />
          )}
        </div>
      </div>
    );
  }
  const label: Record<AnnotatedEvent['type'], string> = {
    open: t('transcript.open'),
    close: t('transcript.close'),
    tls: 'TLS',
    auth: t('transcript.auth'),
    state: t('transcript.state'),
    note: t('transcript.note'),
    in: '',
    out: '',
  };
  const a = ev.annotation;
  return (
    <div class={`sep ${ev.type}`} id={`${scope}ev-${ev.seq}`} data-seq={ev.seq}>
      {time}
      <span>
        {ev.type === 'tls' && <LockIcon title={t('transcript.tlsStarts')} />}
        {ev.type === 'state' ? (
          <strong>{t('transcript.stateArrow', { state: a?.state ?? ev.text.replace(/^state:\s*/, '') })}</strong>
        ) : (
          <>
            <strong>{label[ev.type]}</strong> {ev.text}
          </>
        )}
        {a && ev.type !== 'state' && !ev.text.includes(a.summary) && <span class="muted"> · {a.summary}</span>}
      </span>
    </div>
  );
}

/** Highlight state for "which command does this reply answer", shared by the rows of a view. */
export function useAnswerHighlight(scope: string): [number | null, (seq: number | null, scroll: boolean) => void] {
  const [hl, setHl] = useState<number | null>(null);
  const [pinned, setPinned] = useState<number | null>(null);
  const on = (seq: number | null, scroll: boolean) => {
    if (scroll) {
      setPinned(seq);
      if (seq !== null) document.getElementById(`${scope}ev-${seq}`)?.scrollIntoView({ block: 'center' });
    } else setHl(seq);
  };
  return [hl ?? pinned, on];
}

export function Conversation({ events }: { events: AnnotatedEvent[] }) {
  const [hl, onAnswers] = useAnswerHighlight('');
  const shown = useMemo(() => decorate(events), [events]);
  if (events.length === 0) return <p class="muted">{t('compare.noLines')}</p>;
  return (
    <div class="conversation">
      <div class="heads" aria-hidden="true">
        <span>{t('transcript.client')}</span>
        <span>{t('transcript.server')}</span>
      </div>
      {events.map((ev) => (
        <EventRow key={ev.seq} ev={ev} shown={shown.get(ev.seq)} highlighted={hl === ev.seq} onAnswers={onAnswers} />
      ))}
    </div>
  );
}

/** "Large text" for projectors: a class on <html>, remembered in localStorage. */
export function LargeTextToggle() {
  const [on, setOn] = useState(() => localStorage.getItem('pb-large') === '1');
  useEffect(() => {
    document.documentElement.classList.toggle('large-text', on);
    localStorage.setItem('pb-large', on ? '1' : '0');
  }, [on]);
  return (
    <label class="toggle">
      <input type="checkbox" checked={on} onChange={(e) => setOn(e.currentTarget.checked)} />{' '}
      {t('transcript.largeText')}
    </label>
  );
}
