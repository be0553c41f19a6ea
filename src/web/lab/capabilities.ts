/**
 * The capability explainer: for every keyword postbode advertises (SMTP EHLO, POP3 CAPA, IMAP
 * CAPABILITY, the ManageSieve greeting and the Sieve extensions of its SIEVE capability) its RFC, a
 * one-line summary, what it changes in the dialogue and a short example.
 *
 * Invariants:
 * - `explainCapabilities` keeps the advertised order and never throws: an unknown keyword gets a
 *   generic entry (its `rfc` is empty), so a new keyword shows up instead of breaking the page.
 * - Parameters stay in `keyword` as advertised (`SIZE 26214400`, `AUTH=PLAIN`, `SASL PLAIN LOGIN`);
 *   the entry is found by the keyword's name (`SIZE`, `AUTH=`, `SASL`).
 * - `probeAdvertised` is the only I/O here: it asks the server's own plaintext listeners, before TLS
 *   and before login, so it shows what any client sees first.
 */
import net from 'node:net';
import type { CapabilitiesResponse, Capability } from '../api-types.js';
import { type LabKey, type LabWords, type Language, labWords } from '../i18n/index.js';
import { rfcUrl } from './rfc.js';

/** A keyword's RFC and example; its summary and effect are `cap.<proto>.<keyword>.*` in src/web/i18n/caps.*.ts. */
type Entry = Pick<Capability, 'rfc' | 'example'> & { url?: string; section?: string };
/** The protocols, and `sieve`: the Sieve extensions of ManageSieve's SIEVE capability. */
type Proto = 'smtp' | 'pop3' | 'imap' | 'managesieve' | 'sieve';

const SMTP: Record<string, Entry> = {
  PIPELINING: {
    rfc: 'RFC 2920',
    example: [
      'C: MAIL FROM:<a@example.org>',
      'C: RCPT TO:<b@example.test>',
      'C: DATA',
      'S: 250 2.1.0 Sender OK',
      'S: 250 2.1.5 Recipient OK',
      'S: 354 Start mail input',
    ],
  },
  SIZE: {
    rfc: 'RFC 1870',
    example: [
      'S: 250-SIZE 26214400',
      'C: MAIL FROM:<a@example.org> SIZE=40000000',
      'S: 552 5.3.4 Message size exceeds fixed maximum message size',
    ],
  },
  '8BITMIME': {
    rfc: 'RFC 6152',
    example: ['C: MAIL FROM:<a@example.org> BODY=8BITMIME', 'S: 250 2.1.0 Sender OK'],
  },
  SMTPUTF8: {
    rfc: 'RFC 6531',
    example: ['C: MAIL FROM:<jörg@example.test> SMTPUTF8', 'S: 250 2.1.0 Sender OK'],
  },
  ENHANCEDSTATUSCODES: {
    rfc: 'RFC 2034',
    example: ['C: RCPT TO:<nobody@example.test>', 'S: 550 5.1.1 No such user here'],
  },
  CHUNKING: {
    rfc: 'RFC 3030',
    example: ['C: BDAT 86 LAST', 'C: (86 bytes of message)', 'S: 250 2.6.0 Queued mail for delivery'],
  },
  BINARYMIME: {
    rfc: 'RFC 3030',
    example: ['C: MAIL FROM:<a@example.org> BODY=BINARYMIME', 'S: 250 2.1.0 Sender OK', 'C: BDAT 5000 LAST'],
  },
  DSN: {
    rfc: 'RFC 3461',
    example: [
      'C: MAIL FROM:<a@example.org> RET=HDRS ENVID=msg42',
      'S: 250 2.1.0 Sender OK',
      'C: RCPT TO:<b@example.test> NOTIFY=SUCCESS,FAILURE',
      'S: 250 2.1.5 Recipient OK',
    ],
  },
  STARTTLS: {
    rfc: 'RFC 3207',
    example: ['C: STARTTLS', 'S: 220 2.0.0 Ready to start TLS', '(TLS handshake)', 'C: EHLO client.example.org'],
  },
  AUTH: {
    rfc: 'RFC 4954',
    example: ['C: AUTH PLAIN AGx1ZG9AZXhhbXBsZS50ZXN0AHNlY3JldA==', 'S: 235 2.7.0 Authentication successful'],
  },
  HELP: {
    rfc: 'RFC 5321',
    section: '4.1.1.8',
    example: ['C: HELP', 'S: 214-Commands:', 'S: 214 HELO EHLO MAIL RCPT DATA …'],
  },
  VRFY: {
    rfc: 'RFC 5321',
    section: '4.1.1.6',
    example: ['C: VRFY ludo', 'S: 252 2.5.0 Cannot VRFY user'],
  },
  REQUIRETLS: {
    rfc: 'RFC 8689',
    example: ['C: MAIL FROM:<a@example.org> REQUIRETLS', 'S: 250 2.1.0 Sender OK'],
  },
};

