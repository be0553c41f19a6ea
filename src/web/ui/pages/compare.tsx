import { useMemo } from 'preact/hooks';
import type { AnnotatedEvent, Me } from '../api';
import { decorate, EventRow, LargeTextToggle, useAnswerHighlight, useLiveSession } from '../transcript';
import { ErrorBox, fmtTime, protoName } from '../util';
import { SessionFacts } from './session';

/**
 * Two sessions side by side on one time axis: every line of either session is one row, in the
 * column of its session, ordered by time; so an EXPUNGE sent to one IMAP client appears just below
 * the command of the other client that caused it.
 */
export function ComparePage({ a, b }: { a: string; b: string; me: Me }) {
  const left = useLiveSession(a);
  const right = useLiveSession(b);
  const [hlA, onA] = useAnswerHighlight('a-');
  const [hlB, onB] = useAnswerHighlight('b-');
  const shownA = useMemo(() => decorate(left.events), [left.events]);
  const shownB = useMemo(() => decorate(right.events), [right.events]);
  if (!a || !b) {
    return <ErrorBox error="Name two sessions: #/compare/FIRST-ID/SECOND-ID, or tick two in the session list." />;
  }
  const rows: { side: 'a' | 'b'; ev: AnnotatedEvent }[] = [
    ...left.events.map((ev) => ({ side: 'a' as const, ev })),
    ...right.events.map((ev) => ({ side: 'b' as const, ev })),
  ].sort((x, y) => x.ev.t - y.ev.t || (x.side === y.side ? x.ev.seq - y.ev.seq : x.side === 'a' ? -1 : 1));
  return (
    <section>
      <div class="titlebar">
        <h1>
          <a href="#/sessions" class="back" aria-label="back to the list">
            ←
          </a>{' '}
          Side by side
        </h1>
        <LargeTextToggle />
      </div>
      <ErrorBox error={left.error} />
      <ErrorBox error={right.error} />
      <div class="compare-head">
        {[left, right].map((x, i) => (
          <div key={i === 0 ? a : b}>
            <h2>
              <a href={`#/sessions/${encodeURIComponent(i === 0 ? a : b)}`}>
                {i === 0 ? 'A' : 'B'}: {x.session ? protoName(x.session.proto) : ''} {i === 0 ? a : b}
              </a>
              {x.stream === 'live' && <span class="pill ok">● live</span>}
            </h2>
            {x.session && <SessionFacts s={x.session} />}
          </div>
        ))}
      </div>
      <div class="compare">
        {rows.map(({ side, ev }) => (
          <div class={`crow ${side}`} key={`${side}${ev.seq}`}>
            <time class="t">{fmtTime(ev.t)}</time>
            <div class="cell">
              <EventRow
                ev={ev}
                scope={`${side}-`}
                shown={(side === 'a' ? shownA : shownB).get(ev.seq)}
                showTime={false}
                highlighted={(side === 'a' ? hlA : hlB) === ev.seq}
                onAnswers={side === 'a' ? onA : onB}
              />
            </div>
          </div>
        ))}
        {rows.length === 0 && <p class="muted">No lines yet.</p>}
      </div>
    </section>
  );
}
