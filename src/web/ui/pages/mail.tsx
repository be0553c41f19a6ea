import { useState } from 'preact/hooks';
import {
  get,
  type MailboxInfo,
  type Me,
  type MessageDetail,
  type MessageSummary,
  type MessageTextResponse,
  type MimeNode,
  seg,
  type UserInfo,
} from '../api';
import { t } from '../i18n';
import { ErrorBox, errorText, fmtBytes, fmtTime, Loading, useLoad } from '../util';

const href = (...parts: (string | number)[]) => `#/mail/${parts.map((p) => encodeURIComponent(String(p))).join('/')}`;

/** Admins pick any account; a mail user sees only their own ("me"). */
function AccountPicker({ account }: { account: string | undefined }) {
  const users = useLoad(() => get<{ users: UserInfo[] }>('/api/users'), 'users');
  return (
    <form class="filters" onSubmit={(e) => e.preventDefault()}>
      <label>
        {t('mail.account')}
        <select
          value={account ?? ''}
          onChange={(e) => {
            location.hash = e.currentTarget.value ? href(e.currentTarget.value) : '#/mail';
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

export function MailPage({ me, account, mailbox, uid }: { me: Me; account?: string; mailbox?: string; uid?: string }) {
  const admin = me.role === 'admin';
  const acct = account ?? (admin ? undefined : 'me');
  return (
    <section>
      <h1>{t('nav.mail')}</h1>
      {admin && <AccountPicker account={account} />}
      {!acct ? (
        <p class="muted">{t('mail.pickAccount')}</p>
      ) : (
        <div class="mail">
          <Mailboxes account={acct} current={mailbox} />
          {mailbox ? (
            <Messages account={acct} mailbox={mailbox} current={uid} />
          ) : (
            <p class="muted pane">{t('mail.pickMailbox')}</p>
          )}
          {mailbox && uid && <Message account={acct} mailbox={mailbox} uid={uid} />}
        </div>
      )}
    </section>
  );
}

function Mailboxes({ account, current }: { account: string; current?: string }) {
  const boxes = useLoad(() => get<{ mailboxes: MailboxInfo[] }>(`/api/mail/${seg(account)}/mailboxes`), account);
  return (
    <nav class="pane mailboxes" aria-label={t('mail.mailboxes')}>
      <ErrorBox error={boxes.error} />
      {boxes.loading && !boxes.data && <Loading what={t('mail.loadingMailboxes')} />}
      <ul>
        {boxes.data?.mailboxes.map((m) => (
          <li key={m.id}>
            <a href={href(account, m.id)} class={String(m.id) === current ? 'current' : ''}>
              {m.name}
              {m.specialUse && <span class="muted small"> {m.specialUse}</span>}
              <span
                class="count"
                title={t('mail.countTitle', { messages: m.messages, unseen: m.unseen, size: fmtBytes(m.size) })}
              >
                {m.unseen > 0 ? <strong>{t('mail.new', { n: m.unseen })} · </strong> : null}
                {m.messages}
              </span>
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

const PAGE = 50;

function Messages({ account, mailbox, current }: { account: string; mailbox: string; current?: string }) {
  const [offset, setOffset] = useState(0);
  const list = useLoad(
    () =>
      get<{ total: number; messages: MessageSummary[] }>(
        `/api/mail/${seg(account)}/mailboxes/${seg(mailbox)}/messages?offset=${offset}&limit=${PAGE}`,
      ),
    `${account}/${mailbox}/${offset}`,
  );
  return (
    <div class="pane messages">
      <ErrorBox error={list.error} />
      {list.loading && !list.data && <Loading what={t('mail.loadingMessages')} />}
      {list.data && list.data.total === 0 && <p class="muted">{t('mail.empty')}</p>}
      {list.data && list.data.total > 0 && (
        <>
          <ul class="msglist">
            {list.data.messages.map((m) => (
              <li key={m.uid} class={`${String(m.uid) === current ? 'current' : ''}`}>
                <a href={href(account, mailbox, m.uid)} class={m.flags.includes('\\Seen') ? '' : 'unseen'}>
                  <span class="from">{m.from || t('mail.noSender')}</span>
                  <span class="date">{fmtTime(m.date)}</span>
                  <span class="subject">{m.subject || t('mail.noSubject')}</span>
                  <span class="muted small">{fmtBytes(m.size)}</span>
                </a>
              </li>
            ))}
          </ul>
          {list.data.total > PAGE && (
            <div class="pager">
              <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
                {t('mail.newer')}
              </button>
              <span class="muted small">
                {t('mail.range', {
                  from: offset + 1,
                  to: Math.min(offset + PAGE, list.data.total),
                  total: list.data.total,
                })}
              </span>
              <button
                type="button"
                disabled={offset + PAGE >= list.data.total}
                onClick={() => setOffset(offset + PAGE)}
              >
                {t('mail.older')}
              </button>
            </div>
          )}
        </>
      )}
    </div>
  );
}

function MimeTree({ node, base }: { node: MimeNode; base: string }) {
  const leaf = node.children.length === 0;
  const name = node.filename ?? node.params.name ?? null;
  return (
    <li>
      <span class="mono">{node.part || t('mail.wholeMessage')}</span> <strong>{node.type}</strong>
      {node.params.charset && <span class="muted"> charset={node.params.charset}</span>}
      {node.disposition && <span class="muted"> {node.disposition}</span>}{' '}
      <span class="muted">{fmtBytes(node.size)}</span>
      {leaf && (
        <>
          {' '}
          <a href={`${base}/parts/${seg(node.part || '1')}`} download={name ?? undefined} class="dl">
            {name ? `⬇ ${name}` : `⬇ ${t('mail.download')}`}
          </a>
        </>
      )}
      {!leaf && (
        <ul>
          {node.children.map((c) => (
            <MimeTree key={c.part} node={c} base={base} />
          ))}
        </ul>
      )}
    </li>
  );
}

function attachments(n: MimeNode): MimeNode[] {
  const own = n.children.length === 0 && (n.disposition === 'attachment' || n.filename) ? [n] : [];
  return [...own, ...n.children.flatMap(attachments)];
}

/**
 * The message's text (GET …/text): text/plain parts as they are, HTML parts as text without markup (the
 * server drops every tag, script and style), shown as plain text: nothing of the message runs or loads.
 */
function MessageText({ base }: { base: string }) {
  const text = useLoad(() => get<MessageTextResponse>(`${base}/text`), `${base}/text`);
  const parts = text.data?.parts;
  return (
    <section class="msgtext" aria-label={t('mail.messageText')}>
      <ErrorBox error={text.error} />
      {text.loading && !parts && <Loading what={t('mail.loadingText')} />}
      {parts && parts.length === 0 && <p class="muted small">{t('mail.noTextPart')}</p>}
      {parts?.map((p) => (
        <div key={p.part} class="textpart">
          {parts.length > 1 || p.type === 'text/html' ? (
            <p class="muted small">
              {t('mail.part', { part: p.part, type: p.type })}
              {p.type === 'text/html' ? t('mail.htmlAsText') : ''}
            </p>
          ) : null}
          <pre class="body">{p.text}</pre>
          {p.truncated && <p class="muted small">{t('mail.cut')}</p>}
        </div>
      ))}
    </section>
  );
}

function Message({ account, mailbox, uid }: { account: string; mailbox: string; uid: string }) {
  const base = `/api/mail/${seg(account)}/mailboxes/${seg(mailbox)}/messages/${seg(uid)}`;
  const msg = useLoad(() => get<MessageDetail>(base), base);
  const [tab, setTab] = useState<'headers' | 'mime' | 'raw'>('headers');
  const [raw, setRaw] = useState<string | null>(null);
  const [rawError, setRawError] = useState<string | null>(null);
  const showRaw = async () => {
    setTab('raw');
    if (raw !== null) return;
    try {
      const r = await fetch(`${base}/raw`, { credentials: 'same-origin' });
      if (!r.ok) throw new Error(t('mail.rawFailed', { status: r.status, text: await r.text() }));
      setRaw(await r.text());
    } catch (e) {
      setRawError(errorText(e));
    }
  };
  const m = msg.data;
  const subject = m?.headers.find((h) => h.name.toLowerCase() === 'subject')?.value;
  const atts = m ? attachments(m.mime) : [];
  return (
    <article class="pane message">
      <ErrorBox error={msg.error} />
      {msg.loading && !m && <Loading what={t('mail.loadingMessage')} />}
      {m && (
        <>
          <h2>{subject ?? t('mail.noSubject')}</h2>
          <p class="muted small">
            UID {m.uid} · {fmtBytes(m.size)} · {t('mail.flags')} {m.flags.length ? m.flags.join(' ') : t('mail.none')}
          </p>
          {atts.length > 0 && (
            <p class="atts">
              {t('mail.attachments')}{' '}
              {atts.map((a) => (
                <a key={a.part} class="dl" href={`${base}/parts/${seg(a.part)}`} download={a.filename ?? undefined}>
                  ⬇ {a.filename ?? t('mail.partN', { part: a.part })} ({fmtBytes(a.size)})
                </a>
              ))}
            </p>
          )}
          <MessageText base={base} />
          <div class="tabs" role="tablist">
            <button type="button" role="tab" aria-selected={tab === 'headers'} onClick={() => setTab('headers')}>
              {t('mail.headers')}
            </button>
            <button type="button" role="tab" aria-selected={tab === 'mime'} onClick={() => setTab('mime')}>
              {t('mail.mimeTree')}
            </button>
            <button type="button" role="tab" aria-selected={tab === 'raw'} onClick={showRaw}>
              {t('mail.rawSource')}
            </button>
            <a href={`${base}/raw`} target="_blank" rel="noreferrer" class="small rawlink">
              {t('mail.openRaw')}
            </a>
          </div>
          {tab === 'headers' && (
            <table class="headers">
              <tbody>
                {m.headers.map((h, i) => (
                  <tr key={`${h.name}\u0000${h.value}\u0000${i > 0 ? m.headers[i - 1].name : ''}`}>
                    <th>{h.name}</th>
                    <td>{h.value}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {tab === 'mime' && (
            <ul class="mimetree">
              <MimeTree node={m.mime} base={base} />
            </ul>
          )}
          {tab === 'raw' && (
            <>
              <ErrorBox error={rawError} />
              {raw === null && !rawError ? <Loading what={t('mail.loadingSource')} /> : <pre class="raw">{raw}</pre>}
            </>
          )}
        </>
      )}
    </article>
  );
}
