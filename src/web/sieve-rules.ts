/**
 * The web UI's filters and vacation reply as data (`SieveRules`), the Sieve script made from them, and
 * the way back: the script keeps its rules as JSON in a comment at its top, so the form can show what
 * it wrote.
 *
 * Invariants:
 * - Pure: no I/O. `rulesToScript` is deterministic (the same rules give the same bytes), which is how
 *   `scriptToRules` tells a script the form wrote from one edited by hand: it regenerates the script
 *   from the rules in the comment and compares. Any difference (beyond CRLF/LF line endings) means the
 *   script was edited by hand, and the form leaves it alone.
 * - Every string the user typed reaches the script only as a Sieve quoted string with `\` and `"`
 *   escaped (RFC 5228 §2.4.2), and the rules JSON only inside one `#` comment line (JSON has no raw line
 *   breaks), so no input can add a command to the script.
 * - The script needs only extensions RFC 5228 implementations commonly have: fileinto, mailbox
 *   (`:create`, RFC 5490), imap4flags (RFC 5232), vacation (RFC 5230), date (RFC 5260) with relational
 *   (RFC 5231) for the vacation period; it requires just the ones it uses.
 * - Filters run first, in order, then the vacation reply: a filter that discards or stops ends the
 *   script before the reply, so mail thrown away is not answered. Discard always stops.
 */
import { z } from 'zod';

/** The name of the script the web UI owns (docs/sieve.md "In the web UI"). */
export const UI_SCRIPT_NAME = 'postbode';

/** The comment line that carries the rules. */
const MARK = '# postbode-rules: ';
const RULES_VERSION = 1;
export const MAX_FILTERS = 100;

/** RFC 5322 §3.6.8 field-name: printable US-ASCII but the colon. */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]{1,76}$/;
const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
/** No control characters but tab and line breaks (they would end up in headers or the script). */
const TEXT = /^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$/;
const LINE = /^[^\x00-\x1f\x7f]*$/;

const line = (what: string, max: number) =>
  z
    .string()
    .max(max, `${what} is longer than ${max} characters`)
    .regex(LINE, `${what} may not contain line breaks or control characters`);

export const filterSchema = z
  .object({
    /** Which header the test looks at: From, To (and Cc), Subject, or the header named in `header`. */
    field: z.enum(['from', 'to', 'subject', 'header']),
    header: line('the header name', 76).nullish(),
    match: z.enum(['contains', 'is']).default('contains'),
    value: line('the text to look for', 1000).min(1, 'say what text to look for'),
    /** A folder to file the message into (created when missing), or null to leave it where it goes. */
    fileinto: line('the folder name', 255).nullish(),
    flag: z.boolean().default(false),
    markRead: z.boolean().default(false),
    discard: z.boolean().default(false),
    stop: z.boolean().default(false),
  })
  .superRefine((f, ctx) => {
    if (f.field === 'header' && !(f.header && FIELD_NAME.test(f.header))) {
      ctx.addIssue({
        code: 'custom',
        path: ['header'],
        message: 'name the header to test, e.g. List-Id (letters, digits and dashes; no colon)',
      });
    }
    if (f.discard && f.fileinto) {
      ctx.addIssue({
        code: 'custom',
        path: ['discard'],
        message: 'a filter either files into a folder or discards the message, not both',
      });
    }
    if (f.fileinto !== undefined && f.fileinto !== null && f.fileinto.trim() === '') {
      ctx.addIssue({ code: 'custom', path: ['fileinto'], message: 'the folder name is empty; leave it out instead' });
    }
    if (!f.fileinto && !f.flag && !f.markRead && !f.discard && !f.stop) {
      ctx.addIssue({
        code: 'custom',
        path: ['fileinto'],
        message: 'a filter needs an action: a folder, flag, mark as read, discard or stop',
      });
    }
  });

