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
        Account
        <select
          value={account ?? ''}
          onChange={(e) => {
            location.hash = href(e.currentTarget.value || undefined);
          }}
        >
          <option value="">— pick an account —</option>
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
      <h1>Mail filters</h1>
      <p class="muted">
        Rules the server runs on every message it delivers to you, whatever mail program is open: a vacation reply and
        filters, written as a Sieve script. Mail programs such as Thunderbird (with its Sieve add-on) and Roundcube
        change the same scripts over ManageSieve.
      </p>
      {admin && <AccountPicker account={account} />}
      {acct ? <Filters account={acct} /> : <p class="muted">Pick an account to see its filters.</p>}
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
      {overview.loading && !overview.data && <Loading what="scripts" />}
      {overview.data && (
        <p class="active-script">
          {overview.data.active ? (
            <>
              Active script: <strong class="mono">{overview.data.active}</strong>
              {overview.data.active === overview.data.formScript
                ? ' (the rules below)'
                : ' (a script of your own; the rules below apply once the form’s script is active)'}
            </>
          ) : (
            'No script is active: every message goes to the inbox.'
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
    if (off && !confirm('The script "postbode" was edited by hand. Replace it with the rules of this form?')) return;
    act.run(async () => {
      await api('PUT', `/api/sieve/${seg(account)}/rules`, { rules: rules(), activate: true, overwrite: off });
      setSaved('Saved. The rules are active and apply to the next message that arrives.');
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
  if (!loaded.data) return <Loading what="filters" />;
  return (
    <form class="card rules" onSubmit={save} aria-label="Vacation reply and filters">
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
            Vacation reply
          </label>
        </legend>
        {hasVacation && vacation.enabled && (
          <div class="grid">
            <label>
              First day
              <input
                type="date"
                name="vacation-start"
                value={vacation.start ?? ''}
                onInput={(e) => setVacation({ ...vacation, start: e.currentTarget.value || null })}
              />
            </label>
            <label>
              Last day
              <input
                type="date"
                name="vacation-end"
                value={vacation.end ?? ''}
                onInput={(e) => setVacation({ ...vacation, end: e.currentTarget.value || null })}
              />
            </label>
            <label>
              Answer the same sender again after (days)
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
              Subject
              <input
                name="vacation-subject"
                placeholder="empty: “Auto: ” and the subject of the message"
                value={vacation.subject ?? ''}
                onInput={(e) => setVacation({ ...vacation, subject: e.currentTarget.value })}
              />
            </label>
            <label class="wide">
              Text
              <textarea
                name="vacation-text"
                rows={5}
                required
                placeholder="I am away until … and will answer when I am back."
                value={vacation.text}
                onInput={(e) => setVacation({ ...vacation, text: e.currentTarget.value })}
              />
            </label>
            <p class="muted small wide">
              Empty dates: from now on, or with no end. No reply goes to mailing lists, bulk mail, automatic replies or
              mail that was not addressed to you.
            </p>
          </div>
        )}
      </fieldset>

      <fieldset class="filter-list" disabled={act.busy}>
        <legend>Filters, run in this order</legend>
        {filters.length === 0 && <p class="muted">No filters yet.</p>}
        <ol>
          {filters.map((f, i) => (
            <li key={i} class="filter">
              <span>If</span>
              <select
                aria-label="Header"
                value={f.field}
                onChange={(e) => update(i, { field: e.currentTarget.value as SieveFilterRule['field'] })}
              >
                <option value="from">From</option>
                <option value="to">To or Cc</option>
                <option value="subject">Subject</option>
                <option value="header">another header…</option>
              </select>
              {f.field === 'header' && (
                <input
                  aria-label="Header name"
                  placeholder="List-Id"
                  size={12}
                  value={f.header ?? ''}
                  onInput={(e) => update(i, { header: e.currentTarget.value })}
                />
              )}
              <select
                aria-label="Match"
                value={f.match}
                onChange={(e) => update(i, { match: e.currentTarget.value as SieveFilterRule['match'] })}
              >
                <option value="contains">contains</option>
                <option value="is">is exactly</option>
              </select>
              <input
                aria-label="Text"
                required
                placeholder="text"
                value={f.value}
                onInput={(e) => update(i, { value: e.currentTarget.value })}
              />
              <span>then</span>
              <input
                aria-label="Folder"
                placeholder="file into folder"
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
                flag
              </label>
              <label class="toggle">
                <input
                  type="checkbox"
                  checked={f.markRead}
                  onChange={(e) => update(i, { markRead: e.currentTarget.checked })}
                />
                mark read
              </label>
              <label class="toggle">
                <input
                  type="checkbox"
                  checked={f.discard}
                  onChange={(e) => update(i, { discard: e.currentTarget.checked, fileinto: '' })}
                />
                discard
              </label>
              <label class="toggle">
                <input
                  type="checkbox"
                  checked={f.stop || f.discard}
                  disabled={f.discard}
                  onChange={(e) => update(i, { stop: e.currentTarget.checked })}
                />
                stop
              </label>
              <span class="buttons">
                <button type="button" class="link" aria-label="Move up" onClick={() => move(i, -1)} disabled={i === 0}>
                  ↑
                </button>
                <button
                  type="button"
                  class="link"
                  aria-label="Move down"
                  onClick={() => move(i, 1)}
                  disabled={i === filters.length - 1}
                >
                  ↓
                </button>
                <button
                  type="button"
                  class="link"
                  aria-label="Remove filter"
                  onClick={() => setFilters(filters.filter((_, j) => j !== i))}
                >
                  ✕
                </button>
              </span>
            </li>
          ))}
        </ol>
        <button type="button" onClick={() => setFilters([...filters, { ...NEW_FILTER }])}>
          Add a filter
        </button>
        <p class="muted small">
          A folder that does not exist yet is created with the first message filed into it. “stop” ends the rules for
          that message; “discard” throws the message away (and stops).
        </p>
      </fieldset>

      <div class="actions">
        <button type="submit" disabled={act.busy}>
          {off ? 'Replace the script with these rules' : 'Save and activate'}
        </button>
        <button type="button" onClick={showPreview} disabled={act.busy}>
          Show the Sieve script
        </button>
      </div>
      <ErrorBox error={act.error} onClose={() => act.setError(null)} />
      {saved && !act.error && <Notice>{saved}</Notice>}
      {preview !== null && (
        <details open class="preview">
          <summary>The script these rules make (not saved yet)</summary>
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
    if (!confirm(`Delete the script "${name}"? This cannot be undone.`)) return;
    act.run(async () => {
      await api('DELETE', `/api/sieve/${seg(account)}/scripts/${seg(name)}`);
      onChanged();
    });
  };
  const create = () => {
    const name = prompt('Name of the new script:', 'my-rules');
    if (name) onEdit(name, true);
  };
  const { limits } = overview;
  return (
    <div class="card scripts">
      <h2>Sieve scripts</h2>
      <p class="muted small">
        At most one script is active: the one the server runs for each new message. {overview.scripts.length} of{' '}
        {limits.maxScripts} scripts, each at most {fmtBytes(limits.maxScriptBytes)}.
      </p>
      <ErrorBox error={act.error} onClose={() => act.setError(null)} />
      {overview.scripts.length > 0 && (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Size</th>
                <th>Changed</th>
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
                        <span class="pill ok">active</span>
                      </>
                    )}
                    {s.name === overview.formScript && <span class="muted small"> (the form’s)</span>}
                  </td>
                  <td class="num">{fmtBytes(s.size)}</td>
                  <td>{fmtTime(s.updatedAt)}</td>
                  <td class="buttons">
                    <button type="button" onClick={() => onEdit(s.name, false)}>
                      Edit
                    </button>
                    {s.active ? (
                      <button type="button" onClick={() => setActive(null)} disabled={act.busy}>
                        Deactivate
                      </button>
                    ) : (
                      <button type="button" onClick={() => setActive(s.name)} disabled={act.busy}>
                        Activate
                      </button>
                    )}
                    <button
                      type="button"
                      class="danger"
                      onClick={() => remove(s.name)}
                      disabled={act.busy || s.active}
                      title={s.active ? 'The active script cannot be deleted; deactivate it first' : undefined}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <button type="button" onClick={create}>
        New script
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
      setSaved(r.ok ? 'No errors.' : null);
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
      setSaved(activate ? 'Saved and activated.' : 'Saved.');
      onSaved();
    });
  };

  const size = new TextEncoder().encode(source).length;
  const form = loaded.data?.form;
  return (
    <form class="card editor" onSubmit={save} aria-label={`Edit the script ${name}`}>
      <h2>
        {isNew ? 'New script' : 'Script'} <span class="mono">{name}</span>
      </h2>
      {loaded.error && <ErrorBox error={loaded.error} />}
      {form && form !== 'foreign' && (
        <div class="notice warn">
          This is the form’s script. Saving it here turns the form off for it: the form then leaves your version alone
          until you save the form again (which replaces it).
        </div>
      )}
      <label class="wide">
        Sieve source (RFC 5228)
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
        {fmtBytes(size)} of at most {fmtBytes(limits.maxScriptBytes)}. Extensions a script may require:{' '}
        <span class="mono">{extensions.join(' ')}</span> (see Capabilities and docs/sieve.md).
      </p>
      {errors && errors.length > 0 && (
        <ul class="sieve-errors" role="alert">
          {errors.map((e) => (
            <li key={`${e.line}:${e.column}:${e.message}`}>
              <button type="button" class="link mono" onClick={() => jump(e)}>
                line {e.line}, column {e.column}
              </button>
              : {e.message}
            </li>
          ))}
        </ul>
      )}
      <div class="actions">
        <button type="submit" disabled={act.busy}>
          Save
        </button>
        <label class="toggle">
          <input type="checkbox" checked={activate} onChange={(e) => setActivate(e.currentTarget.checked)} />
          and make it the active script
        </label>
        <button type="button" onClick={check} disabled={act.busy}>
          Check
        </button>
        <button type="button" class="link" onClick={onClose}>
          Close
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
