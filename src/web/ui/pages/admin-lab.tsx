import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { api, type ClassResetView, get, type LabBatch, type ServerInfo, seg } from '../api';
import { language, t, tx } from '../i18n';
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
        {tx('lab.warnHost', { host: <code>{info.data.hostname}</code>, option: <code>--hostname NAME</code> })}
      </li>,
    );
  }
  if (http && isLoopback(http.host)) {
    warnings.push(
      <li key="http">
        {tx('lab.warnHttp', {
          host: <code>{http.host}</code>,
          classroom: <code>--classroom</code>,
          listen: <code>--listen http=0.0.0.0:{http.port}</code>,
        })}
      </li>,
    );
  }
  const plaintextLan = info.data.plaintextNetworks.some((n) => !isLoopback(n));
  if (!info.data.classroom && !plaintextLan) {
    warnings.push(
      <li key="plaintext">
        {tx('lab.warnPlaintext', {
          privacy: <code>-ERR [PRIVACY]</code>,
          logindisabled: <code>LOGINDISABLED</code>,
          code538: <code>538 5.7.11</code>,
          classroom: <code>--classroom</code>,
        })}
      </li>,
    );
  }
  return (
    <>
      {info.data.classroom && <ClassroomNotice />}
      {warnings.length > 0 && (
        <div class="notice warn" role="status">
          <strong>{t('lab.beforeSheet')}</strong>
          <ul>{warnings}</ul>
        </div>
      )}
    </>
  );
}

/** What classroom mode opens, said plainly (the same as the start-up output of `serve --classroom`). */
function ClassroomNotice() {
  return (
    <div class="notice classroom" role="note" aria-label={t('lab.classroomLabel')}>
      <strong>{t('lab.classroomOn')}</strong>
      <ul>
        <li>{t('lab.classroomListens')}</li>
        <li>{t('lab.classroomPlaintext')}</li>
        <li>{t('lab.classroomPort25')}</li>
      </ul>
      {t('lab.classroomNotInternet')}
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
      if (!Number.isInteger(n) || n < 1) throw new Error(t('lab.badCount', { count }));
      if (!chosen) throw new Error(t('lab.noDomain'));
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
      <h1>{t('nav.labAccounts')}</h1>
      <p class="muted">{t('lab.intro')}</p>
      <ClassroomWarnings />
      <form class="card inline" onSubmit={create} aria-label={t('lab.createLabel')}>
        <label>
          {t('domains.domain')}
          <select value={chosen} onChange={(e) => setDomain(e.currentTarget.value)}>
            {domains.data?.domains.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('lab.howMany')}
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
          {t('lab.prefix')}
          <input name="prefix" value={prefix} onInput={(e) => setPrefix(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={act.busy}>
          {act.busy ? t('lab.creating') : t('lab.create')}
        </button>
      </form>
      <ErrorBox error={domains.error} />
      <ErrorBox error={act.error} onClose={() => act.setError(null)} />
      {batch && (
        <div class="batch">
          <div class="actions">
            <a class="button" href={`${base}/accounts.csv`} download>
              {t('overview.csv')}
            </a>
            <a class="button" href={`${base}/sheet.html?lang=${language()}`} target="_blank" rel="noreferrer">
              {t('lab.printable')}
            </a>
            <span class="muted small">{t('lab.batchNote', { n: batch.accounts.length })}</span>
          </div>
          <div class="scroll">
            <table class="lab">
              <thead>
                <tr>
                  <th>{t('users.address')}</th>
                  <th>{t('login.password')}</th>
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
/** `1 account` / `{n} accounts` from the UI catalogue (`reset.<what>.one|many`). */
const count = (n: number, what: 'account' | 'message' | 'session' | 'exercise' | 'tick') =>
  n === 1 ? t(`reset.${what}.one`) : t(`reset.${what}.many`, { n });

/** The counts of a reset, in one sentence (as the CLI says it). */
function ResetCounts({ view }: { view: ClassResetView }) {
  const totals = view.totals;
  return (
    <>
      {tx('reset.counts', {
        accounts: <strong>{count(totals.accounts, 'account')}</strong>,
        messages: count(totals.messages, 'message'),
        size: kB(totals.bytes),
        sessions: count(totals.sessions, 'session'),
        ticks: count(totals.exercises, 'tick'),
      })}
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
    <section class="card reset-class" aria-label={t('reset.title')}>
      <h2>{t('reset.title')}</h2>
      <p>{tx('reset.intro', { star: <code>*</code> })}</p>
      <form class="inline" onSubmit={look}>
        <label>
          {t('reset.accounts')}
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
          {t('reset.show')}
        </button>
      </form>
      <ErrorBox error={act.error} onClose={() => act.setError(null)} />
      {preview && preview.totals.accounts === 0 && (
        <p role="status">{tx('reset.none', { pattern: <code>{wanted}</code> })}</p>
      )}
      {preview && preview.totals.accounts > 0 && (
        <div class="notice warn" role="alertdialog" aria-label={t('reset.confirmLabel')}>
          <p>
            {tx('reset.confirm', { counts: <ResetCounts view={preview} /> })}
            {preview.openSessions > 0 &&
              ` ${preview.openSessions === 1 ? t('reset.openOne') : t('reset.openMany', { n: preview.openSessions })}`}
          </p>
          <details>
            <summary>{t('reset.list')}</summary>
            <ul class="mono small">
              {preview.accounts.map((a) => (
                <li key={a.address}>
                  {t('reset.accountLine', {
                    address: a.address,
                    messages: count(a.messages, 'message'),
                    sessions: count(a.sessions, 'session'),
                    exercises: count(a.exercises, 'exercise'),
                  })}
                </li>
              ))}
            </ul>
          </details>
          <div class="actions">
            <button type="button" class="danger" disabled={act.busy} onClick={reset}>
              {t('reset.delete', { accounts: count(preview.totals.accounts, 'account') })}
            </button>
            <button type="button" disabled={act.busy} onClick={() => setPreview(null)}>
              {t('reset.cancel')}
            </button>
          </div>
        </div>
      )}
      {done && (
        <p class="notice" role="status">
          {tx('reset.done', { counts: <ResetCounts view={done} /> })}
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
      <h2>
        {t('lab.keylogTitle')}{' '}
        {on ? <span class="pill bad">{t('lab.on')}</span> : <span class="pill ok">{t('lab.off')}</span>}
      </h2>
      <p>
        <strong>{t('lab.warning')}</strong> {tx('lab.keylogWarning', { file: <code>keylog.txt</code> })}
      </p>
      <ErrorBox error={state.error} />
      <ErrorBox error={act.error} onClose={() => act.setError(null)} />
      {state.loading && !state.data ? (
        <Loading what={t('lab.loadingKeylog')} />
      ) : on ? (
        <button type="button" onClick={() => set(false)} disabled={act.busy}>
          {t('lab.keylogOff')}
        </button>
      ) : (
        <button
          type="button"
          class="danger"
          disabled={act.busy}
          onClick={() => {
            if (confirm(t('lab.keylogConfirm'))) set(true);
          }}
        >
          {t('lab.keylogOnButton')}
        </button>
      )}
    </div>
  );
}