export const vacationSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** First and last day of the absence (server time zone), both included; null: open-ended. */
    start: z.string().regex(DATE, 'the start date must look like 2026-12-24').nullish(),
    end: z.string().regex(DATE, 'the end date must look like 2026-12-24').nullish(),
    /** null or empty: "Auto: " and the subject of the message answered (RFC 5230 §5.4). */
    subject: line('the subject', 200).nullish(),
    text: z
      .string()
      .max(10_000, 'the reply text is longer than 10,000 characters')
      .regex(TEXT, 'the reply text may not contain control characters')
      .refine((t) => t.trim() !== '', 'write the text of the reply'),
    /**
     * How many days before the same sender is answered again (RFC 5230 §4.1: at least 1); at most 60,
     * the longest period the interpreter keeps (src/sieve `vacationMaxSeconds`, as Pigeonhole's default).
     */
    days: z
      .number()
      .int('days must be a whole number')
      .min(1, 'days must be at least 1')
      .max(60, 'days can be at most 60: a sender is answered again after 60 days at the latest')
      .default(1),
  })
  .superRefine((v, ctx) => {
    if (v.start && v.end && v.start > v.end) {
      ctx.addIssue({ code: 'custom', path: ['end'], message: `the end date ${v.end} is before the start ${v.start}` });
    }
  });

export const rulesSchema = z.object({
  filters: z.array(filterSchema).max(MAX_FILTERS, `at most ${MAX_FILTERS} filters`).default([]),
  vacation: vacationSchema.nullish(),
});

export type SieveFilter = z.infer<typeof filterSchema>;
export type SieveVacationRule = z.infer<typeof vacationSchema>;
export type SieveRules = z.infer<typeof rulesSchema>;

/** A Sieve quoted string (RFC 5228 §2.4.2): backslash and double quote escaped. */
export function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;
}

/** The rules as one canonical object: defaults filled, absent optionals as null, keys in one order. */
function canonical(rules: SieveRules): unknown {
  return {
    version: RULES_VERSION,
    filters: rules.filters.map((f) => ({
      field: f.field,
      header: f.field === 'header' ? (f.header ?? null) : null,
      match: f.match,
      value: f.value,
      fileinto: f.fileinto ? f.fileinto : null,
      flag: f.flag,
      markRead: f.markRead,
      discard: f.discard,
      stop: f.stop,
    })),
    vacation: rules.vacation
      ? {
          enabled: rules.vacation.enabled,
          start: rules.vacation.start ?? null,
          end: rules.vacation.end ?? null,
          subject: rules.vacation.subject ? rules.vacation.subject : null,
          text: rules.vacation.text,
          days: rules.vacation.days,
        }
      : null,
  };
}

function test(f: SieveFilter): string {
  const match = f.match === 'is' ? ':is' : ':contains';
  const names =
    f.field === 'from'
      ? quote('from')
      : f.field === 'to'
        ? `[${quote('to')}, ${quote('cc')}]`
        : f.field === 'subject'
          ? quote('subject')
          : quote((f.header ?? '').toLowerCase());
  return `header ${match} ${names} ${quote(f.value)}`;
}

function describe(f: SieveFilter): string {
  const what = f.field === 'header' ? f.header : { from: 'From', to: 'To or Cc', subject: 'Subject' }[f.field];
  const acts: string[] = [];
  if (f.markRead) acts.push('mark read');
  if (f.flag) acts.push('flag');
  if (f.fileinto) acts.push(`file into ${f.fileinto}`);
  if (f.discard) acts.push('discard');
  if (f.stop || f.discard) acts.push('stop');
  // The comment holds no line break: `describe` output ends up after "#".
  const shown = f.value.length > 40 ? `${f.value.slice(0, 40)}…` : f.value;
  return `${what} ${f.match === 'is' ? 'is' : 'contains'} "${shown}" → ${acts.join(', ')}`;
}

