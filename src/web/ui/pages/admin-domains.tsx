import { useState } from 'preact/hooks';
import { type AliasInfo, api, get, seg, type UserInfo } from '../api';
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
          ? `\n\nIts ${left} account${left === 1 ? '' : 's'} stay and can still log in, but mail to them is no longer accepted (and mail they send to ${d} goes out to the Internet). Delete them on the Users page when the class is over.`
          : '';
      if (!confirm(`Stop accepting mail for ${d}?${warning}`)) return;
      await api('DELETE', `/api/domains/${seg(d)}${left > 0 ? '?force=1' : ''}`);
      domains.reload();
    });
  return (
    <section>
      <h1>Domains</h1>
      <p class="muted">Mail for these domains is delivered to accounts on this server.</p>
      <form class="card inline" onSubmit={add} aria-label="Add a domain">
        <label>
          Domain
          <input required placeholder="example.org" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={act.busy}>
          Add domain
        </button>
      </form>
      <ErrorBox error={act.error} onClose={() => act.setError(null)} />
      <ErrorBox error={domains.error} />
      {domains.loading && !domains.data && <Loading what="domains" />}
      <ul class="plain">
        {domains.data?.domains.map((d) => (
          <li key={d}>
            <span class="mono">{d}</span>{' '}
            <button type="button" class="danger small" onClick={() => remove(d)}>
              Delete
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
      if (list.length === 0) throw new Error('Give at least one target address (separate several with commas).');
      await api('PUT', `/api/aliases/${seg(alias.trim())}`, { targets: list });
      setAlias('');
      setTargets('');
      aliases.reload();
    });
  };
  const remove = (a: string) => {
    if (!confirm(`Delete the alias ${a}?`)) return;
    act.run(async () => {
      await api('DELETE', `/api/aliases/${seg(a)}`);
      aliases.reload();
    });
  };
  return (
    <section>
      <h1>Aliases</h1>
      <form class="card inline" onSubmit={save} aria-label="Create or change an alias">
        <label>
          Alias
          <input
            required
            placeholder="info@example.org"
            value={alias}
            onInput={(e) => setAlias(e.currentTarget.value)}
          />
        </label>
        <label class="grow">
          Delivers to
          <input
            required
            placeholder="anna@example.org, ben@example.org"
            value={targets}
            onInput={(e) => setTargets(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={act.busy}>
          Save alias
        </button>
      </form>
      <ErrorBox error={act.error} onClose={() => act.setError(null)} />
      <ErrorBox error={aliases.error} />
      {aliases.loading && !aliases.data && <Loading what="aliases" />}
      {aliases.data && aliases.data.aliases.length === 0 && <p class="muted">No aliases yet.</p>}
      {aliases.data && aliases.data.aliases.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Alias</th>
              <th>Delivers to</th>
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
                    Edit
                  </button>{' '}
                  <button type="button" class="danger" onClick={() => remove(a.alias)}>
                    Delete
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
