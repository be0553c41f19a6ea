/**
 * Transcript files: a protocol session as `C:`/`S:` lines, replayed over a real socket.
 *
 *   # a comment; blank lines are ignored
 *   C: HELO                  the client sends this line (CRLF added)
 *   S: 250 2.0.0 Ok          the server must answer exactly this line (a bare `S:`: an empty line)
 *   S~ ^250 .* Hello         the server's next line must match this regular expression
 *   C> Dit is de body        same as C: (for message data, read as "more client lines")
 *   S* ^250-                 skip server lines while they match this regex (multi-line replies)
 *   !: deliver               run the test's action named "deliver" (e.g. a delivery from elsewhere)
 *
 * `{host}` in S: and S~ lines is replaced by the server's hostname (escaped for regexes).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { LineClient } from './line-client.js';

export interface TranscriptStep {
  kind: 'send' | 'expect' | 'match' | 'skip' | 'action';
  text: string;
  line: number;
}

export function parseTranscript(text: string): TranscriptStep[] {
  const steps: TranscriptStep[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (!line.trim() || line.startsWith('#')) return;
    const tag = line.slice(0, 3);
    const body = line.slice(3);
    if (tag === 'C: ' || tag === 'C> ') steps.push({ kind: 'send', text: body, line: i + 1 });
    else if (line === 'C:' || line === 'C>') steps.push({ kind: 'send', text: '', line: i + 1 });
    else if (tag === 'S: ') steps.push({ kind: 'expect', text: body, line: i + 1 });
    else if (line === 'S:') steps.push({ kind: 'expect', text: '', line: i + 1 });
    else if (tag === 'S~ ') steps.push({ kind: 'match', text: body, line: i + 1 });
    else if (tag === 'S* ') steps.push({ kind: 'skip', text: body, line: i + 1 });
    else if (tag === '!: ') steps.push({ kind: 'action', text: body.trim(), line: i + 1 });
    else throw new Error(`transcript line ${i + 1}: expected C:, S:, S~, S* or !:, got ${JSON.stringify(line)}`);
  });
  return steps;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export async function replayTranscript(
  client: LineClient,
  file: string,
  vars: { host: string; actions?: Record<string, () => Promise<void>> },
): Promise<void> {
  const steps = parseTranscript(readFileSync(file, 'utf8'));
  let pending: string | null = null;
  const next = async () => {
    if (pending !== null) {
      const p = pending;
      pending = null;
      return p;
    }
    return client.line();
  };
  for (const step of steps) {
    const where = `${file}:${step.line}`;
    try {
      await runStep(step, where);
    } catch (err) {
      if (err instanceof Error && !err.message.includes(where)) err.message = `${where}: ${err.message}`;
      throw err;
    }
  }
  async function runStep(step: TranscriptStep, where: string): Promise<void> {
    if (step.kind === 'send') {
      client.send(step.text);
    } else if (step.kind === 'action') {
      const action = vars.actions?.[step.text];
      if (!action) throw new Error(`${where}: no action named ${JSON.stringify(step.text)}`);
      await action();
    } else if (step.kind === 'expect') {
      assert.equal(await next(), step.text.replaceAll('{host}', vars.host), where);
    } else if (step.kind === 'match') {
      const re = new RegExp(step.text.replaceAll('{host}', escapeRe(vars.host)));
      const got = await next();
      assert.match(got, re, where);
    } else {
      const re = new RegExp(step.text);
      for (;;) {
        const got = await next();
        if (!re.test(got)) {
          pending = got;
          break;
        }
      }
    }
  }
}
