#!/usr/bin/env node
// Builds the web UI (src/web/ui) into dist/ui: index.html, app.js (bundled, minified) and app.css.
// Run by `npm run build`; the HTTP listener serves dist/ui. `--watch` rebuilds on change.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
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

function report() {
  for (const name of ['app.js', 'app.css']) {
    const data = readFileSync(path.join(out, name));
    console.log(`dist/ui/${name}: ${data.length} bytes, ${gzipSync(data).length} gzip`);
  }
}

copyFileSync(path.join(src, 'index.html'), path.join(out, 'index.html'));
if (process.argv.includes('--watch')) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log('watching src/web/ui');
} else {
  await esbuild.build(options);
  report();
}
