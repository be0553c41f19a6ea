/**
 * Mail filters (docs/sieve.md "In the web UI"): the vacation reply and simple filters, which the server
 * turns into the Sieve script "postbode"; and every Sieve script of the account, editable as text with
 * its errors shown at their line.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  ApiError,
  api,
  get,
  type Me,
  type SieveErrorJson,
  type SieveFilterRule,
  type SieveRulesResponse,
  type SieveScriptInfoJson,
  type SieveScriptJson,
  type SieveVacationRule,
  seg,
  type UserInfo,
} from '../api';
import { t } from '../i18n';
import { ErrorBox, fmtBytes, fmtTime, Loading, Notice, useAction, useLoad } from '../util';

interface Overview {
  account: string;
  scripts: SieveScriptInfoJson[];
  active: string | null;
  formScript: string;
  limits: { maxScriptBytes: number; maxScripts: number };
  /** What a script may `require`. */
  extensions: string[];
}

const href = (account?: string) => (account ? `#/filters/${encodeURIComponent(account)}` : '#/filters');

const NEW_FILTER: SieveFilterRule = {
  field: 'from',
  header: null,
  match: 'contains',
  value: '',
  fileinto: '',
  flag: false,
  markRead: false,
  discard: false,
  stop: false,
};

const NEW_VACATION: SieveVacationRule = {
  enabled: true,
  start: null,
  end: null,
  subject: '',
  text: '',
  days: 1,
};

/** Admins pick any account; a mail user manages only their own ("me"). */
function AccountPicker({ account }: { account: string | undefined }) {
  const users = useLoad(() => get<{ users: UserInfo[] }>('/api/users'), 'users');
  return (
    <form class="filters" onSubmit={(e) => e.preventDefault()}>
      <label>
        {t('mail.account')}
        <select
          value={account ?? ''}
          onChange={(e) => {
            location.hash = href(e.currentTarget.value || undefined);
          }}
        >
          <option value="">{t('mail.pickAccountOption')}</option>
          {users.data?.users.map((u) => (
            <option key={u.address} value={u.address}>
              {u.address}
            </option>
          ))}
        </select>
      </label>
      <ErrorBox error={users.error} />
    </form>
  );
}

export function FiltersPage({ me, account }: { me: Me; account?: string }) {
  const admin = me.role === 'admin';
  const acct = account ?? (admin ? undefined : 'me');
  return (
    <section>
      <h1>{t('filters.title')}</h1>
      <p class="muted">{t('filters.intro')}</p>
      {admin && <AccountPicker account={account} />}
      {acct ? <Filters account={acct} /> : <p class="muted">{t('filters.pickAccount')}</p>}
    </section>
  );
}

function Filters({ account }: { account: string }) {
  const overview = useLoad(() => get<Overview>(`/api/sieve/${seg(account)}`), `overview ${account}`);
  const [editing, setEditing] = useState<{ name: string; isNew: boolean } | null>(null);
  const reload = overview.reload;
  return (
    <>
      <ErrorBox error={overview.error} />
      {overview.loading && !overview.data && <Loading what={t('filters.loadingScripts')} />}
      {overview.data && (
        <p class="active-script">
          {overview.data.active ? (
            <>
              {t('filters.activeScript')} <strong class="mono">{overview.data.active}</strong>{' '}
              {overview.data.active === overview.data.formScript ? t('filters.theRulesBelow') : t('filters.ownScript')}
            </>
          ) : (
            t('filters.noneActive')
          )}
        </p>
      )}
      <RulesForm account={account} onSaved={reload} />
      {overview.data && (
        <Scripts
          account={account}
          overview={overview.data}
          onEdit={(name, isNew) => setEditing({ name, isNew })}
          onChanged={reload}
        />
      )}
      {editing && overview.data && (
        <ScriptEditor
          key={`${editing.name} ${editing.isNew}`}
          account={account}
          name={editing.name}
          isNew={editing.isNew}
          limits={overview.data.limits}
          extensions={overview.data.extensions}
          onClose={() => setEditing(null)}
          onSaved={reload}
        />
      )}
    </>
  );
}