/** The Sieve script for `rules`, with the rules in its first comment block. */
export function rulesToScript(input: SieveRules): string {
  const rules = rulesSchema.parse(input);
  const filters = rules.filters;
  const vacation = rules.vacation?.enabled ? rules.vacation : null;
  const need = new Set<string>();
  for (const f of filters) {
    if (f.fileinto) {
      need.add('fileinto');
      need.add('mailbox');
    }
    if (f.flag || f.markRead) need.add('imap4flags');
  }
  if (vacation) {
    need.add('vacation');
    if (vacation.start || vacation.end) {
      need.add('date');
      need.add('relational');
    }
  }
  const out: string[] = [
    "# Filters and vacation reply made with postbode's web UI (Mail filters page).",
    '# Change them there: the form reads its rules back from the next line. If you edit this',
    '# script by hand, the form leaves it alone from then on (and says so).',
    `${MARK}${JSON.stringify(canonical(rules))}`,
  ];
  if (need.size > 0) out.push(`require [${[...need].sort().map(quote).join(', ')}];`);
  filters.forEach((f, i) => {
    out.push('', `# Filter ${i + 1}: ${describe(f)}`, `if ${test(f)} {`);
    const flags: string[] = [];
    if (f.markRead) flags.push('\\Seen');
    if (f.flag) flags.push('\\Flagged');
    const flagList = `[${flags.map(quote).join(', ')}]`;
    if (f.fileinto) {
      // RFC 5232 §5: `:flags` sets the flags of this copy only.
      out.push(`  fileinto ${flags.length ? `:flags ${flagList} ` : ''}:create ${quote(f.fileinto)};`);
    } else if (flags.length) {
      // RFC 5232 §3: the flags of the implicit keep (and of later filters' folders).
      out.push(`  addflag ${flagList};`);
    }
    if (f.discard) out.push('  discard;');
    if (f.stop || f.discard) out.push('  stop;');
    out.push('}');
  });
  if (vacation) {
    const args = [`:days ${vacation.days}`];
    if (vacation.subject) args.push(`:subject ${quote(vacation.subject)}`);
    const reply = `vacation ${args.join(' ')} ${quote(vacation.text)};`;
    const when: string[] = [];
    // RFC 5260 §5: currentdate "date" is yyyy-mm-dd, which compares as text in date order.
    if (vacation.start) when.push(`currentdate :value "ge" "date" ${quote(vacation.start)}`);
    if (vacation.end) when.push(`currentdate :value "le" "date" ${quote(vacation.end)}`);
    const period =
      vacation.start && vacation.end
        ? `from ${vacation.start} to ${vacation.end}`
        : vacation.start
          ? `from ${vacation.start} on`
          : vacation.end
            ? `until ${vacation.end}`
            : 'always';
    out.push('', `# Vacation reply, ${period}, one reply per sender every ${vacation.days} day(s)`);
    if (when.length === 0) out.push(reply);
    else {
      out.push(`if ${when.length === 1 ? when[0] : `allof (${when.join(', ')})`} {`, `  ${reply}`, '}');
    }
  }
  return `${out.join('\n')}\n`;
}

export type ReadBack =
  /** Not a script of the form (no rules comment). */
  | { kind: 'foreign' }
  /** The form's script, unchanged since the form wrote it. */
  | { kind: 'form'; rules: SieveRules }
  /** The form wrote it, but it was edited by hand since (the rules are what the form had written). */
  | { kind: 'edited'; rules: SieveRules | null };

/** Reads the rules back from a script, and whether the script is still exactly what they give. */
export function scriptToRules(source: string): ReadBack {
  const lines = source.split(/\r?\n/);
  let json: string | null = null;
  for (const l of lines) {
    if (l.startsWith(MARK)) {
      json = l.slice(MARK.length);
      break;
    }
    if (!l.startsWith('#')) break; // only the leading comment block counts
  }
  if (json === null) return { kind: 'foreign' };
  let rules: SieveRules;
  try {
    const raw = JSON.parse(json) as { version?: unknown };
    if (raw.version !== RULES_VERSION) return { kind: 'edited', rules: null };
    const parsed = rulesSchema.safeParse(raw);
    if (!parsed.success) return { kind: 'edited', rules: null };
    rules = parsed.data;
  } catch {
    return { kind: 'edited', rules: null };
  }
  const same = rulesToScript(rules) === source.replace(/\r\n/g, '\n');
  return same ? { kind: 'form', rules } : { kind: 'edited', rules };
}
