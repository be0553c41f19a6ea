#!/usr/bin/env node
// Empties dist/ before `npm run build`, so that a file moved or deleted in src/ (for example test
// support moved to test/) does not live on in dist/ and in the package.
import { rmSync } from 'node:fs';
import path from 'node:path';

rmSync(path.resolve(import.meta.dirname, '..', 'dist'), { recursive: true, force: true });
