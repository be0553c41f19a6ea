import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { api, type ClassResetView, get, type LabBatch, type ServerInfo, seg } from '../api';
import { ErrorBox, Loading, useAction, useLoad } from '../util';

const isLoopback = (host: string) => /^(localhost|127\.|::1$|\[::1\])/i.test(host);

/**
 * What would make the sheet useless in a classroom: a server name that means "this machine" on the
 * students' computers, or a web lab that listens on loopback only.
 */
function ClassroomWarnings() {
  const info = useLoad(() => get<ServerInfo>('/api/server-info'), 'server-info');
  if (!info.data) return null;
  const http = info.data.listeners.find((l) => l.name === 'http');
  const warnings: ComponentChildren[] = [];
  if (isLoopback(info.data.hostname)) {
    warnings.push(
      <li key="host">
        The sheet names the server <code>{info.data.hostname}</code>, which on a student's computer is that computer
        itself. Restart postbode with <code>--hostname NAME</code>, a name or IP address of this machine that the
        students can reach.
      </li>,
    );
  }
  if (http && isLoopback(http.host)) {
    warnings.push(
      <li key="http">
        The web lab listens on <code>{http.host}</code> only, so students cannot open it. Restart postbode with{' '}
        <code>--classroom</code> (on a lab network) or <code>--listen http=0.0.0.0:{http.port}</code>.
      </li>,
    );
  }
  const plaintextLan = info.data.plaintextNetworks.some((n) => !isLoopback(n));
  if (!info.data.classroom && !plaintextLan) {
    warnings.push(
      <li key="plaintext">
        Plaintext logins (USER/PASS, LOGIN, AUTH PLAIN without TLS) are allowed from this machine only, so students on
        the network get <code>-ERR [PRIVACY]</code>, <code>LOGINDISABLED</code> and <code>538 5.7.11</code>. Restart
        postbode with <code>--classroom</code> on a lab network.
      </li>,
    );
  }
  return (
    <>
      {info.data.classroom && <ClassroomNotice />}
      {warnings.length > 0 && (
        <div class="notice warn" role="status">
          <strong>Before you hand out the sheet:</strong>
          <ul>{warnings}</ul>
        </div>
      )}
    </>
  );
}

/** What classroom mode opens, said plainly (the same as the start-up output of `serve --classroom`). */
function ClassroomNotice() {
  return (
    <div class="notice classroom" role="note" aria-label="Classroom mode">
      <strong>Classroom mode is on. It is meant for a lab network only:</strong>
      <ul>
        <li>the web lab listens on all interfaces, so every machine that reaches this one can open it;</li>
        <li>
          plaintext logins (SMTP AUTH, POP3 USER/PASS, IMAP LOGIN) are allowed without TLS from the private networks
          (10/8, 172.16/12, 192.168/16, fc00::/7): passwords cross the network in clear, where anyone on it can read
          them, which is the lesson;
        </li>
        <li>
          a student sees the port-25 sessions that came from the address their browser uses; behind one shared NAT
          address every student sees every other student's.
        </li>
      </ul>
      Do not run classroom mode on a server reachable from the internet.
    </div>
  );
}

