/**
 * Helpers for tests of the Sieve layer (src/sieve): a message from header lines and a body, a
 * `SieveContext` with in-memory scripts, mailboxes and duplicate memory, and compile-and-run in one call
 * that fails the test with the diagnostics when the script does not compile.
 */
import assert from 'node:assert/strict';
import {
  type CompileOptions,
  compile,
  formatDiagnostic,
  run,
  type SieveAction,
  type SieveContext,
  type SieveLimits,
  type SieveMessage,
  type SieveResult,
} from '../../src/sieve/index.js';

/** A message from header lines ("Name: value") and a body, lines ending in CRLF. */
export function sieveMessage(headers: readonly string[], body = 'Hello.\r\n'): Buffer {
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body}`);
}

export interface ContextOptions {
  raw?: Buffer;
  headers?: readonly string[];
  body?: string;
  envelopeFrom?: string;
  envelopeTo?: string;
  auth?: string | null;
  userAddresses?: readonly string[];
  now?: Date;
  environment?: Record<string, string>;
  mailboxes?: readonly string[];
  /** Scripts for include, by "personal:name" or "global:name". */
  scripts?: Record<string, string>;
  seen?: readonly string[];
}

export const DEFAULT_HEADERS = [
  'From: Alice <alice@example.org>',
  'To: Bob <bob@example.com>',
  'Subject: Lunch tomorrow',
  'Date: Tue, 1 Dec 2026 10:20:30 +0100',
  'Message-ID: <m1@example.org>',
];

export function sieveContext(o: ContextOptions = {}): SieveContext & { loads: string[] } {
  const message: SieveMessage = {
    raw: o.raw ?? sieveMessage(o.headers ?? DEFAULT_HEADERS, o.body),
    envelopeFrom: o.envelopeFrom ?? 'alice@example.org',
    envelopeTo: o.envelopeTo ?? 'bob@example.com',
    auth: o.auth ?? null,
  };
  const mailboxes = new Set(o.mailboxes ?? ['INBOX']);
  const seen = new Set(o.seen ?? []);
  const loads: string[] = [];
  return {
    message,
    userAddresses: o.userAddresses ?? ['bob@example.com'],
    now: o.now ?? new Date('2026-12-07T12:00:00Z'),
    environment: o.environment ?? {
      domain: 'example.com',
      host: 'mx.example.com',
      location: 'MDA',
      name: 'postbode',
      phase: 'during',
      version: '0.1.0',
    },
    mailboxExists: async (name) => mailboxes.has(name),
    loadScript: async (name, location) => {
      loads.push(`${location}:${name}`);
      return o.scripts?.[`${location}:${name}`] ?? null;
    },
    duplicateSeen: async (key) => seen.has(key),
    loads,
  };
}

/** Compiles (failing the test with the errors when it does not) and runs. */
export async function runSieve(
  source: string,
  context: SieveContext = sieveContext(),
  options: CompileOptions & { runLimits?: Partial<SieveLimits> } = {},
): Promise<SieveResult> {
  const compiled = compile(source, options);
  if (!compiled.ok) assert.fail(`the script does not compile:\n${compiled.errors.map(formatDiagnostic).join('\n')}`);
  return run(compiled.script, context, options.runLimits);
}

/** The actions of a result in a short text form, for readable assertions. */
export function summary(result: SieveResult): string[] {
  return result.actions.map(describeAction);
}

function describeAction(a: SieveAction): string {
  switch (a.type) {
    case 'keep':
      return `${a.implicit ? 'implicit keep' : 'keep'}${a.flags.length > 0 ? ` [${a.flags.join(' ')}]` : ''}`;
    case 'fileinto':
      return `fileinto ${a.mailbox}${a.copy ? ' :copy' : ''}${a.create ? ' :create' : ''}${a.flags.length > 0 ? ` [${a.flags.join(' ')}]` : ''}`;
    case 'redirect':
      return `redirect ${a.address}${a.copy ? ' :copy' : ''}`;
    case 'reject':
      return `${a.ereject ? 'ereject' : 'reject'} ${a.reason}`;
    case 'discard':
      return 'discard';
    case 'vacation':
      return `vacation to ${a.to}`;
  }
}

/** The errors of a script that must not compile, as "line:column message". */
export function compileErrors(source: string, options: CompileOptions = {}): string[] {
  const r = compile(source, options);
  assert.equal(r.ok, false, 'the script compiled, but errors were expected');
  return r.ok ? [] : r.errors.map((e) => `${e.line}:${e.column} ${e.message}`);
}
