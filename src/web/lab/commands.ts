/** What each client command asks for, and where its RFC defines it. Data only; the texts are the lab catalogue's (src/web/i18n/lab.en.ts). */

import { labEn } from '../i18n/lab.en.js';
import { type RfcRef, rfc } from './rfc.js';

export interface CommandInfo {
  summary: string;
  rfc: RfcRef;
}

export const SMTP_COMMANDS: Record<string, CommandInfo> = {
  EHLO: { summary: labEn['smtp.command.EHLO'], rfc: rfc(5321, '4.1.1.1') },
  HELO: { summary: labEn['smtp.command.HELO'], rfc: rfc(5321, '4.1.1.1') },
  MAIL: {
    summary: labEn['smtp.command.MAIL'],
    rfc: rfc(5321, '4.1.1.2'),
  },
  RCPT: { summary: labEn['smtp.command.RCPT'], rfc: rfc(5321, '4.1.1.3') },
  DATA: { summary: labEn['smtp.command.DATA'], rfc: rfc(5321, '4.1.1.4') },
  RSET: { summary: labEn['smtp.command.RSET'], rfc: rfc(5321, '4.1.1.5') },
  VRFY: { summary: labEn['smtp.command.VRFY'], rfc: rfc(5321, '4.1.1.6') },
  EXPN: { summary: labEn['smtp.command.EXPN'], rfc: rfc(5321, '4.1.1.7') },
  HELP: { summary: labEn['smtp.command.HELP'], rfc: rfc(5321, '4.1.1.8') },
  NOOP: { summary: labEn['smtp.command.NOOP'], rfc: rfc(5321, '4.1.1.9') },
  QUIT: { summary: labEn['smtp.command.QUIT'], rfc: rfc(5321, '4.1.1.10') },
  STARTTLS: { summary: labEn['smtp.command.STARTTLS'], rfc: rfc(3207, '4') },
  AUTH: { summary: labEn['smtp.command.AUTH'], rfc: rfc(4954, '4') },
  BDAT: { summary: labEn['smtp.command.BDAT'], rfc: rfc(3030, '2') },
};

export const POP3_COMMANDS: Record<string, CommandInfo> = {
  USER: { summary: labEn['pop3.command.USER'], rfc: rfc(1939, '7') },
  PASS: { summary: labEn['pop3.command.PASS'], rfc: rfc(1939, '7') },
  APOP: { summary: labEn['pop3.command.APOP'], rfc: rfc(1939, '7') },
  AUTH: { summary: labEn['pop3.command.AUTH'], rfc: rfc(5034, '4') },
  STAT: { summary: labEn['pop3.command.STAT'], rfc: rfc(1939, '5') },
  LIST: { summary: labEn['pop3.command.LIST'], rfc: rfc(1939, '5') },
  RETR: { summary: labEn['pop3.command.RETR'], rfc: rfc(1939, '5') },
  DELE: { summary: labEn['pop3.command.DELE'], rfc: rfc(1939, '5') },
  NOOP: { summary: labEn['pop3.command.NOOP'], rfc: rfc(1939, '5') },
  RSET: { summary: labEn['pop3.command.RSET'], rfc: rfc(1939, '5') },
  QUIT: {
    summary: labEn['pop3.command.QUIT'],
    rfc: rfc(1939, '6'),
  },
  TOP: { summary: labEn['pop3.command.TOP'], rfc: rfc(1939, '7') },
  UIDL: { summary: labEn['pop3.command.UIDL'], rfc: rfc(1939, '7') },
  CAPA: { summary: labEn['pop3.command.CAPA'], rfc: rfc(2449, '5') },
  STLS: { summary: labEn['pop3.command.STLS'], rfc: rfc(2595, '4') },
};

const r9 = (section: string) => rfc(9051, section);

