/**
 * The import rules between the layers of src/ (docs/architecture.md "Layers"), checked on the sources
 * so that a leak fails the suite instead of waiting for a review:
 * - the store backend is chosen only in the composition roots (src/server, src/cli) through
 *   src/store/open.ts (and src/store/migrate.ts, the copy from SQLite to PostgreSQL); nothing else
 *   imports a backend (src/store/sqlite/, src/store/postgres/), and no backend imports another;
 * - the protocol engines (smtp, pop3, imap, managesieve) never import each other, nor the web, the server
 *   or the CLI;
 * - the web imports no engine and from the server only the status types (type-only);
 * - the lower layers (config, trace, net, mail, store, auth) and delivery import no engine, web, server
 *   or CLI;
 * - the Sieve layer (src/sieve) imports only src/mail.
 * Test code is exempt (`*.test.ts` and the test helpers): it stands in for a composition root.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const SRC = path.resolve(import.meta.dirname, '../src');

/** One import of one file: both paths relative to src/, with `/` separators. */
export interface ImportEdge {
  file: string;
  target: string;
  typeOnly: boolean;
}

interface Rule {
  /** What the rule protects, as the failure message says it. */
  why: string;
  /** Whether the rule applies to this import (the importing file and what it imports). */
  forbids(edge: ImportEdge): boolean;
}

const ENGINES = ['smtp/', 'pop3/', 'imap/', 'managesieve/'];
const LOWER = ['config/', 'trace/', 'net/', 'mail/', 'store/', 'auth/'];
const BACKENDS = ['store/sqlite/', 'store/postgres/'];
const FACTORIES = ['store/open.ts', 'store/migrate.ts'];
const under = (p: string, prefixes: string[]) => prefixes.some((x) => p.startsWith(x));
const layerOf = (p: string) => p.split('/')[0];

const RULES: Rule[] = [
  {
    why: 'only src/store/open.ts (and the SQLite → PostgreSQL copy, src/store/migrate.ts) opens a store backend (src/store/sqlite/, src/store/postgres/); a backend imports no other',
    forbids: (e) => {
      const backend = BACKENDS.find((b) => e.target.startsWith(b));
      if (!backend || e.file.startsWith(backend)) return false;
      return !FACTORIES.includes(e.file);
    },
  },
  {
    why: 'the store factory (src/store/open.ts) and the migration (src/store/migrate.ts) belong to the composition roots (src/server, src/cli)',
    forbids: (e) => FACTORIES.includes(e.target) && !under(e.file, ['server/', 'cli/']) && !FACTORIES.includes(e.file),
  },
  {
    why: 'a protocol engine imports no other engine, nor the web, the server or the CLI',
    forbids: (e) =>
      under(e.file, ENGINES) &&
      layerOf(e.target) !== layerOf(e.file) &&
      under(e.target, [...ENGINES, 'web/', 'server/', 'cli/']),
  },
  {
    why: 'the web imports no protocol engine nor the CLI; from the server only the status types (import type)',
    forbids: (e) =>
      e.file.startsWith('web/') &&
      (under(e.target, [...ENGINES, 'cli/']) ||
        (e.target.startsWith('server/') && !(e.target === 'server/status.ts' && e.typeOnly))),
  },
  {
    why: 'the lower layers and delivery import no engine, web, server or CLI',
    forbids: (e) =>
      under(e.file, [...LOWER, 'delivery/']) &&
      under(e.target, [...ENGINES, 'delivery/', 'web/', 'server/', 'cli/']) &&
      layerOf(e.target) !== layerOf(e.file),
  },
  {
    why: 'the Sieve layer (src/sieve) is pure: it imports only src/mail (the world reaches it through SieveContext)',
    forbids: (e) => e.file.startsWith('sieve/') && !under(e.target, ['sieve/', 'mail/']),
  },
];

/** Test code, exempt from the rules (it plays the composition root). */
function isTestCode(file: string): boolean {
  const base = path.posix.basename(file);
  return (
    base.endsWith('.test.ts') ||
    base.startsWith('test-') ||
    base === 'testing.ts' ||
    file.includes('/contract/') ||
    file.includes('/fixtures/')
  );
}

const IMPORT = /(?:^|[\n;])\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)'|import\(\s*'([^']+)'\s*\)/g;

/** The relative imports of one source file, resolved to paths under src/ (`.js` → `.ts`/`.tsx`). */
export function importsOf(file: string, text: string, exists: (p: string) => boolean): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[3] ?? m[4];
    if (!spec?.startsWith('.')) continue;
    const joined = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    const base = joined.replace(/\.js$/, '');
    const target = [`${base}.ts`, `${base}.tsx`, `${base}/index.ts`].find(exists) ?? joined;
    edges.push({ file, target, typeOnly: m[2] !== undefined });
  }
  return edges;
}

/** Every import that breaks a rule, as `file → target: why`. */
export function violations(edges: ImportEdge[]): string[] {
  const out: string[] = [];
  for (const e of edges) {
    if (isTestCode(e.file)) continue;
    for (const rule of RULES) if (rule.forbids(e)) out.push(`src/${e.file} → src/${e.target}: ${rule.why}`);
  }
  return out;
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(p, out);
    else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function allEdges(): ImportEdge[] {
  const files = sourceFiles(SRC).map((p) => path.relative(SRC, p).split(path.sep).join('/'));
  const known = new Set(files);
  return files.flatMap((f) => importsOf(f, readFileSync(path.join(SRC, f), 'utf8'), (p) => known.has(p)));
}

describe('layers: import rules of src/', () => {
  it('the checker finds the imports of a file and flags each kind of leak', () => {
    const known = new Set(['store/sqlite/index.ts', 'store/open.ts', 'imap/capabilities.ts', 'server/status.ts']);
    const text = [
      "import { openSqliteStore } from '../store/sqlite/index.js';",
      "import type { ServerStatus } from '../server/status.js';",
      'import {\n  AUTHENTICATED_CAPABILITIES,\n} from "nowhere";',
      "export { x } from '../imap/capabilities.js';",
      "const m = await import('../store/open.js');",
    ].join('\n');
    const edges = importsOf('web/routes.ts', text, (p) => known.has(p));
    assert.deepEqual(
      edges.map((e) => [e.target, e.typeOnly]),
      [
        ['store/sqlite/index.ts', false],
        ['server/status.ts', true],
        ['imap/capabilities.ts', false],
        ['store/open.ts', false],
      ],
    );
    assert.equal(violations(edges).length, 3, violations(edges).join('\n'));
    // The same imports in a test file or in the composition root are allowed (but for the backend).
    assert.deepEqual(violations(edges.map((e) => ({ ...e, file: 'web/routes.test.ts' }))), []);
    assert.equal(violations(edges.map((e) => ({ ...e, file: 'server/server.ts' }))).length, 1);
    // A value import of the server's status module from the web is a leak too.
    assert.equal(violations([{ file: 'web/context.ts', target: 'server/status.ts', typeOnly: false }]).length, 1);
  });

  it('src/ keeps them', () => {
    const edges = allEdges();
    assert.ok(edges.length > 500, `only ${edges.length} imports found: is the parser broken?`);
    assert.deepEqual(violations(edges), []);
  });
});
