import { api, get, type QueueEntryInfo, seg } from '../api';
import { t } from '../i18n';
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
    if (!confirm(t('queue.confirmDelete', { id }))) return;
    act.run(async () => {
      await api('DELETE', `/api/queue/${seg(id)}`);
      queue.reload();
    });
  };
  const entries = queue.data?.entries ?? [];
  return (
    <section>
      <div class="titlebar">
        <h1>{t('queue.title')}</h1>
        <button type="button" onClick={queue.reload} disabled={queue.loading}>
          {t('queue.refresh')}
        </button>
      </div>
      <ErrorBox error={act.error} onClose={() => act.setError(null)} />
      <ErrorBox error={queue.error} />
      {queue.loading && !queue.data && <Loading what={t('queue.loadingWhat')} />}
      {queue.data && entries.length === 0 && <p class="muted">{t('queue.empty')}</p>}
      {entries.map((q) => (
        <div class="card qentry" key={q.id}>
          <div class="titlebar">
            <h2>
              #{q.id} {t('queue.from')} <span class="mono">{q.envelopeFrom || '<>'}</span>
            </h2>
            <span class="muted small">
              {fmtBytes(q.size)} · {t('queue.queued', { time: fmtTime(q.createdAt) })} ·{' '}
              {t(q.attempts === 1 ? 'queue.attempt' : 'queue.attempts', { n: q.attempts })} ·{' '}
              {t('queue.next', { time: fmtTime(q.nextAttemptAt) })}
            </span>
            <button type="button" onClick={() => retry(q.id)} disabled={act.busy}>
              {t('queue.retry')}
            </button>
            <button type="button" class="danger" onClick={() => remove(q.id)} disabled={act.busy}>
              {t('common.delete')}
            </button>
          </div>
          {q.lastError && <p class="lasterr">{t('queue.lastErrorIs', { error: q.lastError })}</p>}
          <table>
            <thead>
              <tr>
                <th>{t('queue.recipient')}</th>
                <th>{t('sessions.col.state')}</th>
                <th>{t('queue.lastError')}</th>
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
