#!/usr/bin/env node
// The `postbode` command. The TypeScript sources are compiled to dist/ by `npm install` (the prepare script).
import { main } from '../dist/cli/main.js';

main(process.argv).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    console.error(`postbode: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
