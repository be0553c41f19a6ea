/**
 * date and currentdate (RFC 5260 §4–§5): reading an RFC 5322 date with its zone, and the date parts
 * of an instant seen in a zone. The "local" zone is the server's (the offset Node gives for that
 * instant), as Pigeonhole uses the server's time zone when neither :zone nor :originalzone is given.
 */

import { OBSOLETE_ZONES } from '../../mail/search.js';
import type { DatePart } from '../ast.js';

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** A one-letter military zone as Dovecot reads it: A–I, K–M east (+1..+12), N–Y west (-1..-12). */
function militaryZone(letter: string): number {
  const c = letter.toUpperCase().charCodeAt(0);
  if (c >= 0x41 && c <= 0x49) return (c - 0x40) * 60; // A..I
  if (c >= 0x4b && c <= 0x4d) return (c - 0x41) * 60; // K..M: +10..+12
  if (c >= 0x4e && c <= 0x59) return -(c - 0x4d) * 60; // N..Y: -1..-12
  return 0;
}

export interface ZonedInstant {
  /** Milliseconds since the epoch (UTC). */
  ms: number;
  /** The zone, in minutes east of UTC. */
  offset: number;
}

const DATE =
  /^\s*(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})[A-Za-z]*\s+(\d{4}|\d{2})\s+(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?(?:\s+([^\s(]+))?/;

/**
 * Parses an RFC 5322 date-time keeping its zone, as leniently as Dovecot's message_date_parse (whose
 * answers Pigeonhole's date test gives): comments and trailing text ignored, a month name longer than
 * three letters, two-digit years, a zone with out-of-range minutes; an unknown zone counts as +0000.
 * Null when there is no date (then the date test is false): a weekday without its comma, a day the
 * month does not have, a three-digit year, an hour over 23.
 */
export function parseZonedDate(value: string): ZonedInstant | null {
  const m = DATE.exec(value.replace(/\([^()]*\)/g, ' '));
  if (m === null) return null;
  const month = MONTHS.indexOf(m[2].toLowerCase());
  const day = Number(m[1]);
  let year = Number(m[3]);
  if (m[3].length === 2) year += year < 70 ? 2000 : 1900;
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (month < 0 || day < 1 || hour > 23 || minute > 59 || second > 60) return null;
  if (day > new Date(Date.UTC(year, month + 1, 0)).getUTCDate()) return null;
  let offset = 0;
  const z = m[7];
  if (z !== undefined) {
    if (/^[+-]\d{4}$/.test(z)) offset = (z[0] === '-' ? -1 : 1) * (Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5)));
    else if (/^[A-Za-z]$/.test(z)) offset = militaryZone(z);
    else offset = OBSOLETE_ZONES[z.toLowerCase()] ?? 0;
  }
  const utc = new Date(0);
  utc.setUTCFullYear(year, month, day);
  utc.setUTCHours(hour, minute, Math.min(second, 59), 0);
  const ms = utc.getTime() - offset * 60000;
  if (Number.isNaN(ms)) return null;
  return { ms, offset };
}

/** "+hhmm" / "-hhmm" → minutes east of UTC, or null. */
export function parseZone(zone: string): number | null {
  const m = /^([+-])(\d{2})(\d{2})$/.exec(zone.trim());
  if (m === null) return null;
  const h = Number(m[2]);
  const min = Number(m[3]);
  if (h > 23 || min > 59) return null;
  return (m[1] === '-' ? -1 : 1) * (h * 60 + min);
}

/** The server's zone at that instant. */
export function localOffset(ms: number): number {
  return -new Date(ms).getTimezoneOffset();
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function zoneText(offset: number, colon: boolean): string {
  const sign = offset < 0 ? '-' : '+';
  const a = Math.abs(offset);
  return `${sign}${pad(Math.floor(a / 60))}${colon ? ':' : ''}${pad(a % 60)}`;
}

/** A date part (RFC 5260 §4.2) of an instant seen in a zone. */
export function datePart(ms: number, offset: number, part: DatePart): string {
  const d = new Date(ms + offset * 60000); // read with the UTC getters: the wall clock of that zone
  const year = pad(d.getUTCFullYear(), 4);
  const month = pad(d.getUTCMonth() + 1);
  const day = pad(d.getUTCDate());
  const hour = pad(d.getUTCHours());
  const minute = pad(d.getUTCMinutes());
  const second = pad(d.getUTCSeconds());
  switch (part) {
    case 'year':
      return year;
    case 'month':
      return month;
    case 'day':
      return day;
    case 'date':
      return `${year}-${month}-${day}`;
    case 'julian': {
      // Modified Julian Day: days since 1858-11-17 (RFC 5260 §4.2).
      const days = Math.floor(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) / 86400000) + 40587;
      return String(days);
    }
    case 'hour':
      return hour;
    case 'minute':
      return minute;
    case 'second':
      return second;
    case 'time':
      return `${hour}:${minute}:${second}`;
    case 'iso8601':
      return `${year}-${month}-${day}T${hour}:${minute}:${second}${offset === 0 ? 'Z' : zoneText(offset, true)}`;
    case 'std11':
      return `${DAYS[d.getUTCDay()]}, ${day} ${MONTHS[d.getUTCMonth()].replace(/^./, (c) => c.toUpperCase())} ${year} ${hour}:${minute}:${second} ${zoneText(offset, false)}`;
    case 'zone':
      return zoneText(offset, false);
    case 'weekday':
      return String(d.getUTCDay());
  }
}
