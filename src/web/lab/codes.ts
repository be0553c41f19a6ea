/**
 * What reply codes mean: SMTP basic codes (RFC 5321 §4.2), enhanced status codes (RFC 3463 and the
 * IANA registry of RFC 5248), POP3 response codes (RFC 2449 §8, RFC 3206) and IMAP response codes
 * (RFC 9051 §7.1 and extensions). Data only; annotate.ts decides which entry a line needs.
 */
import { type Language, labWords } from '../i18n/index.js';
import { labEn } from '../i18n/lab.en.js';
import { type RfcRef, rfc } from './rfc.js';

// ---------------------------------------------------------------------------------------------
// SMTP basic reply codes (RFC 5321 §4.2.1: first digit = class, second = category).

export const SMTP_CLASS: Record<string, string> = {
  '2': labEn['smtp.class.2'],
  '3': labEn['smtp.class.3'],
  '4': labEn['smtp.class.4'],
  '5': labEn['smtp.class.5'],
};

export const SMTP_CATEGORY: Record<string, string> = {
  '0': labEn['smtp.category.0'],
  '1': labEn['smtp.category.1'],
  '2': labEn['smtp.category.2'],
  '3': labEn['smtp.category.3'],
  '4': labEn['smtp.category.4'],
  '5': labEn['smtp.category.5'],
};

interface CodeInfo {
  text: string;
  rfc: RfcRef;
}

const S5321 = rfc(5321, '4.2.3');
const S4954 = rfc(4954, '6');

/** The meaning of each basic code, as the RFC that defines it words it. */
export const SMTP_CODES: Record<number, CodeInfo> = {
  211: { text: labEn['smtp.code.211'], rfc: S5321 },
  214: { text: labEn['smtp.code.214'], rfc: S5321 },
  220: { text: labEn['smtp.code.220'], rfc: S5321 },
  221: { text: labEn['smtp.code.221'], rfc: S5321 },
  235: { text: labEn['smtp.code.235'], rfc: S4954 },
  250: { text: labEn['smtp.code.250'], rfc: S5321 },
  251: { text: labEn['smtp.code.251'], rfc: S5321 },
  252: { text: labEn['smtp.code.252'], rfc: S5321 },
  334: { text: labEn['smtp.code.334'], rfc: rfc(4954, '4') },
  354: { text: labEn['smtp.code.354'], rfc: S5321 },
  421: { text: labEn['smtp.code.421'], rfc: S5321 },
  432: { text: labEn['smtp.code.432'], rfc: S4954 },
  450: { text: labEn['smtp.code.450'], rfc: S5321 },
  451: { text: labEn['smtp.code.451'], rfc: S5321 },
  452: { text: labEn['smtp.code.452'], rfc: S5321 },
  454: { text: labEn['smtp.code.454'], rfc: S4954 },
  455: { text: labEn['smtp.code.455'], rfc: S5321 },
  500: { text: labEn['smtp.code.500'], rfc: S5321 },
  501: { text: labEn['smtp.code.501'], rfc: S5321 },
  502: { text: labEn['smtp.code.502'], rfc: S5321 },
  503: { text: labEn['smtp.code.503'], rfc: S5321 },
  504: { text: labEn['smtp.code.504'], rfc: S5321 },
  521: { text: labEn['smtp.code.521'], rfc: rfc(7504, '3') },
  530: { text: labEn['smtp.code.530'], rfc: S4954 },
  534: { text: labEn['smtp.code.534'], rfc: S4954 },
  535: { text: labEn['smtp.code.535'], rfc: S4954 },
  538: { text: labEn['smtp.code.538'], rfc: S4954 },
  550: {
    text: labEn['smtp.code.550'],
    rfc: S5321,
  },
  551: { text: labEn['smtp.code.551'], rfc: S5321 },
  552: { text: labEn['smtp.code.552'], rfc: S5321 },
  553: { text: labEn['smtp.code.553'], rfc: S5321 },
  554: { text: labEn['smtp.code.554'], rfc: S5321 },
  555: { text: labEn['smtp.code.555'], rfc: S5321 },
  556: { text: labEn['smtp.code.556'], rfc: rfc(7504, '3') },
};

/**
 * What a code means as the answer to one particular command (`VERB code`), where that says more than
 * the generic text. `END` is the end of the message data (the `.` line after DATA, or BDAT LAST).
 */