const POP3: Record<string, Entry> = {
  TOP: {
    rfc: 'RFC 1939',
    section: '7',
    example: ['C: TOP 1 0', 'S: +OK', 'S: Subject: hello', 'S: ', 'S: .'],
  },
  UIDL: {
    rfc: 'RFC 1939',
    section: '7',
    example: ['C: UIDL', 'S: +OK', 'S: 1 a3f9c0', 'S: .'],
  },
  'RESP-CODES': {
    rfc: 'RFC 2449',
    section: '6.4',
    example: ['C: PASS secret', 'S: -ERR [IN-USE] Mailbox is locked by another session'],
  },
  'AUTH-RESP-CODE': {
    rfc: 'RFC 3206',
    section: '5',
    example: ['C: PASS wrong', 'S: -ERR [AUTH] Invalid user name or password'],
  },
  PIPELINING: {
    rfc: 'RFC 2449',
    section: '6.6',
    example: ['C: RETR 1', 'C: RETR 2', 'S: +OK (message 1) …', 'S: +OK (message 2) …'],
  },
  EXPIRE: {
    rfc: 'RFC 2449',
    section: '6.7',
    example: ['S: EXPIRE NEVER'],
  },
  'LOGIN-DELAY': {
    rfc: 'RFC 2449',
    section: '6.5',
    example: ['S: LOGIN-DELAY 900'],
  },
  USER: {
    rfc: 'RFC 2449',
    section: '6.8',
    example: ['C: USER ludo@example.test', 'S: +OK', 'C: PASS sdf12345', 'S: +OK ludo@example.test has 1 message'],
  },
  SASL: {
    rfc: 'RFC 2449',
    section: '6.3',
    example: ['C: AUTH PLAIN AGx1ZG9AZXhhbXBsZS50ZXN0AHNlY3JldA==', 'S: +OK Logged in'],
  },
  STLS: {
    rfc: 'RFC 2595',
    section: '4',
    example: ['C: STLS', 'S: +OK Begin TLS negotiation', '(TLS handshake)', 'C: CAPA'],
  },
  IMPLEMENTATION: {
    rfc: 'RFC 2449',
    section: '6.9',
    example: ['S: IMPLEMENTATION postbode-0.1.0'],
  },
};

