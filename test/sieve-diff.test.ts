/**
 * Differential tests of the Sieve interpreter (src/sieve/) against Pigeonhole, Dovecot's Sieve
 * implementation: every script × message pair of test/sieve-diff/manifest.ts runs through
 * `sieve-test` (Debian package dovecot-sieve) and through postbode's `compile`/`run`, and both must
 * take the same actions (test/harness/pigeonhole.ts reduces both to one action list).
 *
 * Without `sieve-test` the suite is skipped with a message naming the package; in CI (`CI` set, as
 * .ci/run does, which installs the package) it fails instead.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compile, defaultSieveLimits, run } from '../src/sieve/index.js';
import { type SieveContext, type SieveLimits, type SieveResult, SieveRuntimeError } from '../src/sieve/types.js';
import {
  crlf,
  describeOutcome,
  type Outcome,
  type Pigeonhole,
  parseSieveTest,
  parseVacationReply,
  pigeonholeSkip,
  preparePigeonhole,
  redirectLine,
  rejectLine,
  sameOutcome,
  storeLine,
  vacationLine,
} from './harness/pigeonhole.js';
import { type DiffPair, envelopes, mailboxes, pairs } from './sieve-diff/manifest.js';

const corpus = path.join(import.meta.dirname, 'sieve-diff');

// The server's time zone is what date tests without :zone use (RFC 5260 §4.1): sieve-test runs with
// TZ=UTC, so this process reads dates in UTC too.
process.env.TZ = 'UTC';

/**
 * The limits of both sides: Pigeonhole's defaults for actions and redirects (sieve_max_actions,
 * sieve_max_redirects) and postbode's vacation periods (sieve_vacation_min_period, _max_period).
 */
const limits: Required<SieveLimits> = {
  ...defaultSieveLimits,
  maxActions: 32,
  maxRedirects: 4,
  vacationMinSeconds: 86400,
  vacationMaxSeconds: 60 * 86400,
};

/** The environment items (RFC 5183) a probe script reads from sieve-test, given to postbode as they are. */
const ENVIRONMENT_ITEMS = ['domain', 'host', 'location', 'name', 'phase', 'version', 'remote-host', 'remote-ip'];

async function probeEnvironment(ph: Pigeonhole): Promise<Record<string, string>> {
  const lines = ['require ["environment", "variables", "fileinto"];'];
  for (const item of ENVIRONMENT_ITEMS) {
    lines.push(`if environment :matches "${item}" "*" { fileinto "env:${item}=\${1}"; }`);
  }
  const file = path.join(ph.dir, 'probe-environment.sieve');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const raw = await ph.run('probe-environment.sieve', 'messages/plain.eml', envelopes.std);
  const parsed = parseSieveTest(raw.stdout, raw.stderr, raw.status);
  if (parsed.outcome.kind !== 'actions')
    throw new Error(`environment probe failed: ${describeOutcome(parsed.outcome)}`);
  const environment: Record<string, string> = {};
  for (const line of parsed.outcome.actions) {
    const m = /^store env:([a-z-]+)=(.*)$/.exec(line);
    if (m) environment[m[1]] = m[2];
  }
  return environment;
}

async function pigeonholeOutcome(ph: Pigeonhole, pair: DiffPair): Promise<Outcome> {
  const script = `cases/${pair.script}.sieve`;
  const message = `messages/${pair.message}.eml`;
  const envelope = envelopes[pair.envelope];
  const raw = await ph.run(script, message, envelope);
  const parsed = parseSieveTest(raw.stdout, raw.stderr, raw.status);
  if (parsed.outcome.kind !== 'actions' || !parsed.vacation) return parsed.outcome;
  // Pigeonhole decides whether a vacation reply is due only when it executes the actions.
  const executed = await ph.run(script, message, envelope, true);
  const reply = parseVacationReply(executed.stdout, executed.stderr);
  if (reply === null) return parsed.outcome;
  return {
    kind: 'actions',
    actions: [...parsed.outcome.actions, vacationLine({ ...reply, ...parsed.vacation })].sort(),
  };
}

function normalise(result: SieveResult): Outcome {
  const actions: string[] = [];
  for (const action of result.actions) {
    switch (action.type) {
      case 'keep':
        actions.push(storeLine('INBOX', action.flags, false));
        break;
      case 'fileinto':
        actions.push(storeLine(action.mailbox, action.flags, action.create));
        break;
      case 'redirect':
        actions.push(redirectLine(action.address));
        break;
      case 'reject':
        actions.push(rejectLine(action.reason));
        break;
      case 'discard':
        break;
      case 'vacation':
        actions.push(
          vacationLine({
            to: action.to,
            seconds: action.periodSeconds,
            subject: action.subject,
            from: action.from,
            reason: action.reason,
            inReplyTo: action.inReplyTo,
          }),
        );
        break;
      default: {
        const never: never = action;
        throw new Error(`unknown action ${JSON.stringify(never)}`);
      }
    }
  }
  for (const _ of result.duplicates) actions.push('track duplicate');
  return { kind: 'actions', actions: actions.sort() };
}

