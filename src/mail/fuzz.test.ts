/**
 * Fuzzing the message parser (issue 10 item 7): random mutations of the fixtures (test/fixtures/mime/*.eml),
 * spliced fixtures, changed line ends, and structural attacks (deep nesting, many parts, boundary
 * storms, huge headers). Time-bounded (a few seconds in `npm test`, FUZZ_SECONDS in `npm run fuzz`),
 * seeded: a failure prints FUZZ_SEED and FUZZ_ITERATION, which replay it (test/harness/fuzz.ts).
 *
 * For every input: `parseMessage` never throws and takes time linear in the input (a bound per byte);
 * every part's offsets are within the message and within its parent, children in order and
 * non-overlapping, the nesting and part limits hold; the meta survives JSON (it is stored as JSON); and
 * what is computed from it (BODY/BODYSTRUCTURE, ENVELOPE, every BODY[section], PREVIEW, SEARCH text,
 * decoded part text) never throws.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fuzz, type Rand, timed } from '../../test/harness/fuzz.js';
import { bodyStructureText } from './bodystructure.js';
import { partText } from './decode.js';
import { envelopeText } from './envelope.js';
import { type MimePart, type SectionText, sectionBytes } from './mime.js';
import { parseMessage } from './parse.js';
import { preview, SearchableMessage } from './search.js';

const FIXTURES_DIR = path.join(import.meta.dirname, '../../test/fixtures/mime');
const FIXTURES = readdirSync(FIXTURES_DIR)
  .filter((f) => f.endsWith('.eml'))
  .sort()
  .map((f) => readFileSync(path.join(FIXTURES_DIR, f)));

const INTERESTING = Buffer.from('\r\n\r\n--:;="\\ \t()<>@,.\0\xff\xc3=?utf-8?q?=ABboundaryContent-Type', 'latin1');

/** Header/boundary snippets that steer the parser into its interesting corners. */
const SNIPPETS = [
  'Content-Type: multipart/mixed; boundary=b\r\n',
  'Content-Type: multipart/digest; boundary="d d"\r\n',
  'Content-Type: message/rfc822\r\n',
  'Content-Type: message/global\r\n',
  "Content-Type: text/plain; charset*0*=utf-8''%E2%82; charset*1*=%AC; name*=x\r\n",
  'MIME-Version: 1.0\r\n',
  'Content-Transfer-Encoding: base64\r\n',
  'Content-Transfer-Encoding: quoted-printable\r\n',
  'Content-Disposition: attachment; filename="a;b.txt"\r\n',
  'Subject: =?utf-8?B?w6k=?= =?iso-8859-1?Q?=E9?=\r\n',
  'From: "a" <b@c>, d:e@f,g@h;\r\n',
  '\r\n--b\r\n',
  '\r\n--b--\r\n',
  '\n--XX\n',
  '\r\n--XX-alt--\r\n',
  '\r\n\r\n',
  ' folded continuation\r\n',
];

function spliceSnippets(rand: Rand, input: Buffer): Buffer {
  let bytes = input;
  const n = 1 + rand.int(6);
  for (let k = 0; k < n; k++) {
    const at = rand.int(bytes.length + 1);
    bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(rand.pick(SNIPPETS), 'latin1'), bytes.subarray(at)]);
  }
  return bytes;
}

