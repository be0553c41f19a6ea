/**
 * The exercises (docs/web.md "Exercises"): a student's checklist, the teacher's class overview
 * (students × exercises, filling in live, CSV export). Both load once, then follow
 * /api/exercises/stream. The exercises' texts come in the language picked here (kept in the browser),
 * else the browser's; the rest of the page is in English until the UI is translated.
 */
import { useMemo, useState } from 'preact/hooks';
import { type ExercisesResponse, get, type Me, type ProgressEntry, type ProgressResponse } from '../api';
import { ErrorBox, fmtTime, type Loaded, Loading, useEventStream, useLoad } from '../util';

const LANG_KEY = 'postbode-exercise-language';
const LANGUAGE_NAMES: Record<string, string> = { en: 'English', nl: 'Nederlands', fr: 'Français' };

function storedLanguage(): string {
  try {
    return localStorage.getItem(LANG_KEY) ?? '';
  } catch {
    return '';
  }
}

/** The exercises in the chosen language, and the switch that chooses it. */
function useExercises(): {
  list: Loaded<ExercisesResponse>;
  lang: string;
  setLang: (l: string) => void;
} {
  const [lang, setLangState] = useState(storedLanguage());
  const list = useLoad(
    () => get<ExercisesResponse>(`/api/exercises${lang ? `?lang=${encodeURIComponent(lang)}` : ''}`),
    `exercises:${lang}`,
  );
  const setLang = (l: string) => {
    try {
      localStorage.setItem(LANG_KEY, l);
    } catch {
      // a browser without storage still switches for this page
    }
    setLangState(l);
  };
  return { list, lang, setLang };
}

function LanguageSwitch({
  value,
  languages,
  onChange,
}: {
  value: string;
  languages: string[];
  onChange: (l: string) => void;
}) {
  return (
    <label>
      Language of the exercises
      <select value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {languages.map((l) => (
          <option key={l} value={l}>
            {LANGUAGE_NAMES[l] ?? l}
          </option>
        ))}
      </select>
    </label>
  );
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
    <span class={`pill ${stream === 'live' ? 'ok' : 'warn'}`} title="live updates from /api/exercises/stream">
      {stream === 'live' ? '● live' : stream === 'connecting' ? 'connecting…' : 'reconnecting…'}
    </span>
  );
}

export function ExercisesPage({ me }: { me: Me }) {
  return me.role === 'admin' ? <ClassOverview /> : <Checklist me={me} />;
}

/** A student's own exercises: done or not, with the hint for each. */
function Checklist({ me }: { me: Me }) {
  const { list, lang, setLang } = useExercises();
  const { progress, done, fresh, stream } = useProgress();
  const exercises = list.data?.exercises ?? [];
  const count = exercises.filter((e) => done.has(key(me.name, e.id))).length;
  return (
    <section>
      <div class="titlebar">
        <h1>Exercises</h1>
        <LivePill stream={stream} />
        {list.data && (
          <span class="muted small" aria-live="polite">
            {count} of {exercises.length} done
          </span>
        )}
      </div>
      <p class="muted">
        The lab ticks an exercise by itself as soon as one of your sessions does it: do it with telnet, openssl or your
        mail client, then watch it here. A port-25 session without a login counts for you when its MAIL FROM is your
        address, or when it comes from the computer you use this page on.
      </p>
      {list.data && (
        <form class="filters" onSubmit={(e) => e.preventDefault()}>
          <LanguageSwitch value={lang || list.data.language} languages={list.data.languages} onChange={setLang} />
        </form>
      )}
      <ErrorBox error={list.error ?? progress.error} />
      {list.loading && !list.data ? (
        <Loading what="exercises" />
      ) : (
        <ol class="checklist" aria-label="Your exercises">
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
                    {at !== undefined ? `done ${fmtTime(at)}` : 'not yet'} ·{' '}
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
  const { list, lang, setLang } = useExercises();
  const { progress, done, fresh, stream } = useProgress();
  const [filter, setFilter] = useState('');
  const exercises = list.data?.exercises ?? [];
  const students = (progress.data?.students ?? []).filter((s) => s.includes(filter.trim().toLowerCase()));
  return (
    <section>
      <div class="titlebar">
        <h1>Class overview</h1>
        <LivePill stream={stream} />
        <a class="button" href="/api/exercises/progress.csv" download>
          Download CSV
        </a>
      </div>
      <p class="muted">
        Each cell ticks as soon as a student's session does the exercise (from the recorded sessions: nobody ticks their
        own). Hover a tick for its time, a number for the exercise.
      </p>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Student
          <input
            type="search"
            placeholder="e.g. student0"
            value={filter}
            onInput={(e) => setFilter(e.currentTarget.value)}
          />
        </label>
        {list.data && (
          <LanguageSwitch value={lang || list.data.language} languages={list.data.languages} onChange={setLang} />
        )}
      </form>
      <ErrorBox error={list.error ?? progress.error} />
      {(list.loading && !list.data) || (progress.loading && !progress.data) ? (
        <Loading what="the class overview" />
      ) : students.length === 0 ? (
        <p class="muted">
          {filter ? 'No student matches.' : 'No mail accounts yet: make them on the Lab accounts page.'}
        </p>
      ) : (
        <div class="scroll">
          <table class="overview" aria-label="Class overview">
            <thead>
              <tr>
                <th>Student</th>
                {exercises.map((e, i) => (
                  <th key={e.id} title={e.title} class="num">
                    {i + 1}
                  </th>
                ))}
                <th class="num">Done</th>
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
                          title={at !== undefined ? `${e.title}: done ${fmtTime(at)}` : `${e.title}: not yet`}
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
                <th>Students done</th>
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
