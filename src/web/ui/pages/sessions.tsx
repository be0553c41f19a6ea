import { useMemo, useState } from 'preact/hooks';
import { get, type Me, type SessionSummary, type UserInfo } from '../api';
import { LargeTextToggle, LockIcon } from '../transcript';
import {
  ErrorBox,
  fmtDuration,
  fmtTime,
  Loading,
  protoName,
  useDebounced,
  useEventStream,
  useLoad,
  useNow,
} from '../util';

/** How many sessions the list asks the server for (the API's default page). */
const LIMIT = 200;
/** Sessions pushed by the live stream kept in memory at most (a lesson can run for hours). */
const MAX_LIVE = 1000;

interface Filters {
  proto: string;
  user: string;
  remote: string;
  show: 'all' | 'active' | 'history';
}

/**
 * The same test the server applies to ?proto=&user=&remote= (recorder/access.ts): the user is an exact
 * address, the client address a prefix. Used for sessions that arrive over the live stream.
 */
function matches(s: SessionSummary, f: Filters): boolean {
  if (f.proto && s.proto !== f.proto) return false;
  if (f.user && (s.user ?? '') !== f.user.toLowerCase()) return false;
  if (f.remote && !s.remote.startsWith(f.remote)) return false;
  if (f.show === 'active' && !s.active) return false;
  if (f.show === 'history' && s.active) return false;
  return true;
}

export function stateClass(s: SessionSummary): string {
  return s.active ? 'state live' : 'state';
}

/** "greeted" while open; "closed" (with the reason when it is not a plain close) afterwards. */
export function stateText(s: SessionSummary): string {
  if (s.active) return s.state;
  const reason = s.closeReason && s.closeReason !== 'closed' ? `: ${s.closeReason}` : '';
  return `closed${reason}`;
}

/** Keeps the newest `max` sessions of the live map, live ones first. */
function prune(m: Map<string, SessionSummary>, max: number): Map<string, SessionSummary> {
  if (m.size <= max) return m;
  const keep = [...m.values()].sort((a, b) => Number(b.active) - Number(a.active) || b.start - a.start).slice(0, max);
  return new Map(keep.map((s) => [s.id, s]));
}

/** The live list of sessions: loaded once, then kept current by /api/sessions/stream. */
export function SessionsPage({ me }: { me: Me }) {
  const [f, setF] = useState<Filters>({ proto: '', user: '', remote: '', show: 'all' });
  const [live, setLive] = useState<Map<string, SessionSummary>>(new Map());
  const [picked, setPicked] = useState<string[]>([]);
  const now = useNow(1000);
  // The server filters (docs/web-api.md), so older sessions of one student are found too, not only
  // those among the newest 200; typed filters are sent once the typing pauses.
  const user = useDebounced(f.user.trim(), 400);
  const remote = useDebounced(f.remote.trim(), 400);
  const q = new URLSearchParams({ limit: String(LIMIT) });
  if (f.proto) q.set('proto', f.proto);
  if (user) q.set('user', user);
  if (remote) q.set('remote', remote);
  if (f.show === 'active') q.set('active', '1');
  const list = useLoad(() => get<{ sessions: SessionSummary[] }>(`/api/sessions?${q}`), q.toString());
  const users = useLoad(
    () => (me.role === 'admin' ? get<{ users: UserInfo[] }>('/api/users') : Promise.resolve({ users: [] })),
    'users',
  );
  const stream = useEventStream('/api/sessions/stream', {
    session: (data) => {
      const s = JSON.parse(data) as SessionSummary;
      setLive((m) => prune(new Map(m).set(s.id, s), MAX_LIVE));
    },
  });

  const applied: Filters = { ...f, user, remote };
  const rows = useMemo(() => {
    const byId = new Map<string, SessionSummary>();
    for (const s of list.data?.sessions ?? []) byId.set(s.id, s);
    for (const s of live.values()) byId.set(s.id, s);
    return [...byId.values()]
      .filter((s) => matches(s, applied))
      .sort((a, b) => Number(b.active) - Number(a.active) || b.start - a.start);
  }, [list.data, live, f.proto, f.show, user, remote]);
  const full = (list.data?.sessions.length ?? 0) >= LIMIT;

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
        <LargeTextToggle />
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Protocol
          <select value={f.proto} onChange={(e) => setF({ ...f, proto: e.currentTarget.value })}>
            <option value="">all</option>
            <option value="smtp">SMTP</option>
            <option value="pop3">POP3</option>
            <option value="imap">IMAP</option>
            <option value="managesieve">ManageSieve</option>
          </select>
        </label>
        {me.role === 'admin' && (
          <label>
            User
            <input
              type="search"
              list="session-users"
              placeholder="e.g. student01@class.example"
              title="the full address the session logged in with"
              value={f.user}
              onInput={(e) => setF({ ...f, user: e.currentTarget.value })}
            />
            <datalist id="session-users">
              {users.data?.users.map((u) => (
                <option key={u.address} value={u.address} />
              ))}
            </datalist>
          </label>
        )}
        <label>
          Client address
          <input
            type="search"
            placeholder="e.g. 10.0.0."
            title="the start of the client's IP address"
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
      ) : rows.length === 0 && (f.proto || user || remote || f.show !== 'all') ? (
        <p class="muted">No session matches these filters.</p>
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
                <th>Listener</th>
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
                      {protoName(s.proto)}
                    </a>
                  </td>
                  <td class="listener">
                    {s.listener} <span class="muted">{s.localPort}</span>
                  </td>
                  <td class="mono">
                    {s.remote}:{s.remotePort}
                  </td>
                  <td>
                    {s.user ?? (
                      <span class="muted" title="no login; MAIL FROM as the client gave it">
                        {s.mailFrom ? `from ${s.mailFrom}` : '—'}
                      </span>
                    )}
                  </td>
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
                    <span class={stateClass(s)} title={s.active ? 'state now' : `last state: ${s.state}`}>
                      {stateText(s)}
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {full && (
            <p class="muted small">
              The newest {LIMIT} sessions that match, plus new ones as they come. Narrow the filters to find older ones.
            </p>
          )}
        </div>
      )}
    </section>
  );
}