/** Inputs built to hit the limits: deep nesting, many parts, long runs of boundaries or header lines. */
function structural(rand: Rand): Buffer {
  switch (rand.int(6)) {
    case 0: {
      // Nesting past MAX_NESTED (100), multiparts or encapsulated messages.
      const depth = 50 + rand.int(150);
      const rfc822 = rand.chance(0.5);
      let head = '';
      for (let d = 0; d < depth; d++) {
        head += rfc822
          ? 'MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n'
          : `Content-Type: multipart/mixed; boundary=b${d}\r\n\r\n--b${d}\r\n`;
      }
      return Buffer.from(`MIME-Version: 1.0\r\n${head}Content-Type: text/plain\r\n\r\ninner\r\n`);
    }
    case 1: {
      // Many parts (MAX_PARTS is 10,000).
      const n = 1000 + rand.int(11000);
      const part = rand.chance(0.5) ? '--b\r\n\r\nx\r\n' : '--b\n';
      return Buffer.from(
        `MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n${part.repeat(n)}--b--\r\n`,
      );
    }
    case 2: {
      // Many open boundaries sharing a prefix, then a storm of boundary lines.
      let s = 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n';
      const open = 1 + rand.int(90);
      for (let d = 0; d < open; d++)
        s += `--${'a'.repeat(d + 1)}\r\nContent-Type: multipart/mixed; boundary=${'a'.repeat(d + 2)}\r\n\r\n`;
      const lines = 1000 + rand.int(20000);
      const storm: string[] = [];
      for (let k = 0; k < lines; k++) storm.push(`--${'a'.repeat(1 + rand.int(open + 2))}`);
      return Buffer.from(`${s}${storm.join('\r\n')}\r\n`);
    }
    case 3: {
      // A huge header: many fields, long folded values, very long names.
      const fields = 1000 + rand.int(20000);
      const out: string[] = [];
      for (let k = 0; k < fields; k++) {
        out.push(
          rand.pick([
            `X-F${k}: ${'v'.repeat(rand.int(100))}`,
            ` ${'folded '.repeat(rand.int(20))}`,
            `${'N'.repeat(900 + rand.int(300))}: long name`,
            'Content-Type: multipart/mixed; boundary=x',
            'To: a@b, c@d, "e" <f@g>',
          ]),
        );
      }
      return Buffer.from(`${out.join('\r\n')}\r\n\r\nbody\r\n`);
    }
    case 4: {
      // Parameters: many, long, RFC 2231 continuations out of order.
      const params: string[] = [];
      const n = 100 + rand.int(2000);
      for (let k = 0; k < n; k++) params.push(`p*${rand.int(n)}*=${rand.chance(0.5) ? "utf-8''%41" : 'x'}`);
      return Buffer.from(`MIME-Version: 1.0\r\nContent-Type: text/plain; ${params.join('; ')}\r\n\r\nbody\r\n`);
    }
    default: {
      // Long lines without line ends, or only line ends.
      const n = 100_000 + rand.int(400_000);
      return Buffer.alloc(n, rand.pick(['-', '\n', '\r', 'a', ' ']));
    }
  }
}

function generate(rand: Rand): Buffer {
  const base = rand.pick(FIXTURES);
  const r = rand.next();
  if (r < 0.45) return rand.mutate(base, INTERESTING, 8);
  if (r < 0.65) return spliceSnippets(rand, rand.chance(0.5) ? base : rand.mutate(base, INTERESTING, 3));
  if (r < 0.75) {
    // Two fixtures spliced: a boundary of one inside the other.
    const other = rand.pick(FIXTURES);
    const at = rand.int(base.length + 1);
    const from = rand.int(other.length + 1);
    return Buffer.concat([base.subarray(0, at), other.subarray(from), base.subarray(at)]);
  }
  if (r < 0.85) {
    // Line ends: all bare LF, all bare CR, or CRLF made from LF.
    const text = base.toString('latin1');
    const ends = rand.pick([text.replace(/\r\n/g, '\n'), text.replace(/\r?\n/g, '\r'), text.replace(/\r?\n/g, '\r\n')]);
    return rand.mutate(Buffer.from(ends, 'latin1'), INTERESTING, 2);
  }
  if (r < 0.9) return rand.bytes(rand.int(2000), INTERESTING);
  return structural(rand);
}

interface Walk {
  parts: number;
  maxDepth: number;
  /** Section paths of every part, as IMAP numbers them. */
  paths: number[][];
  textParts: MimePart[];
}

/** Checks the offsets of `part` and its subtree; collects the section paths. */
function checkPart(
  part: MimePart,
  length: number,
  lo: number,
  hi: number,
  depth: number,
  at: number[],
  walk: Walk,
): void {
  const where = `part ${at.join('.') || '(root)'}`;
  assert.ok(Number.isInteger(part.start) && Number.isInteger(part.body) && Number.isInteger(part.end), where);
  assert.ok(
    lo <= part.start && part.start <= part.body && part.body <= part.end && part.end <= hi,
    `${where}: ${part.start}/${part.body}/${part.end} not within ${lo}..${hi}`,
  );
  assert.ok(hi <= length);
  if (part.lines !== undefined)
    assert.ok(Number.isInteger(part.lines) && part.lines >= 0, `${where}: lines ${part.lines}`);
  assert.equal(typeof part.type, 'string');
  assert.equal(typeof part.subtype, 'string');
  walk.parts++;
  walk.maxDepth = Math.max(walk.maxDepth, depth);
  walk.paths.push(at);
  if (part.kind === 'text') walk.textParts.push(part);
  if (part.kind === 'multipart') {
    let prevEnd = part.body;
    (part.parts ?? []).forEach((child, i) => {
      assert.ok(child.start >= prevEnd, `${where}: child ${i + 1} starts at ${child.start}, before ${prevEnd}`);
      checkPart(child, length, part.body, part.end, depth + 1, [...at, i + 1], walk);
      prevEnd = child.end;
    });
  } else {
    assert.equal(part.parts, undefined, `${where}: parts on a ${part.kind} part`);
  }
  if (part.message !== undefined) {
    assert.equal(part.kind, 'message', `${where}: an encapsulated message on a ${part.kind} part`);
    assert.equal(part.message.start, part.body, `${where}: the encapsulated message starts at the body`);
    // The encapsulated message's parts are numbered from the message part itself (RFC 9051 §6.4.5).
    checkPart(part.message, length, part.body, part.end, depth + 1, at.length === 0 ? [1] : at, walk);
  }
}