export const IMAP_COMMANDS: Record<string, CommandInfo> = {
  CAPABILITY: { summary: labEn['imap.command.CAPABILITY'], rfc: r9('6.1.1') },
  NOOP: { summary: labEn['imap.command.NOOP'], rfc: r9('6.1.2') },
  LOGOUT: { summary: labEn['imap.command.LOGOUT'], rfc: r9('6.1.3') },
  STARTTLS: { summary: labEn['imap.command.STARTTLS'], rfc: r9('6.2.1') },
  AUTHENTICATE: { summary: labEn['imap.command.AUTHENTICATE'], rfc: r9('6.2.2') },
  LOGIN: { summary: labEn['imap.command.LOGIN'], rfc: r9('6.2.3') },
  ENABLE: { summary: labEn['imap.command.ENABLE'], rfc: r9('6.3.1') },
  SELECT: { summary: labEn['imap.command.SELECT'], rfc: r9('6.3.2') },
  EXAMINE: { summary: labEn['imap.command.EXAMINE'], rfc: r9('6.3.3') },
  CREATE: { summary: labEn['imap.command.CREATE'], rfc: r9('6.3.4') },
  DELETE: { summary: labEn['imap.command.DELETE'], rfc: r9('6.3.5') },
  RENAME: { summary: labEn['imap.command.RENAME'], rfc: r9('6.3.6') },
  SUBSCRIBE: { summary: labEn['imap.command.SUBSCRIBE'], rfc: r9('6.3.7') },
  UNSUBSCRIBE: { summary: labEn['imap.command.UNSUBSCRIBE'], rfc: r9('6.3.8') },
  LIST: { summary: labEn['imap.command.LIST'], rfc: r9('6.3.9') },
  LSUB: { summary: labEn['imap.command.LSUB'], rfc: rfc(3501, '6.3.9') },
  NAMESPACE: { summary: labEn['imap.command.NAMESPACE'], rfc: r9('6.3.10') },
  STATUS: { summary: labEn['imap.command.STATUS'], rfc: r9('6.3.11') },
  APPEND: { summary: labEn['imap.command.APPEND'], rfc: r9('6.3.12') },
  IDLE: { summary: labEn['imap.command.IDLE'], rfc: r9('6.3.13') },
  DONE: { summary: labEn['imap.command.DONE'], rfc: r9('6.3.13') },
  CHECK: { summary: labEn['imap.command.CHECK'], rfc: rfc(3501, '6.4.1') },
  CLOSE: { summary: labEn['imap.command.CLOSE'], rfc: r9('6.4.1') },
  UNSELECT: { summary: labEn['imap.command.UNSELECT'], rfc: r9('6.4.2') },
  EXPUNGE: { summary: labEn['imap.command.EXPUNGE'], rfc: r9('6.4.3') },
  SEARCH: { summary: labEn['imap.command.SEARCH'], rfc: r9('6.4.4') },
  FETCH: { summary: labEn['imap.command.FETCH'], rfc: r9('6.4.5') },
  STORE: { summary: labEn['imap.command.STORE'], rfc: r9('6.4.6') },
  COPY: { summary: labEn['imap.command.COPY'], rfc: r9('6.4.7') },
  MOVE: { summary: labEn['imap.command.MOVE'], rfc: r9('6.4.8') },
  UID: { summary: labEn['imap.command.UID'], rfc: r9('6.4.9') },
  ID: { summary: labEn['imap.command.ID'], rfc: rfc(2971, '3.1') },
  COMPRESS: { summary: labEn['imap.command.COMPRESS'], rfc: rfc(4978, '3') },
  GETQUOTA: { summary: labEn['imap.command.GETQUOTA'], rfc: rfc(9208, '4.2') },
  GETQUOTAROOT: { summary: labEn['imap.command.GETQUOTAROOT'], rfc: rfc(9208, '4.3') },
  SETQUOTA: { summary: labEn['imap.command.SETQUOTA'], rfc: rfc(9208, '4.4') },
  SORT: { summary: labEn['imap.command.SORT'], rfc: rfc(5256, '3') },
  THREAD: { summary: labEn['imap.command.THREAD'], rfc: rfc(5256, '3') },
};

