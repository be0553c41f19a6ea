/**
 * The mail browser (docs/web-api.md "Mail browser"): an account's mailboxes, its messages newest
 * first, one message's header fields and MIME tree, its raw source, and one part decoded.
 *
 * Invariants:
 * - `:account` is resolved by `accountFor`: users only themselves (403 otherwise), admins anyone. A
 *   mailbox id that belongs to another account answers 404, as if it did not exist.
 * - Everything is read from the meta parsed at delivery (src/mail, MIME offsets) and byte ranges of
 *   the stored message; nothing is parsed again unless the meta predates the MIME tree.
 * - Part numbers are IMAP section numbers (RFC 9051 §6.4.5): `1`, `2.1`, ...; the body of a
 *   non-multipart message is part `1`; a multipart root has the part "" (it has no body of its own).
 * - A downloaded part is always an attachment with `nosniff` and a sandbox CSP, so a message's HTML
 *   never runs with the lab's origin. Reading mail does not set \Seen.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import {
  decodeHeaderValue,
  decodeTransfer,
  decodeWords,
  findPart,
  MESSAGE_META_VERSION,
  type MessageMeta,
  type MimePart,
  messageText,
  paramValue,
  parseDate,
  parseMessage,
} from '../../mail/index.js';
import { decodedHeader } from '../../mail/search.js';
import type { Account, JsonValue, Mailbox, Store } from '../../store/types.js';
import type { MessageTextResponse, MimeNode } from '../api-types.js';
import {
  type ApiError,
  accountFor,
  apiError,
  badRequest,
  requireUser,
  type WebContext,
  type WebEnv,
} from '../context.js';

const MAX_LIMIT = 500;
/** Bytes of a raw message read and sent at a time. */
const RAW_PIECE = 256 * 1024;

