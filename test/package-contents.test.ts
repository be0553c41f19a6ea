/**
 * The product ships no test code (issue 15 item 4): neither the build output dist/ nor the package
 * `npm pack` would publish holds a test file, a harness, a fixture or a module that imports node:test.
 * Test support lives in test/ (harness/, store-contract/, fixtures/); only `*.test.ts` files sit in
 * src/, and tsconfig.build.json skips them. Needs a build (`npm test` builds first).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const root = path.resolve(import.meta.dirname, '..');

/** Why a file (path relative to the repository) is test code, or null when it is not. */
function testCode(rel: string): string | null {
  const name = rel.split('/').at(-1) ?? rel;
  if (/\.test\.[cm]?[jt]sx?(\.map)?$/.test(name)) return 'a test file';
  if (/^test\//.test(rel)) return 'under test/';
  if (/(^|\/)(harness|fixtures?|store-contract|contract)\//.test(rel)) return 'a harness, fixture or contract folder';
  if (
    /(^|[-_.])(harness|test-client|test-harness|test-recorder|testing|bytes-client)\.[cm]?[jt]s(\.map)?$/.test(name)
  ) {
    return 'a test helper by its name';
  }
  if (/\.eml$/.test(name)) return 'a message fixture';
  if (/\.[cm]?[jt]sx?$/.test(name)) {
    const file = path.join(root, rel);
    if (existsSync(file) && /['"]node:test['"]/.test(readFileSync(file, 'utf8'))) return 'imports node:test';
  }
  return null;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(path.relative(root, p).split(path.sep).join('/'));
  }
  return out;
}

function offenders(files: string[]): string[] {
  return files.flatMap((f) => {
    const why = testCode(f);
    return why ? [`${f}: ${why}`] : [];
  });
}

describe('no test code in the product', () => {
  it('the check sees test code where there is some', () => {
    // The same probe on files that are test code: a check that could not fail would prove nothing.
    assert.deepEqual(
      offenders([
        'src/imap/session.test.ts',
        'dist/imap/session.test.js',
        'test/harness/imap-harness.ts',
        'dist/store/contract/contract.js',
        'dist/mail/fixtures/simple-text.eml',
        'dist/imap/test-harness.js',
      ]).length,
      6,
    );
    // A module that imports node:test is caught by its content, whatever its name.
    assert.match(offenders(['test/store-contract/admins.ts'])[0] ?? '', /under test\//);
    assert.equal(testCode('scripts/run-tests.mjs'), null);
    assert.equal(testCode('dist/imap/session.js'), null);
  });

  it('dist/ holds no test code', () => {
    assert.ok(
      existsSync(path.join(root, 'dist/cli/main.js')),
      'dist/ is not built: run `npm run build` (npm test does it first)',
    );
    const files = walk(path.join(root, 'dist'));
    assert.ok(files.length > 50, `dist/ has only ${files.length} files`);
    assert.deepEqual(offenders(files), []);
  });

  it('`npm pack` would publish no test code', () => {
    // --ignore-scripts: the prepare script would build again; the test before this one checked dist/.
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const run = spawnSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.equal(run.status, 0, `npm pack failed: ${run.stderr}`);
    const [pack] = JSON.parse(run.stdout) as { files: { path: string }[] }[];
    const files = pack.files.map((f) => f.path);
    // The package is the product: the command and what it runs.
    assert.ok(files.includes('bin/postbode.js'), 'bin/postbode.js is missing from the package');
    assert.ok(files.includes('dist/cli/main.js'), 'dist/cli/main.js is missing from the package');
    assert.deepEqual(
      files.filter((f) => f.startsWith('src/')),
      [],
      'TypeScript sources are not published',
    );
    assert.deepEqual(offenders(files), []);
  });
});