const IMAP: Record<string, Entry> = {
  IMAP4rev1: {
    rfc: 'RFC 3501',
    example: ['C: a1 SEARCH UNSEEN', 'S: * SEARCH 2 5', 'S: a1 OK SEARCH completed'],
  },
  IMAP4rev2: {
    rfc: 'RFC 9051',
    example: ['C: a1 ENABLE IMAP4rev2', 'S: * ENABLED IMAP4rev2', 'S: a1 OK ENABLE completed'],
  },
  'LITERAL+': {
    rfc: 'RFC 7888',
    example: ['C: a1 APPEND INBOX {310+}', 'C: (310 bytes of message)', 'S: a1 OK [APPENDUID 1 7] APPEND completed'],
  },
  'LITERAL-': {
    rfc: 'RFC 7888',
    example: ['C: a1 LOGIN {4+}', 'C: ludo {6+}', 'C: secret'],
  },
  'SASL-IR': {
    rfc: 'RFC 4959',
    example: ['C: a1 AUTHENTICATE PLAIN AGx1ZG8Ac2VjcmV0', 'S: a1 OK Logged in'],
  },
  ID: {
    rfc: 'RFC 2971',
    example: ['C: a1 ID ("name" "Thunderbird")', 'S: * ID ("name" "postbode")', 'S: a1 OK ID completed'],
  },
  ENABLE: {
    rfc: 'RFC 5161',
    example: ['C: a1 ENABLE QRESYNC', 'S: * ENABLED QRESYNC', 'S: a1 OK ENABLE completed'],
  },
  IDLE: {
    rfc: 'RFC 2177',
    example: ['C: a1 IDLE', 'S: + idling', 'S: * 4 EXISTS', 'C: DONE', 'S: a1 OK IDLE terminated'],
  },
  STARTTLS: {
    rfc: 'RFC 9051',
    section: '6.2.1',
    example: ['C: a1 STARTTLS', 'S: a1 OK Begin TLS negotiation now', '(TLS handshake)', 'C: a2 CAPABILITY'],
  },
  'AUTH=': {
    rfc: 'RFC 9051',
    section: '6.2.2',
    example: ['C: a1 AUTHENTICATE PLAIN', 'S: + ', 'C: AGx1ZG8Ac2VjcmV0', 'S: a1 OK Logged in'],
  },
  LOGINDISABLED: {
    rfc: 'RFC 9051',
    section: '6.2.3',
    example: ['C: a1 LOGIN ludo secret', 'S: a1 NO [PRIVACYREQUIRED] Use STARTTLS first'],
  },
  NAMESPACE: {
    rfc: 'RFC 2342',
    example: ['C: a1 NAMESPACE', 'S: * NAMESPACE (("" "/")) NIL NIL', 'S: a1 OK NAMESPACE completed'],
  },
  UNSELECT: {
    rfc: 'RFC 3691',
    example: ['C: a1 UNSELECT', 'S: a1 OK UNSELECT completed'],
  },
  'COMPRESS=DEFLATE': {
    rfc: 'RFC 4978',
    example: ['C: a1 COMPRESS DEFLATE', 'S: a1 OK DEFLATE active'],
  },
  'UTF8=ACCEPT': {
    rfc: 'RFC 6855',
    example: ['C: a1 ENABLE UTF8=ACCEPT', 'S: * ENABLED UTF8=ACCEPT', 'C: a2 CREATE "Brèves"'],
  },
  CHILDREN: {
    rfc: 'RFC 3348',
    example: ['C: a1 LIST "" "*"', 'S: * LIST (\\HasNoChildren) "/" "INBOX"'],
  },
  'SPECIAL-USE': {
    rfc: 'RFC 6154',
    example: ['C: a1 LIST "" "*"', 'S: * LIST (\\HasNoChildren \\Sent) "/" "Sent"'],
  },
  'CREATE-SPECIAL-USE': {
    rfc: 'RFC 6154',
    section: '3',
    example: ['C: a1 CREATE "Verzonden" (USE (\\Sent))', 'S: a1 OK CREATE completed'],
  },
  'LIST-EXTENDED': {
    rfc: 'RFC 5258',
    example: ['C: a1 LIST (SUBSCRIBED) "" "*"', 'S: * LIST (\\Subscribed) "/" "INBOX"'],
  },
  'LIST-STATUS': {
    rfc: 'RFC 5819',
    example: [
      'C: a1 LIST "" "*" RETURN (STATUS (UNSEEN))',
      'S: * LIST () "/" "INBOX"',
      'S: * STATUS "INBOX" (UNSEEN 2)',
    ],
  },
  'STATUS=SIZE': {
    rfc: 'RFC 8438',
    example: ['C: a1 STATUS INBOX (SIZE)', 'S: * STATUS "INBOX" (SIZE 48210)'],
  },
  QUOTA: {
    rfc: 'RFC 9208',
    example: ['C: a1 GETQUOTAROOT INBOX', 'S: * QUOTAROOT INBOX ""', 'S: * QUOTA "" (STORAGE 512 10240)'],
  },
  'QUOTA=RES-STORAGE': {
    rfc: 'RFC 9208',
    section: '5.1',
    example: ['S: * QUOTA "" (STORAGE 512 10240)'],
  },
  ESEARCH: {
    rfc: 'RFC 4731',
    example: ['C: a1 SEARCH RETURN (COUNT) UNSEEN', 'S: * ESEARCH (TAG "a1") COUNT 3'],
  },
  SEARCHRES: {
    rfc: 'RFC 5182',
    example: ['C: a1 SEARCH RETURN (SAVE) UNSEEN', 'C: a2 FETCH $ (FLAGS)'],
  },
  WITHIN: {
    rfc: 'RFC 5032',
    example: ['C: a1 SEARCH YOUNGER 3600', 'S: * SEARCH 7 8'],
  },
  SORT: {
    rfc: 'RFC 5256',
    example: ['C: a1 SORT (REVERSE DATE) UTF-8 ALL', 'S: * SORT 5 3 4 1 2'],
  },
  'SORT=DISPLAY': {
    rfc: 'RFC 5957',
    example: ['C: a1 SORT (DISPLAYFROM) UTF-8 ALL'],
  },
  ESORT: {
    rfc: 'RFC 5267',
    example: ['C: a1 SORT RETURN (COUNT) (DATE) UTF-8 ALL', 'S: * ESEARCH (TAG "a1") COUNT 12'],
  },
  'THREAD=': {
    rfc: 'RFC 5256',
    example: ['C: a1 THREAD REFERENCES UTF-8 ALL', 'S: * THREAD (1 2)(3 (4)(5))'],
  },
  UIDPLUS: {
    rfc: 'RFC 4315',
    example: ['C: a1 COPY 1 Archive', 'S: a1 OK [COPYUID 1 4 12] COPY completed'],
  },
  MOVE: {
    rfc: 'RFC 6851',
    example: ['C: a1 MOVE 1 Archive', 'S: * OK [COPYUID 1 4 13]', 'S: * 1 EXPUNGE', 'S: a1 OK MOVE completed'],
  },
  MULTIAPPEND: {
    rfc: 'RFC 3502',
    example: ['C: a1 APPEND Sent {300+}', 'C: (message 1) {280+}', 'C: (message 2)'],
  },
  BINARY: {
    rfc: 'RFC 3516',
    example: ['C: a1 FETCH 1 BINARY.SIZE[2]', 'S: * 1 FETCH (BINARY.SIZE[2] 18200)'],
  },
  CONDSTORE: {
    rfc: 'RFC 7162',
    section: '3.1',
    example: ['C: a1 FETCH 1:* (FLAGS) (CHANGEDSINCE 120)', 'S: * 3 FETCH (FLAGS (\\Seen) MODSEQ (124))'],
  },
  QRESYNC: {
    rfc: 'RFC 7162',
    section: '3.2',
    example: [
      'C: a1 SELECT INBOX (QRESYNC (67890007 120))',
      'S: * VANISHED (EARLIER) 41,43:116',
      'S: * 49 FETCH (UID 117 FLAGS (\\Seen) MODSEQ (127))',
    ],
  },
  OBJECTID: {
    rfc: 'RFC 8474',
    example: ['C: a1 FETCH 1 (EMAILID)', 'S: * 1 FETCH (EMAILID (M6d99ac3275bb4e))'],
  },
  PREVIEW: {
    rfc: 'RFC 8970',
    example: ['C: a1 FETCH 1 (PREVIEW)', 'S: * 1 FETCH (PREVIEW "Hi Ludo, the meeting moves to…")'],
  },
  'APPENDLIMIT=': {
    rfc: 'RFC 7889',
    example: [
      'S: * CAPABILITY … APPENDLIMIT=26214400',
      'C: a1 APPEND INBOX {40000000}',
      'S: a1 NO [TOOBIG] Message too big',
    ],
  },
};