// ---------------------------------------------------------------------------------------------
// The form: vacation reply and filters.

function RulesForm({ account, onSaved }: { account: string; onSaved: () => void }) {
  const loaded = useLoad(() => get<SieveRulesResponse>(`/api/sieve/${seg(account)}/rules`), `rules ${account}`);
  const act = useAction();
  const [filters, setFilters] = useState<SieveFilterRule[]>([]);
  const [vacation, setVacation] = useState<SieveVacationRule>(NEW_VACATION);
  const [hasVacation, setHasVacation] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const [preview, setPreview] = useState<string | null>(null);

  useEffect(() => {
    const rules = loaded.data?.rules;
    if (!rules) return;
    setFilters(rules.filters.map((f) => ({ ...f, fileinto: f.fileinto ?? '', header: f.header ?? null })));
    setHasVacation(Boolean(rules.vacation));
    setVacation(
      rules.vacation ? { ...NEW_VACATION, ...rules.vacation, subject: rules.vacation.subject ?? '' } : NEW_VACATION,
    );
  }, [loaded.data]);

  const rules = () => ({
    filters: filters.map((f) => ({
      ...f,
      header: f.field === 'header' ? (f.header ?? '').trim() : null,
      fileinto: f.fileinto?.trim() ? f.fileinto.trim() : null,
    })),
    vacation: hasVacation
      ? {
          ...vacation,
          start: vacation.start || null,
          end: vacation.end || null,
          subject: vacation.subject?.trim() ? vacation.subject.trim() : null,
        }
      : null,
  });

  const off = loaded.data?.form === 'off';
  const save = (e: Event) => {
    e.preventDefault();
    if (off && !confirm(t('rules.confirmReplace'))) return;
    act.run(async () => {
      await api('PUT', `/api/sieve/${seg(account)}/rules`, { rules: rules(), activate: true, overwrite: off });
      setSaved(t('rules.saved'));
      setPreview(null);
      loaded.reload();
      onSaved();
    });
  };
  const showPreview = () =>
    act.run(async () => {
      const r = await api<{ source: string }>('POST', `/api/sieve/${seg(account)}/rules/preview`, { rules: rules() });
      setPreview(r.source);
    });
  const update = (i: number, f: Partial<SieveFilterRule>) =>
    setFilters(filters.map((x, j) => (j === i ? { ...x, ...f } : x)));
  const move = (i: number, by: number) => {
    const j = i + by;
    if (j < 0 || j >= filters.length) return;
    const next = filters.slice();
    [next[i], next[j]] = [next[j], next[i]];
    setFilters(next);
  };

  if (loaded.error) return <ErrorBox error={loaded.error} />;
  if (!loaded.data) return <Loading what={t('rules.loadingWhat')} />;
  return (
    <form class="card rules" onSubmit={save} aria-label={t('rules.formLabel')}>
      {loaded.data.note && <div class={`notice ${off ? 'warn' : ''}`}>{loaded.data.note}</div>}
      <fieldset class="vacation" disabled={act.busy}>
        <legend>
          <label class="toggle">
            <input
              type="checkbox"
              name="vacation-on"
              checked={hasVacation && vacation.enabled}
              onChange={(e) => {
                setHasVacation(true);
                setVacation({ ...vacation, enabled: e.currentTarget.checked });
              }}
            />
            {t('rules.vacation')}
          </label>
        </legend>
        {hasVacation && vacation.enabled && (
          <div class="grid">
            <label>
              {t('rules.firstDay')}
              <input
                type="date"
                name="vacation-start"
                value={vacation.start ?? ''}
                onInput={(e) => setVacation({ ...vacation, start: e.currentTarget.value || null })}
              />
            </label>
            <label>
              {t('rules.lastDay')}
              <input
                type="date"
                name="vacation-end"
                value={vacation.end ?? ''}
                onInput={(e) => setVacation({ ...vacation, end: e.currentTarget.value || null })}
              />
            </label>
            <label>
              {t('rules.days')}
              <input
                type="number"
                name="vacation-days"
                min={1}
                max={60}
                value={vacation.days}
                onInput={(e) => setVacation({ ...vacation, days: Number(e.currentTarget.value) || 1 })}
              />
            </label>
            <label class="grow">
              {t('rules.subject')}
              <input
                name="vacation-subject"
                placeholder={t('rules.subjectPlaceholder')}
                value={vacation.subject ?? ''}
                onInput={(e) => setVacation({ ...vacation, subject: e.currentTarget.value })}
              />
            </label>
            <label class="wide">
              {t('rules.text')}
              <textarea
                name="vacation-text"
                rows={5}
                required
                placeholder={t('rules.textPlaceholder')}
                value={vacation.text}
                onInput={(e) => setVacation({ ...vacation, text: e.currentTarget.value })}
              />
            </label>
            <p class="muted small wide">{t('rules.vacationNote')}</p>
          </div>
        )}
      </fieldset>

      <fieldset class="filter-list" disabled={act.busy}>
        <legend>{t('rules.filtersLegend')}</legend>
        {filters.length === 0 && <p class="muted">{t('rules.noFilters')}</p>}
        <ol>
          {filters.map((f, i) => (
            <li key={i} class="filter">
              <span>{t('rules.if')}</span>
              <select
                aria-label={t('rules.header')}
                value={f.field}
                onChange={(e) => update(i, { field: e.currentTarget.value as SieveFilterRule['field'] })}
              >
                <option value="from">From</option>
                <option value="to">{t('rules.toCc')}</option>
                <option value="subject">Subject</option>
                <option value="header">{t('rules.otherHeader')}</option>
              </select>
              {f.field === 'header' && (
                <input
                  aria-label={t('rules.headerName')}
                  placeholder="List-Id"
                  size={12}
                  value={f.header ?? ''}
                  onInput={(e) => update(i, { header: e.currentTarget.value })}
                />
              )}
              <select
                aria-label={t('rules.match')}
                value={f.match}
                onChange={(e) => update(i, { match: e.currentTarget.value as SieveFilterRule['match'] })}
              >
                <option value="contains">{t('rules.contains')}</option>
                <option value="is">{t('rules.isExactly')}</option>
              </select>
              <input
                aria-label={t('rules.text')}
                required
                placeholder={t('rules.textShort')}
                value={f.value}
                onInput={(e) => update(i, { value: e.currentTarget.value })}
              />
              <span>{t('rules.then')}</span>
              <input
                aria-label={t('rules.folder')}
                placeholder={t('rules.folderPlaceholder')}
                size={14}
                disabled={f.discard}
                value={f.fileinto ?? ''}
                onInput={(e) => update(i, { fileinto: e.currentTarget.value })}
              />
              <label class="toggle">
                <input
                  type="checkbox"
                  checked={f.flag}
                  onChange={(e) => update(i, { flag: e.currentTarget.checked })}
                />
                {t('rules.flag')}
              </label>
              <label class="toggle">
                <input
                  type="checkbox"
                  checked={f.markRead}
                  onChange={(e) => update(i, { markRead: e.currentTarget.checked })}
                />
                {t('rules.markRead')}
              </label>
              <label class="toggle">
                <input
                  type="checkbox"
                  checked={f.discard}
                  onChange={(e) => update(i, { discard: e.currentTarget.checked, fileinto: '' })}
                />
                {t('rules.discard')}
              </label>
              <label class="toggle">
                <input
                  type="checkbox"
                  checked={f.stop || f.discard}
                  disabled={f.discard}
                  onChange={(e) => update(i, { stop: e.currentTarget.checked })}
                />
                {t('rules.stop')}
              </label>
              <span class="buttons">
                <button
                  type="button"
                  class="link"
                  aria-label={t('rules.moveUp')}
                  onClick={() => move(i, -1)}
                  disabled={i === 0}
                >
                  ↑
                </button>
                <button
                  type="button"
                  class="link"
                  aria-label={t('rules.moveDown')}
                  onClick={() => move(i, 1)}
                  disabled={i === filters.length - 1}
                >
                  ↓
                </button>
                <button
                  type="button"
                  class="link"
                  aria-label={t('rules.remove')}
                  onClick={() => setFilters(filters.filter((_, j) => j !== i))}
                >
                  ✕
                </button>
              </span>
            </li>
          ))}
        </ol>
        <button type="button" onClick={() => setFilters([...filters, { ...NEW_FILTER }])}>
          {t('rules.add')}
        </button>
        <p class="muted small">{t('rules.filtersNote')}</p>
      </fieldset>

      <div class="actions">
        <button type="submit" disabled={act.busy}>
          {off ? t('rules.replace') : t('rules.saveActivate')}
        </button>
        <button type="button" onClick={showPreview} disabled={act.busy}>
          {t('rules.showScript')}
        </button>
      </div>
      <ErrorBox error={act.error} onClose={() => act.setError(null)} />
      {saved && !act.error && <Notice>{saved}</Notice>}
      {preview !== null && (
        <details open class="preview">
          <summary>{t('rules.previewSummary')}</summary>
          <pre class="sieve">{preview}</pre>
        </details>
      )}
    </form>
  );
}

