/** CHECKSCRIPT script (RFC 5804 §2.12): compiles the script without storing it: OK, or NO with the errors. */
import { checkSize, checkSource } from '../scripts.js';
import { defineCommand, oneString } from './types.js';

const USAGE = 'CHECKSCRIPT {<octets>+} <script>';

export const checkscript = defineCommand<string>({
  name: 'CHECKSCRIPT',
  states: ['authenticated'],
  usage: USAGE,
  literalLimit: (_index, settings) => settings.maxScriptBytes,
  parse: oneString(USAGE),
  run(s, source) {
    if (!checkSize(s, Buffer.byteLength(source)) || !checkSource(s, source)) return;
    s.ok('Script is valid');
  },
});