/** Bulk lab accounts (CSV and printable sheet) and the TLS key log switch. */
export function LabAccountsPage() {
  const domains = useLoad(() => get<{ domains: string[] }>('/api/domains'), 'domains');
  const act = useAction();
  const [domain, setDomain] = useState('');
  const [count, setCount] = useState('20');
  const [prefix, setPrefix] = useState('student');
  const [batch, setBatch] = useState<LabBatch | null>(null);
  const chosen = domain || domains.data?.domains[0] || '';

  const create = (e: Event) => {
    e.preventDefault();
    act.run(async () => {
      const n = Number(count);
      if (!Number.isInteger(n) || n < 1)
        throw new Error(`"${count}" is not a number of accounts: give a whole number, e.g. 30.`);
      if (!chosen) throw new Error('There is no domain yet: add one on the Domains page first.');
      setBatch(
        await api<LabBatch>('POST', '/api/lab-accounts', {
          domain: chosen,
          count: n,
          prefix: prefix.trim() || undefined,
        }),
      );
    });
  };
  const base = batch ? `/api/lab-accounts/${seg(batch.batch)}` : '';
  return (
    <section>
      <h1>Lab accounts</h1>
      <p class="muted">
        Make one mail account per student, with generated passwords. Hand out the printable sheet: each card has the
        student's address, password, server names and ports.
      </p>
      <ClassroomWarnings />
      <form class="card inline" onSubmit={create} aria-label="Create lab accounts">
        <label>
          Domain
          <select value={chosen} onChange={(e) => setDomain(e.currentTarget.value)}>
            {domains.data?.domains.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <label>
          How many
          <input
            name="count"
            type="number"
            min="1"
            max="500"
            required
            value={count}
            onInput={(e) => setCount(e.currentTarget.value)}
          />
        </label>
        <label>
          Name prefix
          <input name="prefix" value={prefix} onInput={(e) => setPrefix(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={act.busy}>
          {act.busy ? 'Creating…' : 'Create accounts'}
        </button>
      </form>
      <ErrorBox error={domains.error} />
      <ErrorBox error={act.error} onClose={() => act.setError(null)} />
      {batch && (
        <div class="batch">
          <div class="actions">
            <a class="button" href={`${base}/accounts.csv`} download>
              Download CSV
            </a>
            <a class="button" href={`${base}/sheet.html`} target="_blank" rel="noreferrer">
              Printable sheet
            </a>
            <span class="muted small">
              {batch.accounts.length} accounts. The passwords are not stored anywhere: these links work for one hour.
            </span>
          </div>
          <div class="scroll">
            <table class="lab">
              <thead>
                <tr>
                  <th>Address</th>
                  <th>Password</th>
                </tr>
              </thead>
              <tbody>
                {batch.accounts.map((a) => (
                  <tr key={a.address}>
                    <td class="mono">{a.address}</td>
                    <td class="mono secret">{a.password}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
      <ResetClass domain={chosen} />
      <KeylogSwitch />
    </section>
  );
}

const kB = (n: number) => (n < 1000 ? `${n} B` : n < 1e6 ? `${(n / 1e3).toFixed(1)} kB` : `${(n / 1e6).toFixed(1)} MB`);
const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The counts of a reset, in one sentence (as the CLI says it). */
function ResetCounts({ view }: { view: ClassResetView }) {
  const t = view.totals;
  return (
    <>
      <strong>{count(t.accounts, 'account')}</strong>, {count(t.messages, 'message')} ({kB(t.bytes)}),{' '}
      {count(t.sessions, 'session')} of the lab history and {count(t.exercises, 'exercise tick')}
    </>
  );
}

/**
 * "Reset the class": delete a batch of lab accounts with their mail, session history and exercise
 * progress. A preview by pattern first says exactly what goes; the deletion then names those addresses
 * only (POST /api/class-reset), so an account made in between is never taken along.
 */
function ResetClass({ domain }: { domain: string }) {
  const act = useAction();
  const [pattern, setPattern] = useState('');
  const [preview, setPreview] = useState<ClassResetView | null>(null);
  const [done, setDone] = useState<ClassResetView | null>(null);
  const wanted = pattern || (domain ? `student*@${domain}` : '');

  const look = (e: Event) => {
    e.preventDefault();
    setDone(null);
    act.run(async () =>
      setPreview(await api<ClassResetView>('POST', '/api/class-reset/preview', { accounts: wanted })),
    );
  };
  const reset = () =>
    act.run(async () => {
      if (!preview) return;
      const addresses = preview.accounts.map((a) => a.address);
      setDone(await api<ClassResetView>('POST', '/api/class-reset', { addresses }));
      setPreview(null);
    });
  return (
    <section class="card reset-class" aria-label="Reset the class">
      <h2>Reset the class</h2>
      <p>
        After the lesson: delete the lab accounts of a class with all their mail, their sessions in the lab history and
        their exercise progress. Admins, domains and aliases stay. Give the accounts as a pattern (<code>*</code> stands
        for any characters, <code>*</code> alone for every mail account) and look at what it picks first.
      </p>
      <form class="inline" onSubmit={look}>
        <label>
          Accounts
          <input
            name="accounts"
            value={wanted}
            placeholder="student*@class.example"
            onInput={(e) => {
              setPattern(e.currentTarget.value);
              setPreview(null);
            }}
          />
        </label>
        <button type="submit" disabled={act.busy || !wanted}>
          Show what goes
        </button>
      </form>
      <ErrorBox error={act.error} onClose={() => act.setError(null)} />
      {preview && preview.totals.accounts === 0 && (
        <p role="status">
          No mail account matches <code>{wanted}</code>: nothing would be deleted.
        </p>
      )}
      {preview && preview.totals.accounts > 0 && (
        <div class="notice warn" role="alertdialog" aria-label="Confirm the reset">
          <p>
            This deletes <ResetCounts view={preview} />. It cannot be undone.
            {preview.openSessions > 0 &&
              ` ${count(preview.openSessions, 'session')} of these students ${preview.openSessions === 1 ? 'is' : 'are'} still open and ${preview.openSessions === 1 ? 'is' : 'are'} kept.`}
          </p>
          <details>
            <summary>The accounts</summary>
            <ul class="mono small">
              {preview.accounts.map((a) => (
                <li key={a.address}>
                  {a.address}: {count(a.messages, 'message')}, {count(a.sessions, 'session')},{' '}
                  {count(a.exercises, 'exercise')}
                </li>
              ))}
            </ul>
          </details>
          <div class="actions">
            <button type="button" class="danger" disabled={act.busy} onClick={reset}>
              Delete {count(preview.totals.accounts, 'account')}
            </button>
            <button type="button" disabled={act.busy} onClick={() => setPreview(null)}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {done && (
        <p class="notice" role="status">
          Deleted <ResetCounts view={done} />.
        </p>
      )}
    </section>
  );
}

function KeylogSwitch() {
  const state = useLoad(() => get<{ enabled: boolean }>('/api/keylog'), 'keylog');
  const act = useAction();
  const set = (enabled: boolean) =>
    act.run(async () => {
      await api('PUT', '/api/keylog', { enabled });
      state.reload();
    });
  const on = state.data?.enabled === true;
  return (
    <div class={`card keylog ${on ? 'danger-zone' : ''}`}>
      <h2>TLS key log {on ? <span class="pill bad">ON</span> : <span class="pill ok">off</span>}</h2>
      <p>
        <strong>Warning:</strong> while this is on, the server keeps the TLS secrets of every new TLS session (NSS key
        log format). Anyone who has those secrets and a packet capture of the session can read it, passwords included.
        Use it only for a lab exercise with Wireshark, with test accounts, and switch it off afterwards. Sessions
        started while it is on offer a <code>keylog.txt</code> download on their page.
      </p>
      <ErrorBox error={state.error} />
      <ErrorBox error={act.error} onClose={() => act.setError(null)} />
      {state.loading && !state.data ? (
        <Loading what="the key log setting" />
      ) : on ? (
        <button type="button" onClick={() => set(false)} disabled={act.busy}>
          Switch key logging off
        </button>
      ) : (
        <button
          type="button"
          class="danger"
          disabled={act.busy}
          onClick={() => {
            if (confirm('Record the TLS secrets of every new session? This weakens their secrecy.')) set(true);
          }}
        >
          Switch key logging on
        </button>
      )}
    </div>
  );
}