/** ManageSieve capabilities (RFC 5804 §1.7), as `NAME value` (the greeting's `"NAME" "value"` unquoted). */
const MANAGESIEVE: Record<string, Entry> = {
  IMPLEMENTATION: {
    rfc: 'RFC 5804',
    section: '1.7',
    example: ['S: "IMPLEMENTATION" "postbode 0.1.0"'],
  },
  SASL: {
    rfc: 'RFC 5804',
    section: '1.7',
    example: ['C: AUTHENTICATE "PLAIN" "AGx1ZG9AZXhhbXBsZS50ZXN0AHNlY3JldA=="', 'S: OK "Logged in."'],
  },
  SIEVE: {
    rfc: 'RFC 5804',
    section: '1.7',
    example: ['S: "SIEVE" "fileinto vacation imap4flags"', 'C: PUTSCRIPT "x" {23+}', 'C: require "fileinto";', 'S: OK'],
  },
  STARTTLS: {
    rfc: 'RFC 5804',
    section: '2.2',
    example: ['C: STARTTLS', 'S: OK', '(TLS handshake)', 'S: "IMPLEMENTATION" "postbode 0.1.0"', 'S: …', 'S: OK'],
  },
  VERSION: {
    rfc: 'RFC 5804',
    section: '1.7',
    example: ['S: "VERSION" "1.0"'],
  },
  MAXREDIRECTS: {
    rfc: 'RFC 5804',
    section: '1.7',
    example: ['S: "MAXREDIRECTS" "4"'],
  },
  NOTIFY: {
    rfc: 'RFC 5804',
    section: '1.7',
    example: ['S: "NOTIFY" "mailto"'],
  },
  UNAUTHENTICATE: {
    rfc: 'RFC 5804',
    section: '2.14',
    example: ['C: UNAUTHENTICATE', 'S: OK', 'C: AUTHENTICATE "PLAIN" "…"'],
  },
  OWNER: {
    rfc: 'RFC 5804',
    section: '1.7',
    example: ['C: CAPABILITY', 'S: "OWNER" "ludo@example.test"'],
  },
  LANGUAGE: {
    rfc: 'RFC 5804',
    section: '1.7',
    example: ['S: "LANGUAGE" "en"'],
  },
};