export const SMTP_IN_CONTEXT: Record<string, string> = Object.fromEntries(
  Object.entries(labEn)
    .filter(([key]) => key.startsWith('smtp.reply.'))
    .map(([key, text]) => [key.slice('smtp.reply.'.length).replace('.', ' '), text]),
);

// ---------------------------------------------------------------------------------------------
// Enhanced status codes (RFC 3463 §2-3, the registry of RFC 5248 at IANA).

export const ENHANCED_CLASS: Record<string, string> = {
  '2': labEn['enhanced.class.2'],
  '4': labEn['enhanced.class.4'],
  '5': labEn['enhanced.class.5'],
};

export const ENHANCED_SUBJECT: Record<string, string> = {
  '0': labEn['enhanced.subject.0'],
  '1': labEn['enhanced.subject.1'],
  '2': labEn['enhanced.subject.2'],
  '3': labEn['enhanced.subject.3'],
  '4': labEn['enhanced.subject.4'],
  '5': labEn['enhanced.subject.5'],
  '6': labEn['enhanced.subject.6'],
  '7': labEn['enhanced.subject.7'],
};

/** Where a detail code is registered when that is not RFC 3463 itself. */
const IANA = 'https://www.iana.org/assignments/smtp-enhanced-status-codes/smtp-enhanced-status-codes.xhtml';

