import { useState } from 'preact/hooks';
import { api, get, seg, type UserInfo } from '../api';
import { ErrorBox, fmtBytes, fmtTime, Loading, Notice, parseSize, useAction, useLoad } from '../util';

/** A password the server generated or reset: shown once, so the admin can hand it out. */
function Secret({ address, password, onClose }: { address: string; password: string; onClose: () => void }) {
  return (
    <Notice>
      Password for <strong>{address}</strong>: <code class="secret">{password}</code>{' '}
      <span class="muted small">(shown once; copy it now)</span>{' '}
      <button type="button" class="link" onClick={onClose}>
        done
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
    if (!confirm(`Delete ${a} with all its mailboxes and messages? This cannot be undone.`)) return;
    act.run(async () => {
      await api('DELETE', `/api/users/${seg(a)}`);
      users.reload();
    });
  };
  const reset = (a: string) => {
    const pw = prompt(`New password for ${a} (leave empty to generate one):`);
    if (pw === null) return;
    act.run(async () => {
      const r = await api<{ password: string }>('POST', `/api/users/${seg(a)}/password`, pw ? { password: pw } : {});
      setSecret({ address: a, password: r.password });
    });
  };
  const setQuotaOf = (u: UserInfo) => {
    const q = prompt(
      `Quota for ${u.address}, e.g. 500M or 2G (empty for none):`,
      u.quotaBytes === null ? '' : String(u.quotaBytes),
    );
    if (q === null) return;
    act.run(async () => {
      await api('PUT', `/api/users/${seg(u.address)}/quota`, { quotaBytes: parseSize(q) });
      users.reload();
    });
  };

  return (
    <section>
      <h1>Users</h1>
      <form class="card inline" onSubmit={create} aria-label="Create a user">
        <label>
          Address
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
          Password
          <input
            name="password"
            type="text"
            autoComplete="new-password"
            placeholder="empty: generate one"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <label>
          Quota
          <input
            name="quota"
            placeholder="e.g. 500M; empty: none"
            value={quota}
            onInput={(e) => setQuota(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={act.busy}>
          Create user
        </button>
      </form>
      <ErrorBox error={act.error} onClose={() => act.setError(null)} />
      {secret && <Secret {...secret} onClose={() => setSecret(null)} />}
      <ErrorBox error={users.error} />
      {users.loading && !users.data && <Loading what="users" />}
      {users.data && users.data.users.length === 0 && <p class="muted">No users yet. Create the first one above.</p>}
      {users.data && users.data.users.length > 0 && (
        <div class="scroll">
          <table class="users">
            <thead>
              <tr>
                <th>Address</th>
                <th>Used</th>
                <th>Quota</th>
                <th>Created</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {users.data.users.map((u) => (
                <tr key={u.address} data-user={u.address}>
                  <td>
                    <a href={`#/mail/${encodeURIComponent(u.address)}`}>{u.address}</a>
                    {u.disabled && <span class="pill warn">disabled</span>}
                  </td>
                  <td>{fmtBytes(u.usedBytes)}</td>
                  <td>{u.quotaBytes === null ? 'none' : fmtBytes(u.quotaBytes)}</td>
                  <td>{fmtTime(u.createdAt)}</td>
                  <td class="buttons">
                    <button type="button" onClick={() => reset(u.address)}>
                      Reset password
                    </button>
                    <button type="button" onClick={() => setQuotaOf(u)}>
                      Quota
                    </button>
                    <button type="button" class="danger" onClick={() => remove(u.address)}>
                      Delete
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