function postbodeContext(pair: DiffPair, environment: Record<string, string>): SieveContext {
  const envelope = envelopes[pair.envelope];
  const account = envelope.to.replace(/\+[^@]*@/, '@');
  return {
    message: {
      raw: crlf(readFileSync(path.join(corpus, 'messages', `${pair.message}.eml`))),
      envelopeFrom: envelope.from,
      envelopeTo: envelope.to,
      auth: null,
    },
    userAddresses: [account],
    now: new Date(),
    environment,
    // The Maildir sieve-test sees holds the same mailboxes.
    mailboxExists: async (name) => (mailboxes as readonly string[]).includes(name),
    loadScript: async (name, location) => {
      try {
        return readFileSync(path.join(corpus, location, `${name}.sieve`), 'utf8');
      } catch {
        return null;
      }
    },
    // sieve-test's duplicate check never finds one.
    duplicateSeen: async () => false,
  };
}

async function postbodeOutcome(pair: DiffPair, environment: Record<string, string>): Promise<Outcome> {
  const source = readFileSync(path.join(corpus, 'cases', `${pair.script}.sieve`), 'utf8');
  const compiled = compile(source, { limits });
  if (!compiled.ok) {
    return {
      kind: 'compile-error',
      detail: compiled.errors.map((e) => `line ${e.line}, column ${e.column}: ${e.message}`).join('; '),
    };
  }
  try {
    return normalise(await run(compiled.script, postbodeContext(pair, environment), limits));
  } catch (error) {
    if (error instanceof SieveRuntimeError) return { kind: 'runtime-error', detail: error.message };
    throw error;
  }
}

let skip: string | false;
try {
  skip = pigeonholeSkip();
} catch (error) {
  // CI without sieve-test: one failing test that says what is missing.
  skip = 'sieve-test is missing in CI';
  test('Pigeonhole sieve-test is installed (CI)', () => {
    throw error;
  });
}

const title = 'Sieve: postbode takes the actions Pigeonhole takes (test/sieve-diff/)';

// Skipped as one test, so the runner counts it and prints the reason.
if (skip) test(title, { skip }, () => {});
else
  describe(title, () => {
    const all = pairs();
    let ph: Pigeonhole;
    let environment: Record<string, string>;
    const reference = new Map<string, Promise<Outcome>>();

    before(async () => {
      ph = preparePigeonhole(corpus, {
        maxActions: limits.maxActions,
        maxRedirects: limits.maxRedirects,
        vacationMinSeconds: limits.vacationMinSeconds,
        vacationMaxSeconds: limits.vacationMaxSeconds,
        parallel: Math.max(2, availableParallelism()),
        mailboxes,
      });
      environment = await probeEnvironment(ph);
      for (const pair of all) {
        const outcome = pigeonholeOutcome(ph, pair);
        outcome.catch(() => {}); // awaited by the pair's test
        reference.set(pair.name, outcome);
      }
    });

    after(() => ph?.close());

    test('the corpus has at least 150 script × message pairs', () => {
      assert.ok(all.length >= 150, `only ${all.length} pairs`);
    });

    for (const pair of all) {
      test(pair.name, async () => {
        const theirs = await reference.get(pair.name)!;
        if (pair.expect) {
          const agrees = pair.expect === 'failure-either' ? theirs.kind !== 'actions' : theirs.kind === pair.expect;
          assert.ok(agrees, `the corpus expects ${pair.expect}, Pigeonhole gave ${describeOutcome(theirs)}`);
        }
        const ours = await postbodeOutcome(pair, environment);
        if (pair.differs) {
          const wanted = pair.differs.postbode;
          const asKnown = Array.isArray(wanted)
            ? ours.kind === 'actions' && sameOutcome(ours, { kind: 'actions', actions: [...wanted].sort() })
            : ours.kind === wanted;
          assert.ok(
            asKnown,
            `known difference (${pair.differs.why}), but postbode now gives:\n${describeOutcome(ours)}`,
          );
          assert.ok(
            !sameOutcome(ours, theirs),
            `Pigeonhole now agrees with postbode: remove the note \`differs\` of ${pair.script} in the manifest`,
          );
          return;
        }
        const same =
          pair.expect === 'failure-either'
            ? ours.kind !== 'actions' && theirs.kind !== 'actions'
            : sameOutcome(ours, theirs);
        assert.ok(same, `postbode:\n${describeOutcome(ours)}\n\nPigeonhole:\n${describeOutcome(theirs)}`);
      });
    }
  });