/** Sieve extensions (the words of the SIEVE capability), with the RFC that defines each. */
const SIEVE: Record<string, Entry> = {
  fileinto: {
    rfc: 'RFC 5228',
    section: '4.1',
    example: ['require "fileinto";', 'if header :contains "list-id" "lab" { fileinto "Lists/Lab"; }'],
  },
  reject: {
    rfc: 'RFC 5429',
    section: '2.2',
    example: ['require "reject";', 'if size :over 10M { reject "Too big; send a link instead."; }'],
  },
  ereject: {
    rfc: 'RFC 5429',
    section: '2.1',
    example: ['require "ereject";', 'if header :contains "subject" "casino" { ereject "No thanks."; }'],
  },
  envelope: {
    rfc: 'RFC 5228',
    section: '5.4',
    example: ['require "envelope";', 'if envelope :is "to" "ludo+lists@example.test" { fileinto "Lists"; }'],
  },
  'encoded-character': {
    rfc: 'RFC 5228',
    section: '2.4.2.4',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Sieve's own ${…} syntax, not a template
    example: ['require "encoded-character";', 'if header :contains "subject" "${unicode:2764}" { keep; }'],
  },
  copy: {
    rfc: 'RFC 3894',
    example: ['require ["copy", "fileinto"];', 'fileinto :copy "Archive";'],
  },
  imap4flags: {
    rfc: 'RFC 5232',
    example: ['require "imap4flags";', 'if address :is "from" "boss@example.test" { addflag "\\\\Flagged"; }'],
  },
  body: {
    rfc: 'RFC 5173',
    example: ['require "body";', 'if body :text :contains "unsubscribe" { fileinto "Bulk"; }'],
  },
  variables: {
    rfc: 'RFC 5229',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Sieve's own ${…} syntax, not a template
    example: ['require ["variables", "fileinto"];', 'if header :matches "list-id" "*<*.*>" { fileinto "Lists/${2}"; }'],
  },
  relational: {
    rfc: 'RFC 5231',
    example: [
      'require "relational";',
      'if header :value "ge" :comparator "i;ascii-numeric" "x-spam-score" "5" { discard; }',
    ],
  },
  'comparator-i;ascii-numeric': {
    rfc: 'RFC 4790',
    section: '9.1',
    example: ['require ["relational", "comparator-i;ascii-numeric"];'],
  },
  date: {
    rfc: 'RFC 5260',
    section: '4',
    example: [
      'require ["date", "relational", "vacation"];',
      'if currentdate :value "ge" "date" "2026-12-20" { vacation "Away until January."; }',
    ],
  },
  index: {
    rfc: 'RFC 5260',
    section: '6',
    example: ['require ["date", "index"];', 'if date :index 1 :value "ge" "received" "hour" "18" { … }'],
  },
  subaddress: {
    rfc: 'RFC 5233',
    example: [
      'require ["subaddress", "envelope", "fileinto"];',
      'if envelope :detail "to" "shop" { fileinto "Shopping"; }',
    ],
  },
  vacation: {
    rfc: 'RFC 5230',
    example: ['require "vacation";', 'vacation :days 1 :subject "Away" "Back on Monday.";'],
  },
  'vacation-seconds': {
    rfc: 'RFC 6131',
    example: ['require "vacation-seconds";', 'vacation :seconds 3600 "In a meeting.";'],
  },
  include: {
    rfc: 'RFC 6609',
    example: ['require "include";', 'include :personal "spam-rules";'],
  },
  mailbox: {
    rfc: 'RFC 5490',
    section: '3',
    example: ['require ["fileinto", "mailbox"];', 'fileinto :create "Lists/New";'],
  },
  environment: {
    rfc: 'RFC 5183',
    example: ['require "environment";', 'if environment :is "name" "postbode" { keep; }'],
  },
  duplicate: {
    rfc: 'RFC 7352',
    example: ['require "duplicate";', 'if duplicate { discard; }'],
  },
  editheader: {
    rfc: 'RFC 5293',
    example: ['require "editheader";', 'addheader "X-Filtered" "yes";'],
  },
  enotify: {
    rfc: 'RFC 5435',
    example: ['require "enotify";', 'notify "mailto:me@example.test";'],
  },
};

