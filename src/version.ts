/** The product name and version, from package.json (src/ and dist/ both sit one level below it). */
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export const VERSION: string = pkg.version;
export const PRODUCT = `postbode ${VERSION}`;
