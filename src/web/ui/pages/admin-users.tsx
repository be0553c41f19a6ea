import { useState } from 'preact/hooks';
import { api, get, seg, type UserInfo } from '../api';
import { t, tx } from '../i18n';
import { ErrorBox, fmtBytes, fmtTime, Loading, Notice, parseSize, useAction, useLoad } from '../util';

/** A password the server generated or reset: shown once, so the admin can hand it out. */
function Secret({ address, password, onClose }: { address: string; password: string; onClose: () => void }) {
  return (
    <Notice>
      {tx('users.secret', { address: <strong>{address}</strong>, password: <code class="secret">{password}</code> })}{' '}
      <span class="muted small">{t('users.shownOnce')}</span>{' '}
      <button type="button" class="link" onClick={onClose}>
        {t('users.done')}
      </button>
    </Notice>
  );
}

export function UsersPage() {
  const users = useLoad(() => get<{ users: UserInfo[] }>('/api/users'), 'users');
  const act = useAction();
  const [address, setAddress] = useState('');
  const [password, setPassword] = useState('');
  const [quota, setQuota] = useState('');
  const [secret, setSecret] = useState<{ address: string; password: string } | null>(null);

  const create = (e: Event) => {
    e.preventDefault();
    act.run(async () => {
      const quotaBytes = parseSize(quota);
      const r = await api<{ address: string; password: string }>('POST', '/api/users', {
        address: address.trim(),
        ...(password ? { password } : {}),
        ...(quotaBytes !== null ? { quotaBytes } : {}),
      });
      setSecret(password ? null : r);
      setAddress('');
      setPassword('');
      setQuota('');
      users.reload();
    });
  };
  const remove = (a: string) => {
    if (!confirm(t('users.confirmDelete', { address: a }))) return;
    act.run(async () => {
      await api('DELETE', `/api/users/${seg(a)}`);
      users.reload();
    });
  };
  const reset = (a: string) => {
    const pw = prompt(t('users.promptPassword', { address: a }));
    if (pw === null) return;
    act.run(async () => {
      const r = await api<{ password: string }>('POST', `/api/users/${seg(a)}/password`, pw ? { password: pw } : {});
      setSecret({ address: a, password: r.password });
    });
  };
  const setQuotaOf = (u: UserInfo) => {
    const q = prompt(t('users.promptQuota', { address: u.address }), u.quotaBytes === null ? '' : String(u.quotaBytes));
    if (q === null) return;
    act.run(async () => {
      await api('PUT', `/api/users/${seg(u.address)}/quota`, { quotaBytes: parseSize(q) });
      users.reload();
    });
  };

  return (
    <section>
      <h1>{t('nav.users')}</h1>
      <form class="card inline" onSubmit={create} aria-label={t('users.createLabel')}>
        <label>
          {t('users.address')}
          <input
            name="address"
            type="email"
            required
            placeholder="student@example.org"
            value={address}
            onInput={(e) => setAddress(e.currentTarget.value)}
          />
        </label>
        <label>
          {t('login.password')}
          <input
            name="password"
            type="text"
            autoComplete="new-password"
            placeholder={t('users.passwordPlaceholder')}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <label>
          {t('users.quota')}
          <input
            name="quota"
            placeholder={t('users.quotaPlaceholder')}
            value={quota}
            onInput={(e) => setQuota(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={act.busy}>
          {t('users.create')}
        </button>
      </form>
      <ErrorBox error={act.error} onClose={() => act.setError(null)} />
      {secret && <Secret {...secret} onClose={() => setSecret(null)} />}
      <ErrorBox error={users.error} />
      {users.loading && !users.data && <Loading what={t('users.loadingWhat')} />}
      {users.data && users.data.users.length === 0 && <p class="muted">{t('users.none')}</p>}
      {users.data && users.data.users.length > 0 && (
        <div class="scroll">
          <table class="users">
            <thead>
              <tr>
                <th>{t('users.address')}</th>
                <th>{t('users.used')}</th>
                <th>{t('users.quota')}</th>
                <th>{t('users.created')}</th>
                <th>{t('users.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {users.data.users.map((u) => (
                <tr key={u.address} data-user={u.address}>
                  <td>
                    <a href={`#/mail/${encodeURIComponent(u.address)}`}>{u.address}</a>
                    {u.disabled && <span class="pill warn">{t('users.disabled')}</span>}
                  </td>
                  <td>{fmtBytes(u.usedBytes)}</td>
                  <td>{u.quotaBytes === null ? t('users.noQuota') : fmtBytes(u.quotaBytes)}</td>
                  <td>{fmtTime(u.createdAt)}</td>
                  <td class="buttons">
                    <button type="button" onClick={() => reset(u.address)}>
                      {t('users.resetPassword')}
                    </button>
                    <button type="button" onClick={() => setQuotaOf(u)}>
                      {t('users.quota')}
                    </button>
                    <button type="button" class="danger" onClick={() => remove(u.address)}>
                      {t('common.delete')}
                    </button>
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