/** `subject.detail` → [meaning, RFC number (0: see the IANA registry)]. */
export const ENHANCED_DETAIL: Record<string, [string, number]> = {
  '0.0': [labEn['enhanced.detail.0.0'], 3463],
  '1.0': [labEn['enhanced.detail.1.0'], 3463],
  '1.1': [labEn['enhanced.detail.1.1'], 3463],
  '1.2': [labEn['enhanced.detail.1.2'], 3463],
  '1.3': [labEn['enhanced.detail.1.3'], 3463],
  '1.4': [labEn['enhanced.detail.1.4'], 3463],
  '1.5': [labEn['enhanced.detail.1.5'], 3463],
  '1.6': [labEn['enhanced.detail.1.6'], 3463],
  '1.7': [labEn['enhanced.detail.1.7'], 3463],
  '1.8': [labEn['enhanced.detail.1.8'], 3463],
  '1.9': [labEn['enhanced.detail.1.9'], 3886],
  '1.10': [labEn['enhanced.detail.1.10'], 7505],
  '2.0': [labEn['enhanced.detail.2.0'], 3463],
  '2.1': [labEn['enhanced.detail.2.1'], 3463],
  '2.2': [labEn['enhanced.detail.2.2'], 3463],
  '2.3': [labEn['enhanced.detail.2.3'], 3463],
  '2.4': [labEn['enhanced.detail.2.4'], 3463],
  '3.0': [labEn['enhanced.detail.3.0'], 3463],
  '3.1': [labEn['enhanced.detail.3.1'], 3463],
  '3.2': [labEn['enhanced.detail.3.2'], 3463],
  '3.3': [labEn['enhanced.detail.3.3'], 3463],
  '3.4': [labEn['enhanced.detail.3.4'], 3463],
  '3.5': [labEn['enhanced.detail.3.5'], 3463],
  '3.6': [labEn['enhanced.detail.3.6'], 6710],
  '4.0': [labEn['enhanced.detail.4.0'], 3463],
  '4.1': [labEn['enhanced.detail.4.1'], 3463],
  '4.2': [labEn['enhanced.detail.4.2'], 3463],
  '4.3': [labEn['enhanced.detail.4.3'], 3463],
  '4.4': [labEn['enhanced.detail.4.4'], 3463],
  '4.5': [labEn['enhanced.detail.4.5'], 3463],
  '4.6': [labEn['enhanced.detail.4.6'], 3463],
  '4.7': [labEn['enhanced.detail.4.7'], 3463],
  '5.0': [labEn['enhanced.detail.5.0'], 3463],
  '5.1': [labEn['enhanced.detail.5.1'], 3463],
  '5.2': [labEn['enhanced.detail.5.2'], 3463],
  '5.3': [labEn['enhanced.detail.5.3'], 3463],
  '5.4': [labEn['enhanced.detail.5.4'], 3463],
  '5.5': [labEn['enhanced.detail.5.5'], 3463],
  '5.6': [labEn['enhanced.detail.5.6'], 4954],
  '6.0': [labEn['enhanced.detail.6.0'], 3463],
  '6.1': [labEn['enhanced.detail.6.1'], 3463],
  '6.2': [labEn['enhanced.detail.6.2'], 3463],
  '6.3': [labEn['enhanced.detail.6.3'], 3463],
  '6.4': [labEn['enhanced.detail.6.4'], 3463],
  '6.5': [labEn['enhanced.detail.6.5'], 3463],
  '6.6': [labEn['enhanced.detail.6.6'], 4468],
  '6.7': [labEn['enhanced.detail.6.7'], 6531],
  '6.8': [labEn['enhanced.detail.6.8'], 6531],
  '6.9': [labEn['enhanced.detail.6.9'], 6531],
  '6.10': [labEn['enhanced.detail.6.10'], 6531],
  '7.0': [labEn['enhanced.detail.7.0'], 3463],
  '7.1': [labEn['enhanced.detail.7.1'], 3463],
  '7.2': [labEn['enhanced.detail.7.2'], 3463],
  '7.3': [labEn['enhanced.detail.7.3'], 3463],
  '7.4': [labEn['enhanced.detail.7.4'], 3463],
  '7.5': [labEn['enhanced.detail.7.5'], 3463],
  '7.6': [labEn['enhanced.detail.7.6'], 3463],
  '7.7': [labEn['enhanced.detail.7.7'], 3463],
  '7.8': [labEn['enhanced.detail.7.8'], 4954],
  '7.9': [labEn['enhanced.detail.7.9'], 4954],
  '7.10': [labEn['enhanced.detail.7.10'], 5248],
  '7.11': [labEn['enhanced.detail.7.11'], 4954],
  '7.12': [labEn['enhanced.detail.7.12'], 4954],
  '7.13': [labEn['enhanced.detail.7.13'], 5248],
  '7.14': [labEn['enhanced.detail.7.14'], 5248],
  '7.15': [labEn['enhanced.detail.7.15'], 6710],
  '7.16': [labEn['enhanced.detail.7.16'], 6710],
  '7.17': [labEn['enhanced.detail.7.17'], 7293],
  '7.18': [labEn['enhanced.detail.7.18'], 7293],
  '7.19': [labEn['enhanced.detail.7.19'], 7293],
  '7.20': [labEn['enhanced.detail.7.20'], 7372],
  '7.21': [labEn['enhanced.detail.7.21'], 7372],
  '7.22': [labEn['enhanced.detail.7.22'], 7372],
  '7.23': [labEn['enhanced.detail.7.23'], 7372],
  '7.24': [labEn['enhanced.detail.7.24'], 7372],
  '7.25': [labEn['enhanced.detail.7.25'], 7372],
  '7.26': [labEn['enhanced.detail.7.26'], 7372],
  '7.27': [labEn['enhanced.detail.7.27'], 7505],
  '7.28': [labEn['enhanced.detail.7.28'], 0],
  '7.29': [labEn['enhanced.detail.7.29'], 8617],
  '7.30': [labEn['enhanced.detail.7.30'], 8689],
};

export interface EnhancedExplanation {
  code: string;
  /** `Permanent failure · Addressing status · Bad destination mailbox address`. */
  text: string;
  /** Where the detail code is defined. */
  source: string;
  url: string;
}

/** Explains `class.subject.detail` in `lang`, or null when the text is not an enhanced status code. */
export function explainEnhanced(code: string, lang: Language = 'en'): EnhancedExplanation | null {
  const m = /^([245])\.(\d{1,3})\.(\d{1,3})$/.exec(code);
  if (!m) return null;
  const [, cls, subject, detail] = m;
  const w = labWords(lang);
  const subjectText = ENHANCED_SUBJECT[subject];
  const parts = [
    w.tr(ENHANCED_CLASS[cls]),
    subjectText ? w.tr(subjectText) : w.t('enhanced.subject.unregistered', { subject }),
  ];
  const known = ENHANCED_DETAIL[`${subject}.${detail}`];
  parts.push(known ? w.tr(known[0]) : w.t('enhanced.detail.unregistered', { detail }));
  const num = known?.[1] ?? 3463;
  return {
    code,
    text: parts.join(' · '),
    source: num === 0 ? 'IANA SMTP Enhanced Status Codes registry' : `RFC ${num}`,
    url: num === 0 ? IANA : `https://www.rfc-editor.org/rfc/rfc${num}`,
  };
}