export function mailRoutes(ctx: WebContext): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const { store } = ctx;
  app.use('/mail/*', requireUser);

  const account = async (c: Context<WebEnv>): Promise<Account> => {
    const address = accountFor(c, c.req.param('account') ?? '');
    const found = await store.accounts.get(address);
    if (!found) {
      throw apiError(404, 'account.none', { address });
    }
    return found;
  };

  const mailbox = async (c: Context<WebEnv>): Promise<{ account: Account; mailbox: Mailbox }> => {
    const acct = await account(c);
    const raw = c.req.param('id') ?? '';
    const id = Number(raw);
    const box = Number.isSafeInteger(id) ? await store.mailboxes.getById(id) : null;
    if (!box || box.accountId !== acct.id) {
      throw apiError(404, 'mail.noMailbox', { mailbox: raw, address: acct.address });
    }
    return { account: acct, mailbox: box };
  };

  const uidOf = (c: Context<WebEnv>): number => {
    const uid = Number(c.req.param('uid'));
    if (!Number.isSafeInteger(uid) || uid < 1) throw badRequest('mail.badUid');
    return uid;
  };

  app.get('/mail/:account/mailboxes', async (c) => {
    const acct = await account(c);
    const boxes = await store.mailboxes.list(acct.id);
    const mailboxes = await Promise.all(
      boxes.map(async (b) => {
        const s = await store.mailboxes.status(b.id);
        return {
          id: b.id,
          name: b.name,
          specialUse: b.specialUse,
          messages: s.messages,
          unseen: s.unseen,
          size: s.size,
        };
      }),
    );
    return c.json({ mailboxes });
  });

  app.get('/mail/:account/mailboxes/:id/messages', async (c) => {
    const { mailbox: box } = await mailbox(c);
    const offset = wholeQuery(c, 'offset', 0, Number.MAX_SAFE_INTEGER);
    const limit = wholeQuery(c, 'limit', 50, MAX_LIMIT);
    const all = await store.messages.list(box.id);
    const page = all
      .slice()
      .reverse()
      .slice(offset, offset + limit);
    const metas = await metasOf(
      store,
      box.id,
      page.map((m) => m.uid),
    );
    const messages = page.map((m) => {
      const meta = metas.get(m.uid);
      const date = meta?.date ? parseDate(meta.date)?.time : undefined;
      return {
        uid: m.uid,
        from: meta?.from ? decodeHeaderValue(meta.from).trim() : null,
        subject: meta?.subject ? decodeHeaderValue(meta.subject).trim() : null,
        date: date ?? m.internalDate.getTime(),
        size: m.size,
        flags: m.flags,
      };
    });
    return c.json({ total: all.length, messages });
  });

  app.get('/mail/:account/mailboxes/:id/messages/:uid', async (c) => {
    const { mailbox: box } = await mailbox(c);
    const uid = uidOf(c);
    const info = await store.messages.get(box.id, uid);
    const meta = info ? (await metasOf(store, box.id, [uid])).get(uid) : undefined;
    if (!info || !meta) throw noMessage(uid, box);
    const header = (await store.messages.readMany(box.id, [{ uid, start: 0, end: meta.headerLength }])).get(uid);
    if (!header) throw noMessage(uid, box);
    return c.json({
      uid,
      flags: info.flags,
      size: info.size,
      headers: decodedHeader(header, 0, header.length).map(([name, value]) => ({ name, value })),
      mime: mimeTree(meta.mime),
    });
  });

  // The text to read: text/plain parts decoded, text/html parts as text without markup (mail/text.ts).
  app.get('/mail/:account/mailboxes/:id/messages/:uid/text', async (c) => {
    const { mailbox: box } = await mailbox(c);
    const uid = uidOf(c);
    const meta = (await metasOf(store, box.id, [uid])).get(uid);
    const raw = meta ? (await store.messages.readMany(box.id, [{ uid }])).get(uid) : undefined;
    if (!meta || !raw) throw noMessage(uid, box);
    const body: MessageTextResponse = { uid, parts: messageText(raw, meta.mime) };
    return c.json(body);
  });

  app.get('/mail/:account/mailboxes/:id/messages/:uid/raw', async (c) => {
    const { mailbox: box } = await mailbox(c);
    const uid = uidOf(c);
    const info = await store.messages.get(box.id, uid);
    if (!info) throw noMessage(uid, box);
    // Piece by piece as the browser takes it (a pull stream), so a large message is never whole in memory.
    let at = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          const piece =
            at < info.size
              ? (
                  await store.messages.readMany(box.id, [{ uid, start: at, end: Math.min(info.size, at + RAW_PIECE) }])
                ).get(uid)
              : undefined;
          if (!piece || piece.length === 0) return controller.close();
          at += piece.length;
          controller.enqueue(new Uint8Array(piece.buffer, piece.byteOffset, piece.length));
        },
      },
      { highWaterMark: 0 },
    );
    return c.body(body, 200, {
      'Content-Length': String(info.size),
      'Content-Type': 'text/plain',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': 'sandbox',
    });
  });

  app.get('/mail/:account/mailboxes/:id/messages/:uid/parts/:part', async (c) => {
    const { mailbox: box } = await mailbox(c);
    const uid = uidOf(c);
    const name = c.req.param('part');
    if (!/^[1-9]\d{0,5}(\.[1-9]\d{0,5}){0,30}$/.test(name)) {
      throw badRequest('mail.badPart', { part: name });
    }
    const meta = (await metasOf(store, box.id, [uid])).get(uid);
    if (!meta) throw noMessage(uid, box);
    const part = findPart(meta.mime, name.split('.').map(Number));
    if (!part) throw apiError(404, 'mail.noPart', { uid, part: name });
    if (part.kind === 'multipart') {
      throw badRequest('mail.container', { part: name, type: mediaType(part) });
    }
    const bytes = (await store.messages.readMany(box.id, [{ uid, start: part.body, end: part.end }])).get(uid);
    if (!bytes) throw noMessage(uid, box);
    const body = decodeTransfer(bytes, part.encoding);
    const charset = part.kind === 'text' ? paramValue(part.params, 'charset') : null;
    const filename = partFilename(part) ?? `part-${name}${extension(part)}`;
    return c.body(new Uint8Array(body), 200, {
      'Content-Type': `${mediaType(part)}${charset ? `; charset=${headerSafe(charset)}` : ''}`,
      'Content-Disposition': contentDisposition(filename),
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': 'sandbox',
    });
  });

  return app;
}