const TABLES: Record<Proto, Record<string, Entry>> = {
  smtp: SMTP,
  pop3: POP3,
  imap: IMAP,
  managesieve: MANAGESIEVE,
  sieve: SIEVE,
};

/** The table key for an advertised keyword: `SIZE 1000` → SIZE, `AUTH=PLAIN` → AUTH=. */
function keyOf(proto: Proto, advertised: string): string[] {
  const word = advertised.trim().split(/\s+/)[0] ?? '';
  const upper = word.toUpperCase();
  const keys = [word, upper];
  const eq = word.indexOf('=');
  if (eq > 0) keys.push(upper.slice(0, eq + 1));
  if (proto === 'imap') keys.push(...Object.keys(IMAP).filter((k) => k.toUpperCase() === upper));
  return keys;
}

/** The entry for one advertised keyword, explained in `lang`, or null when the lab does not know it. */
export function lookupCapability(proto: Proto, advertised: string, lang: Language = 'en'): Capability | null {
  const table = TABLES[proto];
  for (const key of keyOf(proto, advertised)) {
    const entry = Object.hasOwn(table, key) ? table[key] : undefined;
    if (entry) return toCapability(`cap.${proto}.${key}`, advertised.trim(), entry, labWords(lang));
  }
  return null;
}

function toCapability(prefix: string, keyword: string, e: Entry, w: LabWords): Capability {
  const num = Number(e.rfc.replace(/^RFC /, ''));
  const parameter = parameterNote(keyword, w);
  const effect = w.t(`${prefix}.effect` as LabKey);
  return {
    keyword,
    rfc: e.section ? `${e.rfc} §${e.section}` : e.rfc,
    url: e.url ?? rfcUrl(num, e.section ?? null),
    summary: w.t(`${prefix}.summary` as LabKey),
    effect: parameter ? `${effect} ${parameter}` : effect,
    example: e.example,
  };
}