/** Everything the server computes from a parsed message, for one input. */
function exercise(raw: Buffer): Walk {
  const bound = 150 + raw.length / 2000; // ms: 150 ms plus 0.5 ms per KB
  const meta = timed(`parseMessage of ${raw.length} bytes`, bound, () => parseMessage(raw));
  assert.ok(meta.headerLength >= 0 && meta.headerLength <= raw.length);
  assert.ok(Number.isInteger(meta.bodyLines) && meta.bodyLines >= 0);
  assert.equal(meta.mime.start, 0);
  assert.equal(meta.mime.end, raw.length);
  const walk: Walk = { parts: 0, maxDepth: 0, paths: [], textParts: [] };
  checkPart(meta.mime, raw.length, 0, raw.length, 0, [], walk);
  // Limits (mime.ts: 100 nested parts, 10,000 parts; an encapsulated message adds one level to its part).
  assert.ok(walk.maxDepth <= 2 * 100 + 2, `nesting ${walk.maxDepth}`);
  assert.ok(walk.parts <= 2 * 10_000 + 2, `parts ${walk.parts}`);
  // Stored as JSON next to the message.
  const json = JSON.stringify(meta);
  assert.equal(JSON.stringify(JSON.parse(json)), json);
  timed('rendering', bound * 4, () => {
    for (const extended of [false, true]) {
      for (const utf8 of [false, true]) bodyStructureText(meta.mime, { extended, utf8, messageGlobal: utf8 });
    }
    envelopeText(meta.envelope, { utf8: false });
    envelopeText(meta.envelope, { utf8: true });
    const texts: (SectionText | undefined)[] = [
      undefined,
      'HEADER',
      'TEXT',
      'MIME',
      'HEADER.FIELDS',
      'HEADER.FIELDS.NOT',
    ];
    for (const p of walk.paths.slice(0, 200)) {
      for (const text of texts) {
        const bytes = sectionBytes(raw, meta, { path: p, text, fields: ['From', 'Subject', 'content-type'] });
        if (bytes !== null) assert.ok(Buffer.isBuffer(bytes));
      }
      // One more level than exists, and part 0: absent, never a throw.
      sectionBytes(raw, meta, { path: [...p, 1, 1] });
      sectionBytes(raw, meta, { path: [...p, 0] });
    }
    preview(raw, meta);
    const search = new SearchableMessage(raw, meta);
    search.matchText('ship it');
    search.matchHeader('subject', 'x');
    search.matchAddress('from', 'example');
    search.sentDate();
    for (const part of walk.textParts.slice(0, 50)) partText(raw, part);
  });
  return walk;
}

describe('fuzz: MIME parser', () => {
  it('the fixtures themselves pass every check', () => {
    assert.ok(FIXTURES.length >= 10);
    for (const raw of FIXTURES) exercise(raw);
  });

  it('mutated, spliced and structural messages: no throw, offsets in bounds, linear time', async (t) => {
    let parts = 0;
    let bytes = 0;
    const report = await fuzz('mime', { seconds: 4, minIterations: 100 }, (rand) => {
      const raw = generate(rand);
      bytes += raw.length;
      try {
        parts += exercise(raw).parts;
      } catch (err) {
        const head =
          raw.length > 2000
            ? `${raw.subarray(0, 2000).toString('latin1')}… (${raw.length} bytes)`
            : raw.toString('latin1');
        throw new Error(`${err instanceof Error ? err.message : String(err)}\ninput: ${JSON.stringify(head)}`);
      }
    });
    t.diagnostic(
      `${report.iterations} messages (${(bytes / 1e6).toFixed(1)} MB, ${parts} parts) in ${report.seconds.toFixed(1)} s`,
    );
  });
});
