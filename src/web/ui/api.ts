/**
 * The JSON API of docs/web-api.md, typed. Every failure becomes an ApiError whose message is the
 * server's `{error}` text (which says what went wrong and how to fix it), or a sentence of our own
 * when the server could not be reached or answered something that is not JSON.
 */

import type { MimeNode, Role } from '../api-types.js';
import { language, t } from './i18n';

export type {
  AnnotatedEvent,
  Annotation,
  CapabilitiesResponse,
  Capability,
  CaptureInfo,
  ClassResetView,
  EventType,
  ExerciseInfo,
  ExercisesResponse,
  MessageTextResponse,
  MimeNode,
  ProgressEntry,
  ProgressResponse,
  Proto,
  Role,
  SessionSummary,
  SieveErrorJson,
  SieveFilterRule,
  SieveRules,
  SieveRulesResponse,
  SieveScriptInfoJson,
  SieveScriptJson,
  SieveVacationRule,
} from '../api-types.js';

export interface Me {
  name: string;
  role: Role;
}

export interface MailboxInfo {
  id: number | string;
  name: string;
  specialUse: string | null;
  messages: number;
  unseen: number;
  size: number;
}

export interface MessageSummary {
  uid: number;
  from: string;
  subject: string;
  date: number | string;
  size: number;
  flags: string[];
}

export interface MessageDetail {
  uid: number;
  flags: string[];
  size: number;
  headers: { name: string; value: string }[];
  mime: MimeNode;
}

export interface UserInfo {
  address: string;
  quotaBytes: number | null;
  usedBytes: number;
  disabled: boolean;
  createdAt: number | string;
}

export interface AliasInfo {
  alias: string;
  targets: string[];
}

export interface ServerInfo {
  hostname: string;
  product: string;
  listeners: { name: string; host: string; port: number }[];
  domains: string[];
  /** lab.classroom (serve --classroom). */
  classroom: boolean;
  /** Where plaintext logins are allowed without TLS (CIDR). */
  plaintextNetworks: string[];
}

export interface QueueRecipientInfo {
  address: string;
  state: string;
  lastError: string | null;
}

export interface QueueEntryInfo {
  id: number | string;
  envelopeFrom: string;
  size: number;
  createdAt: number | string;
  nextAttemptAt: number | string | null;
  attempts: number;
  lastError: string | null;
  recipients: QueueRecipientInfo[];
}

export interface LabBatch {
  batch: string;
  accounts: { address: string; password: string }[];
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** The JSON the server answered with (e.g. a Sieve script's `errors`), or null. */
    readonly body: unknown = null,
  ) {
    super(message);
  }
}

/** Called when any request answers 401, so the app can show the login page. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(f: () => void): void {
  onUnauthorized = f;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  // The chosen language, so the texts the server makes (exercises, explanations) come in it.
  const headers: Record<string, string> = {
    Accept: 'application/json',
    'Accept-Language': language(),
    'X-Postbode': '1',
  };
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(t('error.unreachable', { method, path }), 0);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: reported below with the status.
  }
  if (!res.ok) {
    if (res.status === 401 && path !== '/api/login') onUnauthorized();
    const msg =
      data && typeof data === 'object' && 'error' in data && typeof data.error === 'string'
        ? data.error
        : t(res.status === 404 ? 'error.http404' : 'error.http', {
            method,
            path,
            status: res.status,
            statusText: res.statusText,
          });
    throw new ApiError(msg, res.status, data);
  }
  return data as T;
}

export const get = <T>(path: string) => api<T>('GET', path);

/** Percent-encodes one path segment. */
export const seg = (s: string | number) => encodeURIComponent(String(s));