function noMessage(uid: number, box: Mailbox): ApiError {
  return apiError(404, 'mail.noMessage', { uid, mailbox: box.name });
}

function wholeQuery(c: Context<WebEnv>, name: string, fallback: number, max: number): number {
  const raw = c.req.query(name);
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0 || n > max) throw badRequest('query.wholeNumber', { name, max });
  return n;
}

/** Stored metas by UID, parsed again from the message for metas older than the MIME tree. */
async function metasOf(store: Store, mailboxId: number, uids: number[]): Promise<Map<number, MessageMeta>> {
  const stored = await store.messages.metaMany(mailboxId, uids);
  const out = new Map<number, MessageMeta>();
  const stale: number[] = [];
  for (const [uid, { meta }] of stored) {
    if (isCurrent(meta)) out.set(uid, meta);
    else stale.push(uid);
  }
  if (stale.length) {
    const raws = await store.messages.readMany(
      mailboxId,
      stale.map((uid) => ({ uid })),
    );
    for (const [uid, raw] of raws) out.set(uid, parseMessage(raw));
  }
  return out;
}

function isCurrent(meta: JsonValue): meta is JsonValue & MessageMeta {
  return (
    typeof meta === 'object' &&
    meta !== null &&
    !Array.isArray(meta) &&
    (meta as { version?: unknown }).version === MESSAGE_META_VERSION
  );
}

function mediaType(part: MimePart): string {
  return `${part.type}/${part.subtype}`.toLowerCase();
}

function partFilename(part: MimePart): string | null {
  const name = paramValue(part.dispositionParams, 'filename') ?? paramValue(part.params, 'name');
  const clean = name?.replace(/[\\/]/g, '_').trim();
  return clean ? clean : null;
}

/** The MIME tree with IMAP part numbers (see the header of this file). */
export function mimeTree(root: MimePart): MimeNode {
  const node = (part: MimePart, number: string): MimeNode => {
    const params: Record<string, string> = {};
    for (const [k] of part.params ?? []) {
      const key = k.replace(/\*$/, '').toLowerCase();
      if (!(key in params)) params[key] = paramValue(part.params, key) ?? '';
    }
    let children: MimeNode[] = [];
    if (part.kind === 'multipart') {
      children = (part.parts ?? []).map((p, i) => node(p, number ? `${number}.${i + 1}` : `${i + 1}`));
    } else if (part.kind === 'message' && part.message) {
      const inner = part.message;
      children =
        inner.kind === 'multipart'
          ? (inner.parts ?? []).map((p, i) => node(p, `${number}.${i + 1}`))
          : [node(inner, `${number}.1`)];
    }
    return {
      part: number,
      type: mediaType(part),
      params,
      disposition: part.disposition ? part.disposition.toLowerCase() : null,
      filename: partFilename(part),
      size: part.end - part.body,
      children,
    };
  };
  return node(root, root.kind === 'multipart' ? '' : '1');
}

const EXTENSIONS: Record<string, string> = {
  'text/plain': '.txt',
  'text/html': '.html',
  'message/rfc822': '.eml',
  'image/png': '.png',
  'image/jpeg': '.jpg',
  'application/pdf': '.pdf',
};

function extension(part: MimePart): string {
  return EXTENSIONS[mediaType(part)] ?? '.bin';
}

function headerSafe(value: string): string {
  return value.replace(/[^\x21-\x7e]/g, '').replace(/[";\\]/g, '');
}

/** RFC 6266: an ASCII fallback `filename` and the exact name as `filename*` (RFC 8187). */
export function contentDisposition(filename: string): string {
  const decoded = decodeWords(filename);
  const ascii = decoded.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(decoded).replace(
    /['()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
