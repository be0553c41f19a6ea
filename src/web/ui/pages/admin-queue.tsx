import { api, get, type QueueEntryInfo, seg } from '../api';
import { ErrorBox, fmtBytes, fmtTime, Loading, useAction, useLoad } from '../util';

/** The outbound queue: mail waiting for other servers, per recipient, with the last errors. */
export function QueuePage() {
  const queue = useLoad(() => get<{ entries: QueueEntryInfo[] }>('/api/queue'), 'queue');
  const act = useAction();
  const retry = (id: QueueEntryInfo['id']) =>
    act.run(async () => {
      await api('POST', `/api/queue/${seg(id)}/retry`);
      queue.reload();
    });
  const remove = (id: QueueEntryInfo['id']) => {
    if (!confirm(`Delete queue entry ${id}? Its pending recipients will never get the message and no bounce is sent.`))
      return;
    act.run(async () => {
      await api('DELETE', `/api/queue/${seg(id)}`);
      queue.reload();
    });
  };
  const entries = queue.data?.entries ?? [];
  return (
    <section>
      <div class="titlebar">
        <h1>Outbound queue</h1>
        <button type="button" onClick={queue.reload} disabled={queue.loading}>
          Refresh
        </button>
      </div>
      <ErrorBox error={act.error} onClose={() => act.setError(null)} />
      <ErrorBox error={queue.error} />
      {queue.loading && !queue.data && <Loading what="the queue" />}
      {queue.data && entries.length === 0 && <p class="muted">The queue is empty: all outbound mail has left.</p>}
      {entries.map((q) => (
        <div class="card qentry" key={q.id}>
          <div class="titlebar">
            <h2>
              #{q.id} from <span class="mono">{q.envelopeFrom || '<>'}</span>
            </h2>
            <span class="muted small">
              {fmtBytes(q.size)} · queued {fmtTime(q.createdAt)} · {q.attempts} attempt{q.attempts === 1 ? '' : 's'} ·
              next {fmtTime(q.nextAttemptAt)}
            </span>
            <button type="button" onClick={() => retry(q.id)} disabled={act.busy}>
              Retry now
            </button>
            <button type="button" class="danger" onClick={() => remove(q.id)} disabled={act.busy}>
              Delete
            </button>
          </div>
          {q.lastError && <p class="lasterr">Last error: {q.lastError}</p>}
          <table>
            <thead>
              <tr>
                <th>Recipient</th>
                <th>State</th>
                <th>Last error</th>
              </tr>
            </thead>
            <tbody>
              {q.recipients.map((r) => (
                <tr key={r.address}>
                  <td class="mono">{r.address}</td>
                  <td>
                    <span class={`pill ${r.state === 'delivered' ? 'ok' : r.state === 'failed' ? 'bad' : 'warn'}`}>
                      {r.state}
                    </span>
                  </td>
                  <td class="small">{r.lastError ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </section>
  );
}
