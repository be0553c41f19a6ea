import { useMemo, useState } from 'preact/hooks';
import { get, type Me, type SessionSummary } from '../api';
import { LockIcon } from '../transcript';
import { ErrorBox, fmtDuration, fmtTime, Loading, useEventStream, useLoad, useNow } from '../util';

interface Filters {
  proto: string;
  user: string;
  remote: string;
  show: 'all' | 'active' | 'history';
}

function matches(s: SessionSummary, f: Filters): boolean {
  if (f.proto && s.proto !== f.proto) return false;
  if (f.user && !(s.user ?? '').toLowerCase().includes(f.user.toLowerCase())) return false;
  if (f.remote && !`${s.remote}:${s.remotePort}`.includes(f.remote)) return false;
  if (f.show === 'active' && !s.active) return false;
  if (f.show === 'history' && s.active) return false;
  return true;
}

export function stateClass(s: SessionSummary): string {
  return s.active ? 'state live' : 'state';
}

/** The live list of sessions: loaded once, then kept current by /api/sessions/stream. */
export function SessionsPage({ me }: { me: Me }) {
  const [f, setF] = useState<Filters>({ proto: '', user: '', remote: '', show: 'all' });
  const [live, setLive] = useState<Map<string, SessionSummary>>(new Map());
  const [picked, setPicked] = useState<string[]>([]);
  const now = useNow(1000);
  const q = new URLSearchParams({ limit: '200' });
  if (f.proto) q.set('proto', f.proto);
  if (f.show === 'active') q.set('active', '1');
  const list = useLoad(() => get<{ sessions: SessionSummary[] }>(`/api/sessions?${q}`), q.toString());
  const stream = useEventStream('/api/sessions/stream', {
    session: (data) => {
      const s = JSON.parse(data) as SessionSummary;
      setLive((m) => new Map(m).set(s.id, s));
    },
  });

  const rows = useMemo(() => {
    const byId = new Map<string, SessionSummary>();
    for (const s of list.data?.sessions ?? []) byId.set(s.id, s);
    for (const s of live.values()) byId.set(s.id, s);
    return [...byId.values()]
      .filter((s) => matches(s, f))
      .sort((a, b) => Number(b.active) - Number(a.active) || b.start - a.start);
  }, [list.data, live, f]);

  const toggle = (id: string) => setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p.slice(-1), id]));

  return (
    <section>
      <div class="titlebar">
        <h1>Sessions</h1>
        <span class={`pill ${stream === 'live' ? 'ok' : 'warn'}`} title="live updates from /api/sessions/stream">
          {stream === 'live' ? '● live' : stream === 'connecting' ? 'connecting…' : 'reconnecting…'}
        </span>
        {picked.length === 2 ? (
          <a class="button" href={`#/compare/${encodeURIComponent(picked[0])}/${encodeURIComponent(picked[1])}`}>
            Compare the two selected
          </a>
        ) : (
          <span class="muted small">Tick two sessions to watch them side by side.</span>
        )}
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Protocol
          <select value={f.proto} onChange={(e) => setF({ ...f, proto: e.currentTarget.value })}>
            <option value="">all</option>
            <option value="smtp">SMTP</option>
            <option value="pop3">POP3</option>
            <option value="imap">IMAP</option>
          </select>
        </label>
        {me.role === 'admin' && (
          <label>
            User
            <input
              type="search"
              placeholder="e.g. student1"
              value={f.user}
              onInput={(e) => setF({ ...f, user: e.currentTarget.value })}
            />
          </label>
        )}
        <label>
          Client address
          <input
            type="search"
            placeholder="e.g. 10.0.0."
            value={f.remote}
            onInput={(e) => setF({ ...f, remote: e.currentTarget.value })}
          />
        </label>
        <fieldset class="seg" aria-label="Which sessions">
          {(['all', 'active', 'history'] as const).map((v) => (
            <label key={v} class={f.show === v ? 'on' : ''}>
              <input
                type="radio"
                name="show"
                value={v}
                checked={f.show === v}
                onChange={() => setF({ ...f, show: v })}
              />
              {v}
            </label>
          ))}
        </fieldset>
      </form>
      <ErrorBox error={list.error} />
      {list.loading && !list.data ? (
        <Loading what="sessions" />
      ) : rows.length === 0 ? (
        <p class="muted">
          No sessions yet. Connect a client, e.g. <code>telnet {location.hostname} 25</code>, and it appears here at
          once.
        </p>
      ) : (
        <div class="scroll">
          <table class="sessions">
            <thead>
              <tr>
                <th aria-label="Compare" />
                <th>Protocol</th>
                <th>Port</th>
                <th>Client</th>
                <th>User</th>
                <th>TLS</th>
                <th>Start</th>
                <th>Duration</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((s) => (
                <tr key={s.id} class={s.active ? 'active' : ''} data-session={s.id}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`select session ${s.id} for comparison`}
                      checked={picked.includes(s.id)}
                      onChange={() => toggle(s.id)}
                    />
                  </td>
                  <td>
                    <a href={`#/sessions/${encodeURIComponent(s.id)}`} class={`proto ${s.proto}`}>
                      {s.proto.toUpperCase()}
                    </a>
                  </td>
                  <td title={s.listener}>{s.localPort}</td>
                  <td class="mono">
                    {s.remote}:{s.remotePort}
                  </td>
                  <td>{s.user ?? <span class="muted">—</span>}</td>
                  <td title={s.tlsInfo ?? 'cleartext'}>
                    {s.tls ? (
                      <>
                        <LockIcon title={s.tlsInfo ?? 'TLS'} /> yes
                        {s.keyLogged && (
                          <span class="pill bad" title="TLS key logging was on: its keylog.txt decrypts a capture">
                            key logged
                          </span>
                        )}
                      </>
                    ) : (
                      'no'
                    )}
                  </td>
                  <td>{fmtTime(s.start)}</td>
                  <td>{fmtDuration((s.end ?? now) - s.start)}</td>
                  <td>
                    <span class={stateClass(s)}>{s.active ? s.state : `closed (${s.closeReason ?? s.state})`}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