/** Says what the parameter of an advertised keyword means here. */
function parameterNote(keyword: string, w: LabWords): string {
  const [word, ...params] = keyword.split(/\s+/);
  const upper = word.toUpperCase();
  const bytes = (n: string) => w.t('cap.param.bytes', { n: Number(n).toLocaleString(w.lang) });
  if (upper === 'SIZE' && params[0]) return bytes(params[0]);
  if ((upper === 'AUTH' || upper === 'SASL') && params.length)
    return w.t('cap.param.mechanisms', { list: params.join(', ') });
  if (upper.startsWith('AUTH=')) return w.t('cap.param.mechanism', { name: word.slice(5) });
  if (upper.startsWith('THREAD=')) return w.t('cap.param.algorithm', { name: word.slice(7) });
  if (upper.startsWith('APPENDLIMIT=')) return bytes(word.slice(12));
  if (upper === 'SIEVE' && params.length) return w.t('cap.param.sieve', { n: params.length });
  if (['IMPLEMENTATION', 'EXPIRE', 'MAXREDIRECTS', 'VERSION', 'OWNER'].includes(upper) && params.length)
    return w.t('cap.param.here', { value: params.join(' ') });
  return '';
}

function generic(proto: Proto, keyword: string, w: LabWords): Capability {
  const registry = proto === 'sieve' ? 'Sieve' : proto === 'managesieve' ? 'ManageSieve' : proto.toUpperCase();
  return {
    keyword,
    rfc: '',
    url: 'https://www.iana.org/protocols',
    summary: w.t('cap.unknown.summary'),
    effect: w.t('cap.unknown.effect', { keyword, where: w.t(`cap.where.${proto}`), registry }),
    example: [],
  };
}

/**
 * Every advertised keyword explained, per protocol; `sieve` has one entry per Sieve extension of the
 * ManageSieve SIEVE capability.
 */
export function explainCapabilities(
  advertised: {
    smtp: string[];
    pop3: string[];
    imap: string[];
    managesieve?: string[];
  },
  lang: Language = 'en',
): CapabilitiesResponse {
  const w = labWords(lang);
  const one = (proto: Proto, list: string[]): Capability[] => {
    const out = list.map((k) => lookupCapability(proto, k, lang) ?? generic(proto, k.trim(), w));
    // ManageSieve lists "SASL" even when it offers nothing (an empty value, RFC 5804 §1.7).
    const auth = out.find(
      (c) =>
        /^AUTH\b|^SASL\s+\S|^USER$|^AUTH=/i.test(c.keyword) || (proto !== 'managesieve' && /^SASL$/i.test(c.keyword)),
    );
    const tls = out.find((c) => /^(STARTTLS|STLS)$/i.test(c.keyword));
    if (tls && !auth) {
      const logins = { smtp: 'AUTH', pop3: 'USER, SASL', imap: 'AUTH=', managesieve: 'SASL', sieve: '' }[proto];
      tls.effect += ` ${w.t('cap.loginsAfterTls', { logins })}`;
    }
    return out;
  };
  const managesieve = advertised.managesieve ?? [];
  const extensions = managesieve
    .find((k) => /^SIEVE(\s|$)/i.test(k))
    ?.trim()
    .split(/\s+/)
    .slice(1);
  return {
    smtp: one('smtp', advertised.smtp),
    pop3: one('pop3', advertised.pop3),
    imap: one('imap', advertised.imap),
    managesieve: one('managesieve', managesieve),
    sieve: one('sieve', extensions ?? []),
  };
}

/** Whether the lab has a real explanation for a keyword (used by the tests). */
export function isExplained(proto: Proto, keyword: string): boolean {
  return lookupCapability(proto, keyword) !== null;
}

// ---------------------------------------------------------------------------------------------
// Asking the running server.

const PROBE_TIMEOUT_MS = 5000;

/**
 * Connects to the server's own plaintext listeners and reads what they advertise before TLS and
 * before login: the EHLO keywords (from `smtp`, else `submission`), the POP3 CAPA list, the IMAP
 * CAPABILITY list and the ManageSieve greeting (as `NAME value`). A listener bound to 0.0.0.0 or :: is reached on loopback. A protocol without a
 * reachable plaintext listener gives an empty list.
 */
