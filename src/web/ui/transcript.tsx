/**
 * The conversation view of one session's trace: client lines on the left, server lines on the right,
 * each server reply with its annotation, state changes as separators, and 🔒 on lines that were
 * encrypted on the wire. Also the hook that keeps a session's events live.
 */
import { useEffect, useState } from 'preact/hooks';
import { type AnnotatedEvent, type Annotation, get, type SessionSummary, seg } from './api';
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
  useEffect(() => {
    let live = true;
    setError(null);
    get<{ session: SessionSummary; events: AnnotatedEvent[] }>(`/api/sessions/${seg(id)}`).then(
      (r) => {
        if (!live) return;
        setSession(r.session);
        setEvents((old) => mergeEvents(ended ? old : [], r.events));
        if (r.session.active) setFollow(true);
      },
      (e: unknown) => live && setError(errorText(e)),
    );
    return () => {
      live = false;
    };
  }, [id, ended]);
  const stream = useEventStream(follow ? `/api/sessions/${seg(id)}/stream` : null, {
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

export function AnnotationView({
  a,
  onAnswers,
}: {
  a: Annotation;
  onAnswers?: (seq: number | null, scroll: boolean) => void;
}) {
  return (
    <div class="anno">
      <div class="anno-line">
        {a.code && <span class="code">{a.code}</span>}
        {a.enhanced && (
          <span class="enh" title="enhanced status code (RFC 3463): class.subject.detail">
            {a.enhanced}
          </span>
        )}
        <span class="summary">{a.summary}</span>
      </div>
      <div class="anno-meta">
        {a.answers && (
          <button
            type="button"
            class="answers"
            title="show the command this reply answers"
            onMouseEnter={() => onAnswers?.(a.answers!.seq, false)}
            onMouseLeave={() => onAnswers?.(null, false)}
            onFocus={() => onAnswers?.(a.answers!.seq, false)}
            onBlur={() => onAnswers?.(null, false)}
            onClick={() => onAnswers?.(a.answers!.seq, true)}
          >
            answers <code>{a.answers.command}</code>
          </button>
        )}
        {a.rfc && <Rfc rfc={a.rfc} />}
        {a.state && <span class="state-after">→ {a.state}</span>}
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

function Lock({ on }: { on: boolean }) {
  return on ? (
    <span class="lock" title="encrypted on the wire (TLS); shown here decrypted">
      🔒
    </span>
  ) : null;
}

/** One event as a row; `side` places client/server lines apart. */
export function EventRow({
  ev,
  highlighted,
  onAnswers,
  showTime = true,
  scope = '',
}: {
  ev: AnnotatedEvent;
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
          {ev.annotation && <AnnotationView a={ev.annotation} onAnswers={onAnswers} />}
        </div>
      </div>
    );
  }
  const label: Record<AnnotatedEvent['type'], string> = {
    open: 'connected',
    close: 'closed',
    tls: 'TLS',
    auth: 'authenticated',
    state: 'state',
    note: 'note',
    in: '',
    out: '',
  };
  return (
    <div class={`sep ${ev.type}`} id={`${scope}ev-${ev.seq}`} data-seq={ev.seq}>
      {time}
      <span>
        {ev.type === 'tls' && '🔒 '}
        <strong>{label[ev.type]}</strong> {ev.text}
        {ev.annotation?.state && ev.type !== 'state' && <em> → {ev.annotation.state}</em>}
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
  if (events.length === 0) return <p class="muted">No lines yet.</p>;
  return (
    <div class="conversation">
      <div class="heads" aria-hidden="true">
        <span>client</span>
        <span>server</span>
      </div>
      {events.map((ev) => (
        <EventRow key={ev.seq} ev={ev} highlighted={hl === ev.seq} onAnswers={onAnswers} />
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
      <input type="checkbox" checked={on} onChange={(e) => setOn(e.currentTarget.checked)} /> Large text
    </label>
  );
}
