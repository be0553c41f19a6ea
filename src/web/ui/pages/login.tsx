import { useState } from 'preact/hooks';
import { api, type Me } from '../api';
import { ErrorBox, errorText } from '../util';

/** Admins log in with their admin name; mail users with their mail address and mail password. */
export function LoginPage({ error, onLogin }: { error: string | null; onLogin: (me: Me) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const submit = async (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    setFailure(null);
    try {
      onLogin(await api<Me>('POST', '/api/login', { username, password }));
    } catch (e) {
      setFailure(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <h1>
        postbode <span class="sub">lab</span>
      </h1>
      <p class="muted">Watch SMTP, POP3 and IMAP sessions live, read mail, manage accounts.</p>
      <form onSubmit={submit} class="card">
        <label>
          Admin name or mail address
          <input
            name="username"
            autoComplete="username"
            required
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
        <ErrorBox error={failure ?? error} />
        <p class="muted small">
          Admin accounts are made on the server with <code>postbode admin add NAME</code>. Mail users log in with their
          address and mail password and see only their own sessions and mail.
        </p>
      </form>
    </main>
  );
}
