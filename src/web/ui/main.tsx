/**
 * The postbode web lab: one page, hash routes (docs/web-api.md "UI routes"). Talks to the server
 * only through the JSON API and its server-sent event streams.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, type Me, setUnauthorizedHandler } from './api';
import { AliasesPage, DomainsPage } from './pages/admin-domains';
import { LabAccountsPage } from './pages/admin-lab';
import { QueuePage } from './pages/admin-queue';
import { UsersPage } from './pages/admin-users';
import { CapabilitiesPage } from './pages/capabilities';
import { ComparePage } from './pages/compare';
import { ExercisesPage } from './pages/exercises';
import { FiltersPage } from './pages/filters';
import { LoginPage } from './pages/login';
import { MailPage } from './pages/mail';
import { SessionPage } from './pages/session';
import { SessionsPage } from './pages/sessions';
import { ErrorBox, errorText, routeParts, useHash } from './util';

function Nav({ me, hash, onLogout }: { me: Me; hash: string; onLogout: () => void }) {
  const items: [string, string][] = [
    ['#/sessions', 'Sessions'],
    ['#/capabilities', 'Capabilities'],
    ['#/mail', 'Mail'],
    ['#/filters', 'Filters'],
    ['#/exercises', me.role === 'admin' ? 'Class overview' : 'Exercises'],
  ];
  if (me.role === 'admin') {
    items.push(
      ['#/admin/users', 'Users'],
      ['#/admin/domains', 'Domains'],
      ['#/admin/aliases', 'Aliases'],
      ['#/admin/lab', 'Lab accounts'],
      ['#/admin/queue', 'Queue'],
    );
  }
  const top = `#/${routeParts(hash)
    .slice(0, hash.startsWith('#/admin') ? 2 : 1)
    .join('/')}`;
  return (
    <header class="top">
      <a class="brand" href="#/sessions">
        postbode <span class="sub">lab</span>
      </a>
      <nav>
        {items.map(([href, label]) => (
          <a
            key={href}
            href={href}
            class={top === href || (href === '#/sessions' && top === '#/compare') ? 'current' : ''}
          >
            {label}
          </a>
        ))}
      </nav>
      <div class="who">
        <span title={me.role === 'admin' ? 'administrator: sees every session and account' : 'mail user'}>
          {me.name} <em>({me.role})</em>
        </span>
        <button type="button" class="link" onClick={onLogout}>
          Log out
        </button>
      </div>
    </header>
  );
}

function Page({ me, hash }: { me: Me; hash: string }) {
  const p = routeParts(hash);
  const admin = me.role === 'admin';
  switch (p[0]) {
    case 'sessions':
      return p[1] ? <SessionPage id={p[1]} me={me} /> : <SessionsPage me={me} />;
    case 'compare':
      return <ComparePage a={p[1] ?? ''} b={p[2] ?? ''} me={me} />;
    case 'capabilities':
      return <CapabilitiesPage />;
    case 'mail':
      return <MailPage me={me} account={p[1]} mailbox={p[2]} uid={p[3]} />;
    case 'filters':
      return <FiltersPage me={me} account={p[1]} />;
    case 'exercises':
      return <ExercisesPage me={me} />;
    case 'admin':
      if (!admin) return <ErrorBox error="This page is for administrators. Log in with an admin account." />;
      switch (p[1]) {
        case 'users':
          return <UsersPage />;
        case 'domains':
          return <DomainsPage />;
        case 'aliases':
          return <AliasesPage />;
        case 'lab':
          return <LabAccountsPage />;
        case 'queue':
          return <QueuePage />;
      }
      break;
  }
  return <ErrorBox error={`There is no page "${hash}". Pick one from the menu above.`} />;
}

function App() {
  const hash = useHash();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setUnauthorizedHandler(() => setMe(null));
    api<Me>('GET', '/api/me').then(
      (m) => setMe(m),
      (e: unknown) => {
        setMe(null);
        if (!(e instanceof Error && 'status' in e && e.status === 401)) setError(errorText(e));
      },
    );
  }, []);

  if (me === undefined) return <p class="muted pad">Loading…</p>;
  if (me === null || hash.startsWith('#/login')) {
    return (
      <LoginPage
        error={error}
        onLogin={(m) => {
          setError(null);
          setMe(m);
          if (hash.startsWith('#/login')) location.hash = '#/sessions';
        }}
      />
    );
  }
  const logout = () => {
    api('POST', '/api/logout').finally(() => {
      setMe(null);
      location.hash = '#/login';
    });
  };
  return (
    <>
      <Nav me={me} hash={hash} onLogout={logout} />
      <main>
        <ErrorBox error={error} onClose={() => setError(null)} />
        <Page me={me} hash={hash} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