export async function probeAdvertised(
  listeners: { name: string; host: string; port: number }[],
): Promise<{ smtp: string[]; pop3: string[]; imap: string[]; managesieve: string[] }> {
  const find = (...names: string[]) => {
    for (const n of names) {
      const l = listeners.find((x) => x.name === n && x.port > 0);
      if (l) return { host: loopback(l.host), port: l.port };
    }
    return null;
  };
  const smtpAt = find('smtp', 'submission');
  const pop3At = find('pop3');
  const imapAt = find('imap');
  const sieveAt = find('managesieve');
  const [smtp, pop3, imap, managesieve] = await Promise.all([
    smtpAt ? probeSmtp(smtpAt).catch(() => []) : [],
    pop3At ? probePop3(pop3At).catch(() => []) : [],
    imapAt ? probeImap(imapAt).catch(() => []) : [],
    sieveAt ? probeManageSieve(sieveAt).catch(() => []) : [],
  ]);
  return { smtp, pop3, imap, managesieve };
}

function loopback(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host.replace(/^\[|\]$/g, '');
}

/** A tiny line conversation: `step` gets each line and returns lines to send, or null when done. */
function converse(at: { host: string; port: number }, step: (line: string) => string[] | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: at.host, port: at.port });
    let buf = '';
    const timer = setTimeout(
      () => finish(new Error(`no answer from ${at.host}:${at.port} in ${PROBE_TIMEOUT_MS} ms`)),
      PROBE_TIMEOUT_MS,
    );
    const finish = (err?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    socket.setEncoding('utf8');
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new Error('connection closed before the answer was complete')));
    socket.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        const send = step(line);
        if (send === null) {
          socket.end();
          return finish();
        }
        for (const s of send) socket.write(`${s}\r\n`);
      }
    });
  });
}

async function probeSmtp(at: { host: string; port: number }): Promise<string[]> {
  const keywords: string[] = [];
  let sentEhlo = false;
  await converse(at, (line) => {
    if (!sentEhlo) {
      if (/^220 /.test(line)) {
        sentEhlo = true;
        return ['EHLO lab.postbode'];
      }
      return /^\d{3} /.test(line) ? null : []; // refused, or more greeting lines
    }
    const m = /^250([ -])(.*)$/.exec(line);
    if (!m) return null;
    if (keywords.length > 0 || m[1] === ' ') keywords.push(m[2].trim());
    else keywords.push(''); // the first line is the greeting, not a keyword
    if (m[1] === ' ') return null;
    return [];
  });
  return keywords.slice(1).filter(Boolean);
}

async function probePop3(at: { host: string; port: number }): Promise<string[]> {
  const caps: string[] = [];
  let phase: 'greeting' | 'status' | 'list' = 'greeting';
  await converse(at, (line) => {
    if (phase === 'greeting') {
      phase = 'status';
      return line.startsWith('+OK') ? ['CAPA'] : null;
    }
    if (phase === 'status') {
      if (!line.startsWith('+OK')) return null;
      phase = 'list';
      return [];
    }
    if (line === '.') return null;
    caps.push(line);
    return [];
  });
  return caps;
}

async function probeImap(at: { host: string; port: number }): Promise<string[]> {
  let caps: string[] = [];
  let asked = false;
  await converse(at, (line) => {
    if (!asked) {
      asked = true;
      return ['p1 CAPABILITY'];
    }
    const m = /^\* CAPABILITY (.*)$/i.exec(line);
    if (m) caps = m[1].trim().split(/\s+/);
    if (line.startsWith('p1 ')) return null;
    return [];
  });
  return caps;
}

/** RFC 5804 §1.7: the greeting is `"NAME" ["value"]` lines ending with OK; read them and LOGOUT. */
async function probeManageSieve(at: { host: string; port: number }): Promise<string[]> {
  const caps: string[] = [];
  await converse(at, (line) => {
    if (/^(OK|NO|BYE)\b/i.test(line)) {
      return null;
    }
    const m = /^"([^"]*)"(?: "((?:[^"\\]|\\.)*)")?$/.exec(line);
    if (m) caps.push(m[2] ? `${m[1]} ${m[2].replace(/\\(.)/g, '$1')}` : m[1]);
    return [];
  });
  return caps;
}
