/**
 * The exercises (docs/web.md "Exercises"): a student's checklist, the teacher's class overview
 * (students × exercises, filling in live, CSV export). Both load once, then follow
 * /api/exercises/stream. The exercises' texts come in the UI's language, like the rest of the page.
 */
import { useMemo, useState } from 'preact/hooks';
import { type ExercisesResponse, get, type Me, type ProgressEntry, type ProgressResponse } from '../api';
import { language, t, tx } from '../i18n';
import { ErrorBox, fmtTime, type Loaded, Loading, useEventStream, useLoad } from '../util';

/** The exercises in the UI's language (the one switch of the top bar). */
function useExercises(): Loaded<ExercisesResponse> {
  const lang = language();
  return useLoad(() => get<ExercisesResponse>(`/api/exercises?lang=${encodeURIComponent(lang)}`), `exercises:${lang}`);
}

/** Progress loaded once, then kept current by the live stream; ticks that arrived live are marked fresh. */
function useProgress(): {
  progress: Loaded<ProgressResponse>;
  done: Map<string, number>;
  fresh: Set<string>;
  stream: string;
} {
  const progress = useLoad(() => get<ProgressResponse>('/api/exercises/progress'), 'progress');
  const [live, setLive] = useState<Map<string, number>>(new Map());
  const stream = useEventStream('/api/exercises/stream', {
    progress: (data) => {
      const e = JSON.parse(data) as ProgressEntry;
      if (e.done && e.at !== null) setLive((m) => new Map(m).set(key(e.student, e.exercise), e.at ?? 0));
    },
  });
  const done = useMemo(() => {
    const m = new Map<string, number>();
    for (const e of progress.data?.progress ?? []) if (e.done && e.at !== null) m.set(key(e.student, e.exercise), e.at);
    for (const [k, at] of live) m.set(k, Math.min(at, m.get(k) ?? at));
    return m;
  }, [progress.data, live]);
  return { progress, done, fresh: new Set(live.keys()), stream };
}

const key = (student: string, exercise: string) => `${student}\0${exercise}`;

function LivePill({ stream }: { stream: string }) {
  return (
    <span class={`pill ${stream === 'live' ? 'ok' : 'warn'}`} title={t('exercises.liveTitle')}>
      {stream === 'live'
        ? t('stream.live')
        : stream === 'connecting'
          ? t('stream.connecting')
          : t('stream.reconnecting')}
    </span>
  );
}

export function ExercisesPage({ me }: { me: Me }) {
  return me.role === 'admin' ? <ClassOverview /> : <Checklist me={me} />;
}

/** A student's own exercises: done or not, with the hint for each. */
function Checklist({ me }: { me: Me }) {
  const list = useExercises();
  const { progress, done, fresh, stream } = useProgress();
  const exercises = list.data?.exercises ?? [];
  const count = exercises.filter((e) => done.has(key(me.name, e.id))).length;
  return (
    <section>
      <div class="titlebar">
        <h1>{t('exercises.title')}</h1>
        <LivePill stream={stream} />
        {list.data && (
          <span class="muted small" aria-live="polite">
            {t('exercises.count', { done: count, total: exercises.length })}
          </span>
        )}
      </div>
      <p class="muted">{t('exercises.intro')}</p>
      <ErrorBox error={list.error ?? progress.error} />
      {list.loading && !list.data ? (
        <Loading what={t('exercises.loadingWhat')} />
      ) : (
        <ol class="checklist" aria-label={t('exercises.yours')}>
          {exercises.map((e) => {
            const at = done.get(key(me.name, e.id));
            return (
              <li
                key={e.id}
                data-exercise={e.id}
                data-done={at !== undefined ? 'yes' : 'no'}
                class={`${at !== undefined ? 'done' : ''} ${fresh.has(key(me.name, e.id)) ? 'fresh' : ''}`}
              >
                <span class="mark" aria-hidden="true">
                  {at !== undefined ? '✓' : '○'}
                </span>
                <div>
                  <strong>{e.title}</strong>{' '}
                  <span class="muted small">
                    {at !== undefined ? t('exercises.doneAt', { time: fmtTime(at) }) : t('exercises.notYet')} ·{' '}
                    {e.protocols.map((p) => p.toUpperCase()).join(', ')}
                  </span>
                  <p class="hint">{e.hint}</p>
                </div>
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}

/** Every student × every exercise, filling in live; CSV download. */
function ClassOverview() {
  const list = useExercises();
  const { progress, done, fresh, stream } = useProgress();
  const [filter, setFilter] = useState('');
  const exercises = list.data?.exercises ?? [];
  const students = (progress.data?.students ?? []).filter((s) => s.includes(filter.trim().toLowerCase()));
  return (
    <section>
      <div class="titlebar">
        <h1>{t('overview.title')}</h1>
        <LivePill stream={stream} />
        <a class="button" href="/api/exercises/progress.csv" download>
          {t('overview.csv')}
        </a>
      </div>
      <p class="muted">{t('overview.intro')}</p>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t('overview.student')}
          <input
            type="search"
            placeholder={t('overview.studentPlaceholder')}
            value={filter}
            onInput={(e) => setFilter(e.currentTarget.value)}
          />
        </label>
      </form>
      <ErrorBox error={list.error ?? progress.error} />
      {(list.loading && !list.data) || (progress.loading && !progress.data) ? (
        <Loading what={t('overview.loadingWhat')} />
      ) : students.length === 0 ? (
        <p class="muted">
          {filter
            ? t('overview.noMatch')
            : tx('overview.noAccounts', { page: <a href="#/admin/lab">{t('nav.labAccounts')}</a> })}
        </p>
      ) : (
        <div class="scroll">
          <table class="overview" aria-label={t('overview.title')}>
            <thead>
              <tr>
                <th>{t('overview.student')}</th>
                {exercises.map((e, i) => (
                  <th key={e.id} title={e.title} class="num">
                    {i + 1}
                  </th>
                ))}
                <th class="num">{t('overview.done')}</th>
              </tr>
            </thead>
            <tbody>
              {students.map((s) => {
                const n = exercises.filter((e) => done.has(key(s, e.id))).length;
                return (
                  <tr key={s} data-student={s}>
                    <td class="mono">{s}</td>
                    {exercises.map((e) => {
                      const at = done.get(key(s, e.id));
                      return (
                        <td
                          key={e.id}
                          data-exercise={e.id}
                          data-done={at !== undefined ? 'yes' : 'no'}
                          class={`cell ${at !== undefined ? 'done' : ''} ${fresh.has(key(s, e.id)) ? 'fresh' : ''}`}
                          title={`${e.title}: ${at !== undefined ? t('exercises.doneAt', { time: fmtTime(at) }) : t('exercises.notYet')}`}
                        >
                          {at !== undefined ? '✓' : '·'}
                        </td>
                      );
                    })}
                    <td class="num">
                      {n}/{exercises.length}
                    </td>
                  </tr>
                );
              })}
            </tbody>
            <tfoot>
              <tr>
                <th>{t('overview.studentsDone')}</th>
                {exercises.map((e) => (
                  <td key={e.id} class="num">
                    {students.filter((s) => done.has(key(s, e.id))).length}
                  </td>
                ))}
                <td />
              </tr>
            </tfoot>
          </table>
        </div>
      )}
      <ol class="legend small">
        {exercises.map((e) => (
          <li key={e.id}>
            {e.title} <span class="muted">({e.id})</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