// ---------------------------------------------------------------------------------------------
// POP3 response codes (RFC 2449 §8, RFC 3206).

export const POP3_RESP_CODES: Record<string, { text: string; rfc: RfcRef }> = {
  'IN-USE': {
    text: labEn['pop3.code.IN-USE'],
    rfc: rfc(2449, '8.1.1'),
  },
  'LOGIN-DELAY': {
    text: labEn['pop3.code.LOGIN-DELAY'],
    rfc: rfc(2449, '8.1.2'),
  },
  'SYS/TEMP': { text: labEn['pop3.code.SYS/TEMP'], rfc: rfc(3206, '4') },
  'SYS/PERM': { text: labEn['pop3.code.SYS/PERM'], rfc: rfc(3206, '4') },
  AUTH: { text: labEn['pop3.code.AUTH'], rfc: rfc(3206, '5') },
};

// ---------------------------------------------------------------------------------------------
// IMAP response codes (RFC 9051 §7.1 unless noted).

const R9051 = rfc(9051, '7.1');

export const IMAP_RESP_CODES: Record<string, { text: string; rfc: RfcRef }> = {
  ALERT: { text: labEn['imap.code.ALERT'], rfc: R9051 },
  ALREADYEXISTS: { text: labEn['imap.code.ALREADYEXISTS'], rfc: R9051 },
  APPENDUID: { text: labEn['imap.code.APPENDUID'], rfc: rfc(4315, '3') },
  AUTHENTICATIONFAILED: { text: labEn['imap.code.AUTHENTICATIONFAILED'], rfc: R9051 },
  AUTHORIZATIONFAILED: { text: labEn['imap.code.AUTHORIZATIONFAILED'], rfc: R9051 },
  BADCHARSET: { text: labEn['imap.code.BADCHARSET'], rfc: R9051 },
  CANNOT: { text: labEn['imap.code.CANNOT'], rfc: R9051 },
  CAPABILITY: { text: labEn['imap.code.CAPABILITY'], rfc: R9051 },
  CLIENTBUG: { text: labEn['imap.code.CLIENTBUG'], rfc: R9051 },
  CLOSED: { text: labEn['imap.code.CLOSED'], rfc: R9051 },
  COMPRESSIONACTIVE: { text: labEn['imap.code.COMPRESSIONACTIVE'], rfc: rfc(4978, '3') },
  CONTACTADMIN: { text: labEn['imap.code.CONTACTADMIN'], rfc: R9051 },
  COPYUID: { text: labEn['imap.code.COPYUID'], rfc: rfc(4315, '3') },
  CORRUPTION: { text: labEn['imap.code.CORRUPTION'], rfc: R9051 },
  EXPIRED: { text: labEn['imap.code.EXPIRED'], rfc: R9051 },
  EXPUNGEISSUED: { text: labEn['imap.code.EXPUNGEISSUED'], rfc: R9051 },
  HASCHILDREN: { text: labEn['imap.code.HASCHILDREN'], rfc: R9051 },
  HIGHESTMODSEQ: { text: labEn['imap.code.HIGHESTMODSEQ'], rfc: rfc(7162, '3.1.2.1') },
  INUSE: { text: labEn['imap.code.INUSE'], rfc: R9051 },
  LIMIT: { text: labEn['imap.code.LIMIT'], rfc: R9051 },
  MAILBOXID: { text: labEn['imap.code.MAILBOXID'], rfc: rfc(8474, '4.1') },
  MODIFIED: { text: labEn['imap.code.MODIFIED'], rfc: rfc(7162, '3.1.3') },
  NOMODSEQ: { text: labEn['imap.code.NOMODSEQ'], rfc: rfc(7162, '3.1.2.2') },
  NONEXISTENT: { text: labEn['imap.code.NONEXISTENT'], rfc: R9051 },
  NOPERM: { text: labEn['imap.code.NOPERM'], rfc: R9051 },
  NOTSAVED: { text: labEn['imap.code.NOTSAVED'], rfc: rfc(5182, '2.1') },
  OVERQUOTA: { text: labEn['imap.code.OVERQUOTA'], rfc: R9051 },
  PARSE: { text: labEn['imap.code.PARSE'], rfc: R9051 },
  PERMANENTFLAGS: {
    text: labEn['imap.code.PERMANENTFLAGS'],
    rfc: R9051,
  },
  PRIVACYREQUIRED: { text: labEn['imap.code.PRIVACYREQUIRED'], rfc: R9051 },
  'READ-ONLY': { text: labEn['imap.code.READ-ONLY'], rfc: R9051 },
  'READ-WRITE': { text: labEn['imap.code.READ-WRITE'], rfc: R9051 },
  SERVERBUG: { text: labEn['imap.code.SERVERBUG'], rfc: R9051 },
  TOOBIG: { text: labEn['imap.code.TOOBIG'], rfc: rfc(7889, '4') },
  TRYCREATE: { text: labEn['imap.code.TRYCREATE'], rfc: R9051 },
  UIDNEXT: { text: labEn['imap.code.UIDNEXT'], rfc: R9051 },
  UIDNOTSTICKY: { text: labEn['imap.code.UIDNOTSTICKY'], rfc: R9051 },
  UIDVALIDITY: { text: labEn['imap.code.UIDVALIDITY'], rfc: R9051 },
  UNAVAILABLE: { text: labEn['imap.code.UNAVAILABLE'], rfc: R9051 },
  'UNKNOWN-CTE': { text: labEn['imap.code.UNKNOWN-CTE'], rfc: R9051 },
  UNSEEN: { text: labEn['imap.code.UNSEEN'], rfc: rfc(3501, '7.1') },
  USEATTR: { text: labEn['imap.code.USEATTR'], rfc: rfc(6154, '6') },
};

