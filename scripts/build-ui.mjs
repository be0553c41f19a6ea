#!/usr/bin/env node
// Builds the web UI (src/web/ui) into dist/ui: index.html, app.js (bundled, minified) and app.css.
// Run by `npm run build`; the HTTP listener serves dist/ui. index.html names the assets with a content
// hash (`app.js?v=…`), so browsers may cache them for good. `--watch` rebuilds on change.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const src = path.join(root, 'src/web/ui');
const out = path.join(root, 'dist/ui');
mkdirSync(out, { recursive: true });

const options = {
  entryPoints: [
    { in: path.join(src, 'main.tsx'), out: 'app' },
    { in: path.join(src, 'style.css'), out: 'app' },
  ],
  outdir: out,
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
};

/** index.html with `?v=<hash>` on app.js and app.css. */
function writeIndex() {
  let html = readFileSync(path.join(src, 'index.html'), 'utf8');
  for (const name of ['app.js', 'app.css']) {
    const hash = createHash('sha256')
      .update(readFileSync(path.join(out, name)))
      .digest('hex')
      .slice(0, 12);
    html = html.replace(`"${name}"`, `"${name}?v=${hash}"`);
  }
  writeFileSync(path.join(out, 'index.html'), html);
}

function report() {
  for (const name of ['app.js', 'app.css']) {
    const data = readFileSync(path.join(out, name));
    console.log(`dist/ui/${name}: ${data.length} bytes, ${gzipSync(data).length} gzip`);
  }
}

if (process.argv.includes('--watch')) {
  const ctx = await esbuild.context({
    ...options,
    plugins: [{ name: 'index', setup: (b) => b.onEnd((r) => r.errors.length === 0 && writeIndex()) }],
  });
  await ctx.watch();
  console.log('watching src/web/ui');
} else {
  await esbuild.build(options);
  writeIndex();
  report();
}