// ---------------------------------------------------------------------------------------------
// All scripts, and the raw editor.

function Scripts({
  account,
  overview,
  onEdit,
  onChanged,
}: {
  account: string;
  overview: Overview;
  onEdit: (name: string, isNew: boolean) => void;
  onChanged: () => void;
}) {
  const act = useAction();
  const setActive = (name: string | null) =>
    act.run(async () => {
      await api('PUT', `/api/sieve/${seg(account)}/active`, { name });
      onChanged();
    });
  const remove = (name: string) => {
    if (!confirm(t('filters.confirmDelete', { name }))) return;
    act.run(async () => {
      await api('DELETE', `/api/sieve/${seg(account)}/scripts/${seg(name)}`);
      onChanged();
    });
  };
  const create = () => {
    const name = prompt(t('filters.promptName'), 'my-rules');
    if (name) onEdit(name, true);
  };
  const { limits } = overview;
  return (
    <div class="card scripts">
      <h2>{t('filters.scripts')}</h2>
      <p class="muted small">
        {t('filters.scriptsNote', {
          n: overview.scripts.length,
          max: limits.maxScripts,
          size: fmtBytes(limits.maxScriptBytes),
        })}
      </p>
      <ErrorBox error={act.error} onClose={() => act.setError(null)} />
      {overview.scripts.length > 0 && (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>{t('filters.name')}</th>
                <th>{t('filters.size')}</th>
                <th>{t('filters.changed')}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {overview.scripts.map((s) => (
                <tr key={s.name}>
                  <td>
                    <span class="mono">{s.name}</span>
                    {s.active && (
                      <>
                        {' '}
                        <span class="pill ok">{t('filters.active')}</span>
                      </>
                    )}
                    {s.name === overview.formScript && <span class="muted small"> {t('filters.theForms')}</span>}
                  </td>
                  <td class="num">{fmtBytes(s.size)}</td>
                  <td>{fmtTime(s.updatedAt)}</td>
                  <td class="buttons">
                    <button type="button" onClick={() => onEdit(s.name, false)}>
                      {t('aliases.edit')}
                    </button>
                    {s.active ? (
                      <button type="button" onClick={() => setActive(null)} disabled={act.busy}>
                        {t('filters.deactivate')}
                      </button>
                    ) : (
                      <button type="button" onClick={() => setActive(s.name)} disabled={act.busy}>
                        {t('filters.activate')}
                      </button>
                    )}
                    <button
                      type="button"
                      class="danger"
                      onClick={() => remove(s.name)}
                      disabled={act.busy || s.active}
                      title={s.active ? t('filters.cannotDelete') : undefined}
                    >
                      {t('common.delete')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <button type="button" onClick={create}>
        {t('filters.newScript')}
      </button>
    </div>
  );
}

/** The character offset of a 1-based line and column in `text`. */
function offsetOf(text: string, line: number, column: number): number {
  let at = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', at);
    if (nl < 0) return text.length;
    at = nl + 1;
  }
  return Math.min(text.length, at + Math.max(0, column - 1));
}

function ScriptEditor({
  account,
  name,
  isNew,
  limits,
  extensions,
  onClose,
  onSaved,
}: {
  account: string;
  name: string;
  isNew: boolean;
  limits: Overview['limits'];
  extensions: string[];
  onClose: () => void;
  onSaved: () => void;
}) {
  const url = `/api/sieve/${seg(account)}/scripts/${seg(name)}`;
  const loaded = useLoad(
    () => (isNew ? Promise.resolve(null) : get<SieveScriptJson>(url)),
    `script ${account} ${name} ${isNew}`,
  );
  const [source, setSource] = useState<string>(isNew ? 'require ["fileinto"];\n\n' : '');
  const [errors, setErrors] = useState<SieveErrorJson[] | null>(null);
  const [activate, setActivate] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const act = useAction();
  const area = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    if (loaded.data) setSource(loaded.data.source);
  }, [loaded.data]);

  const jump = (e: SieveErrorJson) => {
    const el = area.current;
    if (!el) return;
    const at = offsetOf(el.value, e.line, e.column);
    el.focus();
    el.setSelectionRange(at, Math.min(el.value.length, at + 1));
  };
  const check = () =>
    act.run(async () => {
      const r = await api<{ ok: boolean; errors: SieveErrorJson[] }>('POST', `/api/sieve/${seg(account)}/check`, {
        source,
      });
      setErrors(r.errors);
      setSaved(r.ok ? t('filters.noErrors') : null);
    });
  const save = (e: Event) => {
    e.preventDefault();
    act.run(async () => {
      try {
        await api('PUT', url, { source, activate });
      } catch (err) {
        if (err instanceof ApiError && err.status === 400 && hasErrors(err.body)) {
          setErrors(err.body.errors);
          const first = err.body.errors[0];
          if (first) jump(first);
        }
        throw err;
      }
      setErrors([]);
      setSaved(activate ? t('filters.savedActivated') : t('filters.saved'));
      onSaved();
    });
  };

  const size = new TextEncoder().encode(source).length;
  const form = loaded.data?.form;
  return (
    <form class="card editor" onSubmit={save} aria-label={t('filters.editLabel', { name })}>
      <h2>
        {isNew ? t('filters.newScript') : t('filters.script')} <span class="mono">{name}</span>
      </h2>
      {loaded.error && <ErrorBox error={loaded.error} />}
      {form && form !== 'foreign' && <div class="notice warn">{t('filters.formsScript')}</div>}
      <label class="wide">
        {t('filters.source')}
        <textarea
          ref={area}
          name="source"
          class="mono"
          rows={18}
          spellcheck={false}
          value={source}
          onInput={(e) => {
            setSource(e.currentTarget.value);
            setSaved(null);
          }}
        />
      </label>
      <p class={`small ${size > limits.maxScriptBytes ? 'bad' : 'muted'}`}>
        {t('filters.sizeOf', { size: fmtBytes(size), max: fmtBytes(limits.maxScriptBytes) })}{' '}
        <span class="mono">{extensions.join(' ')}</span> {t('filters.seeCaps')}
      </p>
      {errors && errors.length > 0 && (
        <ul class="sieve-errors" role="alert">
          {errors.map((e) => (
            <li key={`${e.line}:${e.column}:${e.message}`}>
              <button type="button" class="link mono" onClick={() => jump(e)}>
                {t('filters.lineColumn', { line: e.line, column: e.column })}
              </button>
              : {e.message}
            </li>
          ))}
        </ul>
      )}
      <div class="actions">
        <button type="submit" disabled={act.busy}>
          {t('filters.save')}
        </button>
        <label class="toggle">
          <input type="checkbox" checked={activate} onChange={(e) => setActivate(e.currentTarget.checked)} />
          {t('filters.makeActive')}
        </label>
        <button type="button" onClick={check} disabled={act.busy}>
          {t('filters.check')}
        </button>
        <button type="button" class="link" onClick={onClose}>
          {t('filters.close')}
        </button>
      </div>
      <ErrorBox error={act.error} onClose={() => act.setError(null)} />
      {saved && !act.error && <Notice>{saved}</Notice>}
    </form>
  );
}

function hasErrors(body: unknown): body is { errors: SieveErrorJson[] } {
  return typeof body === 'object' && body !== null && Array.isArray((body as { errors?: unknown }).errors);
}