export const IMAP_STATUS: Record<string, { text: string; rfc: RfcRef }> = {
  OK: { text: labEn['imap.status.OK'], rfc: rfc(9051, '7.1.1') },
  NO: { text: labEn['imap.status.NO'], rfc: rfc(9051, '7.1.2') },
  BAD: { text: labEn['imap.status.BAD'], rfc: rfc(9051, '7.1.3') },
  PREAUTH: { text: labEn['imap.status.PREAUTH'], rfc: rfc(9051, '7.1.4') },
  BYE: { text: labEn['imap.status.BYE'], rfc: rfc(9051, '7.1.5') },
};

// ---------------------------------------------------------------------------------------------
// ManageSieve response codes (RFC 5804 §1.3), in parentheses after OK, NO or BYE.

const R5804 = rfc(5804, '1.3');

export const MANAGESIEVE_RESP_CODES: Record<string, { text: string; rfc: RfcRef }> = {
  'AUTH-TOO-WEAK': {
    text: labEn['managesieve.code.AUTH-TOO-WEAK'],
    rfc: R5804,
  },
  'ENCRYPT-NEEDED': { text: labEn['managesieve.code.ENCRYPT-NEEDED'], rfc: R5804 },
  QUOTA: { text: labEn['managesieve.code.QUOTA'], rfc: R5804 },
  'QUOTA/MAXSCRIPTS': { text: labEn['managesieve.code.QUOTA/MAXSCRIPTS'], rfc: R5804 },
  'QUOTA/MAXSIZE': { text: labEn['managesieve.code.QUOTA/MAXSIZE'], rfc: R5804 },
  REFERRAL: { text: labEn['managesieve.code.REFERRAL'], rfc: R5804 },
  SASL: { text: labEn['managesieve.code.SASL'], rfc: R5804 },
  'TRANSITION-NEEDED': {
    text: labEn['managesieve.code.TRANSITION-NEEDED'],
    rfc: R5804,
  },
  TRYLATER: { text: labEn['managesieve.code.TRYLATER'], rfc: R5804 },
  ACTIVE: { text: labEn['managesieve.code.ACTIVE'], rfc: R5804 },
  NONEXISTENT: { text: labEn['managesieve.code.NONEXISTENT'], rfc: R5804 },
  ALREADYEXISTS: { text: labEn['managesieve.code.ALREADYEXISTS'], rfc: R5804 },
  TAG: { text: labEn['managesieve.code.TAG'], rfc: R5804 },
  WARNINGS: {
    text: labEn['managesieve.code.WARNINGS'],
    rfc: R5804,
  },
};
