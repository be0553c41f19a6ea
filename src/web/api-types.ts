/**
 * The shapes the JSON API sends (docs/web-api.md), in one place for the server modules that build them
 * and for the UI (src/web/ui/api.ts) that reads them. Types only: nothing here runs, so the browser
 * bundle and the Node build can both import it.
 */

export type Proto = 'smtp' | 'pop3' | 'imap' | 'managesieve';
export type Role = 'admin' | 'user';

/** A session in the lab's list. */
/** `GET /api/sessions/:id/capture`: what the session's pcap holds and which forms the caller may have. */
export interface CaptureInfo {
  /** Payload bytes kept (0: a session recorded before bytes were kept, its pcap is made of its lines). */
  bytes: number;
  /** The capture was cut (lab.capture_bytes): the pcap ends before the session did. */
  cut: boolean;
  /** The caller may download the form with passwords (`capture.pcap?passwords=1`). */
  passwords: boolean;
  /** The recorder keeps passwords for this session (lab.capture_passwords on, no TLS). */
  keptPasswords: boolean;
}

export interface SessionSummary {
  id: string;
  proto: Proto;
  listener: string;
  localPort: number;
  remote: string;
  remotePort: number;
  user: string | null;
  tls: boolean;
  tlsInfo: string | null;
  start: number;
  end: number | null;
  state: string;
  active: boolean;
  events: number;
  closeReason: string | null;
  /** TLS key logging was on for this session (its secrecy is weakened; admins can fetch keylog.txt). */
  keyLogged: boolean;
  /** SMTP: the last HELO/EHLO name the client gave (lower-case), or null. */
  helo: string | null;
  /** SMTP: the last MAIL FROM address (lower-case), or null. */
  mailFrom: string | null;
}

/** What the lab knows about one line: the reply's meaning, the command it answers, the RFC. */
export interface Annotation {
  code: string | null;
  enhanced: string | null;
  summary: string;
  detail: string | null;
  answers: { seq: number; command: string } | null;
  rfc: { doc: string; section: string | null; url: string } | null;
  state: string | null;
}

export type EventType = 'open' | 'in' | 'out' | 'tls' | 'auth' | 'state' | 'note' | 'close';

/** One trace event of a session as the lab shows it. */
export interface AnnotatedEvent {
  seq: number;
  t: number;
  type: EventType;
  text: string;
  /** The line travelled inside TLS on the wire. */
  encrypted: boolean;
  annotation: Annotation | null;
}

/** One advertised keyword explained (EHLO, CAPA, CAPABILITY). */
export interface Capability {
  keyword: string;
  rfc: string;
  url: string;
  summary: string;
  effect: string;
  example: string[];
}

/**
 * `GET /api/capabilities`: the keywords each protocol advertises, explained; `sieve` has one entry per
 * Sieve extension of ManageSieve's SIEVE capability.
 */
export interface CapabilitiesResponse {
  smtp: Capability[];
  pop3: Capability[];
  imap: Capability[];
  managesieve: Capability[];
  sieve: Capability[];
}

/** A MIME part of a message in the mail browser; `part` is its IMAP section number. */
export interface MimeNode {
  part: string;
  type: string;
  params: Record<string, string>;
  disposition: string | null;
  filename: string | null;
  size: number;
  children: MimeNode[];
}

/** GET /api/mail/:account/mailboxes/:id/messages/:uid/text: the message's text parts, in order. */
export interface MessageTextResponse {
  uid: number;
  /**
   * text/plain parts decoded; text/html parts as text without markup (no tag, script or style is kept).
   * Attachments are left out. Each part is cut at 1,000,000 characters (`truncated`).
   */
  parts: { part: string; type: string; text: string; truncated: boolean }[];
}

/** One exercise of the web lab in one language (`GET /api/exercises`). */
export interface ExerciseInfo {
  id: string;
  title: string;
  hint: string;
  /** The protocols whose sessions can do it. */
  protocols: Proto[];
  /** Done by downloading a session's capture.pcap rather than by a session alone. */
  download: boolean;
}

/** `GET /api/exercises?lang=`: the exercises in course order. */
export interface ExercisesResponse {
  language: 'en' | 'nl' | 'fr';
  languages: ('en' | 'nl' | 'fr')[];
  exercises: ExerciseInfo[];
}

/** Whether a student has done an exercise, and when first (ms), else null. */
export interface ProgressEntry {
  student: string;
  exercise: string;
  done: boolean;
  at: number | null;
}

/** `GET /api/exercises/progress`: every student (users: themselves) × every exercise. */
export interface ProgressResponse {
  students: string[];
  exercises: string[];
  progress: ProgressEntry[];
}

/** `POST /api/class-reset/preview` and `POST /api/class-reset`: what goes (or went) when a class is reset. */
export interface ClassResetView {
  accounts: { address: string; messages: number; bytes: number; sessions: number; exercises: number }[];
  totals: { accounts: number; messages: number; bytes: number; sessions: number; exercises: number };
  /** Sessions of these students still open: kept. */
  openSessions: number;
}

/** One filter of the web form (docs/sieve.md "In the web UI"): a header test and what to do on a match. */
export interface SieveFilterRule {
  /** From, To (To or Cc), Subject, or the header named in `header`. */
  field: 'from' | 'to' | 'subject' | 'header';
  header?: string | null;
  match: 'contains' | 'is';
  value: string;
  /** File into this folder (made when missing). */
  fileinto?: string | null;
  flag: boolean;
  markRead: boolean;
  discard: boolean;
  stop: boolean;
}

/** The vacation reply of the web form: dates are yyyy-mm-dd in the server's time zone, both included. */
export interface SieveVacationRule {
  enabled: boolean;
  start?: string | null;
  end?: string | null;
  subject?: string | null;
  text: string;
  days: number;
}

export interface SieveRules {
  filters: SieveFilterRule[];
  vacation?: SieveVacationRule | null;
}

/** `GET /api/sieve/:account/rules`: the form's rules, and whether the form may write the script. */
export interface SieveRulesResponse {
  /** 'off': the script "postbode" was edited by hand (or not made by the form); `note` says so. */
  form: 'on' | 'off';
  /** The rules the form last wrote (null when they cannot be read back). */
  rules: SieveRules | null;
  /** The script "postbode" is the active one. */
  active: boolean;
  /** The script "postbode" as stored, or null when there is none yet. */
  source: string | null;
  note: string | null;
}

/** A script of `GET /api/sieve/:account`. */
export interface SieveScriptInfoJson {
  name: string;
  active: boolean;
  size: number;
  /** ms since the epoch. */
  updatedAt: number;
}

/** `GET /api/sieve/:account/scripts/:name`. */
export interface SieveScriptJson extends SieveScriptInfoJson {
  source: string;
  /** 'form': written by the web form and unchanged; 'edited': written by it, then edited by hand; 'foreign': not the form's. */
  form: 'form' | 'edited' | 'foreign';
}

/** One compile error, at its 1-based line and column. */
export interface SieveErrorJson {
  line: number;
  column: number;
  message: string;
}
