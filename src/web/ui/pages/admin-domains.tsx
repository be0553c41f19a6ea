import { useState } from 'preact/hooks';
import { type AliasInfo, api, get, seg, type UserInfo } from '../api';
import { t } from '../i18n';
import { ErrorBox, Loading, useAction, useLoad } from '../util';

export function DomainsPage() {
  const domains = useLoad(() => get<{ domains: string[] }>('/api/domains'), 'domains');
  const act = useAction();
  const [name, setName] = useState('');
  const add = (e: Event) => {
    e.preventDefault();
    act.run(async () => {
      await api('POST', '/api/domains', { name: name.trim() });
      setName('');
      domains.reload();
    });
  };
  const remove = (d: string) =>
    act.run(async () => {
      // The accounts of a domain outlive it: say so before mail to them starts being refused.
      const { users } = await get<{ users: UserInfo[] }>('/api/users');
      const left = users.filter((u) => u.address.endsWith(`@${d}`)).length;
      const warning =
        left > 0
          ? `\n\n${t(left === 1 ? 'domains.accountStays' : 'domains.accountsStay', { n: left, domain: d })}`
          : '';
      if (!confirm(`${t('domains.confirmDelete', { domain: d })}${warning}`)) return;
      await api('DELETE', `/api/domains/${seg(d)}${left > 0 ? '?force=1' : ''}`);
      domains.reload();
    });
  return (
    <section>
      <h1>{t('nav.domains')}</h1>
      <p class="muted">{t('domains.intro')}</p>
      <form class="card inline" onSubmit={add} aria-label={t('domains.addLabel')}>
        <label>
          {t('domains.domain')}
          <input required placeholder="example.org" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={act.busy}>
          {t('domains.add')}
        </button>
      </form>
      <ErrorBox error={act.error} onClose={() => act.setError(null)} />
      <ErrorBox error={domains.error} />
      {domains.loading && !domains.data && <Loading what={t('domains.loadingWhat')} />}
      <ul class="plain">
        {domains.data?.domains.map((d) => (
          <li key={d}>
            <span class="mono">{d}</span>{' '}
            <button type="button" class="danger small" onClick={() => remove(d)}>
              {t('common.delete')}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function AliasesPage() {
  const aliases = useLoad(() => get<{ aliases: AliasInfo[] }>('/api/aliases'), 'aliases');
  const act = useAction();
  const [alias, setAlias] = useState('');
  const [targets, setTargets] = useState('');
  const save = (e: Event) => {
    e.preventDefault();
    act.run(async () => {
      const list = targets
        .split(/[\s,;]+/)
        .map((t) => t.trim())
        .filter(Boolean);
      if (list.length === 0) throw new Error(t('aliases.needTarget'));
      await api('PUT', `/api/aliases/${seg(alias.trim())}`, { targets: list });
      setAlias('');
      setTargets('');
      aliases.reload();
    });
  };
  const remove = (a: string) => {
    if (!confirm(t('aliases.confirmDelete', { alias: a }))) return;
    act.run(async () => {
      await api('DELETE', `/api/aliases/${seg(a)}`);
      aliases.reload();
    });
  };
  return (
    <section>
      <h1>{t('nav.aliases')}</h1>
      <form class="card inline" onSubmit={save} aria-label={t('aliases.formLabel')}>
        <label>
          {t('aliases.alias')}
          <input
            required
            placeholder="info@example.org"
            value={alias}
            onInput={(e) => setAlias(e.currentTarget.value)}
          />
        </label>
        <label class="grow">
          {t('aliases.deliversTo')}
          <input
            required
            placeholder="anna@example.org, ben@example.org"
            value={targets}
            onInput={(e) => setTargets(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={act.busy}>
          {t('aliases.save')}
        </button>
      </form>
      <ErrorBox error={act.error} onClose={() => act.setError(null)} />
      <ErrorBox error={aliases.error} />
      {aliases.loading && !aliases.data && <Loading what={t('aliases.loadingWhat')} />}
      {aliases.data && aliases.data.aliases.length === 0 && <p class="muted">{t('aliases.none')}</p>}
      {aliases.data && aliases.data.aliases.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>{t('aliases.alias')}</th>
              <th>{t('aliases.deliversTo')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {aliases.data.aliases.map((a) => (
              <tr key={a.alias}>
                <td class="mono">{a.alias}</td>
                <td>{a.targets.join(', ')}</td>
                <td>
                  <button
                    type="button"
                    onClick={() => {
                      setAlias(a.alias);
                      setTargets(a.targets.join(', '));
                    }}
                  >
                    {t('aliases.edit')}
                  </button>{' '}
                  <button type="button" class="danger" onClick={() => remove(a.alias)}>
                    {t('common.delete')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