/** Untagged data responses `* NAME ...` or `* n NAME ...` (RFC 9051 §7 unless noted). */
export const IMAP_UNTAGGED: Record<string, CommandInfo> = {
  CAPABILITY: { summary: labEn['imap.untagged.CAPABILITY'], rfc: r9('7.2.2') },
  ENABLED: { summary: labEn['imap.untagged.ENABLED'], rfc: r9('7.2.1') },
  LIST: { summary: labEn['imap.untagged.LIST'], rfc: r9('7.3.1') },
  LSUB: { summary: labEn['imap.untagged.LSUB'], rfc: rfc(3501, '7.2.3') },
  NAMESPACE: { summary: labEn['imap.untagged.NAMESPACE'], rfc: r9('7.3.2') },
  STATUS: { summary: labEn['imap.untagged.STATUS'], rfc: r9('7.3.3') },
  ESEARCH: { summary: labEn['imap.untagged.ESEARCH'], rfc: r9('7.3.4') },
  SEARCH: { summary: labEn['imap.untagged.SEARCH'], rfc: rfc(3501, '7.2.5') },
  SORT: { summary: labEn['imap.untagged.SORT'], rfc: rfc(5256, '4') },
  THREAD: { summary: labEn['imap.untagged.THREAD'], rfc: rfc(5256, '4') },
  FLAGS: { summary: labEn['imap.untagged.FLAGS'], rfc: r9('7.3.5') },
  EXISTS: { summary: labEn['imap.untagged.EXISTS'], rfc: r9('7.4.1') },
  RECENT: { summary: labEn['imap.untagged.RECENT'], rfc: rfc(3501, '7.3.2') },
  EXPUNGE: { summary: labEn['imap.untagged.EXPUNGE'], rfc: r9('7.5.1') },
  FETCH: { summary: labEn['imap.untagged.FETCH'], rfc: r9('7.5.2') },
  VANISHED: { summary: labEn['imap.untagged.VANISHED'], rfc: rfc(7162, '3.2.10') },
  QUOTA: { summary: labEn['imap.untagged.QUOTA'], rfc: rfc(9208, '5.1') },
  QUOTAROOT: { summary: labEn['imap.untagged.QUOTAROOT'], rfc: rfc(9208, '5.2') },
  ID: { summary: labEn['imap.untagged.ID'], rfc: rfc(2971, '3.2') },
};

const r58 = (section: string) => rfc(5804, section);

/** ManageSieve commands (RFC 5804 §2). */
export const MANAGESIEVE_COMMANDS: Record<string, CommandInfo> = {
  AUTHENTICATE: { summary: labEn['managesieve.command.AUTHENTICATE'], rfc: r58('2.1') },
  STARTTLS: { summary: labEn['managesieve.command.STARTTLS'], rfc: r58('2.2') },
  LOGOUT: { summary: labEn['managesieve.command.LOGOUT'], rfc: r58('2.3') },
  CAPABILITY: { summary: labEn['managesieve.command.CAPABILITY'], rfc: r58('2.4') },
  HAVESPACE: {
    summary: labEn['managesieve.command.HAVESPACE'],
    rfc: r58('2.5'),
  },
  PUTSCRIPT: {
    summary: labEn['managesieve.command.PUTSCRIPT'],
    rfc: r58('2.6'),
  },
  LISTSCRIPTS: { summary: labEn['managesieve.command.LISTSCRIPTS'], rfc: r58('2.7') },
  SETACTIVE: {
    summary: labEn['managesieve.command.SETACTIVE'],
    rfc: r58('2.8'),
  },
  GETSCRIPT: { summary: labEn['managesieve.command.GETSCRIPT'], rfc: r58('2.9') },
  DELETESCRIPT: { summary: labEn['managesieve.command.DELETESCRIPT'], rfc: r58('2.10') },
  RENAMESCRIPT: { summary: labEn['managesieve.command.RENAMESCRIPT'], rfc: r58('2.11') },
  CHECKSCRIPT: { summary: labEn['managesieve.command.CHECKSCRIPT'], rfc: r58('2.12') },
  NOOP: { summary: labEn['managesieve.command.NOOP'], rfc: r58('2.13') },
  UNAUTHENTICATE: { summary: labEn['managesieve.command.UNAUTHENTICATE'], rfc: r58('2.14') },
};
