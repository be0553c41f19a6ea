#!/usr/bin/env node
// Runs the whole suite with node:test: unit tests beside the sources (src/**/*.test.ts) and the
// black-box tests (test/**/*.test.ts). Extra arguments filter files by substring, e.g.
// `npm test -- pop3` runs only files whose path contains "pop3".
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = [...find('src'), ...find('test')]
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
// A test that hangs fails after 15 minutes instead of holding the run (and CI) until its own limit.
const timeout = process.env.TEST_TIMEOUT_MS ?? '900000';
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    `--test-timeout=${timeout}`,
    '--test-reporter=spec',
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
