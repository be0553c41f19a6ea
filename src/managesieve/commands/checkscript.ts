/** CHECKSCRIPT script (RFC 5804 §2.12): compiles the script without storing it: OK, or NO with the errors. */
import { checkSize, checkSource } from '../scripts.js';
import { defineCommand, ok, strings } from './types.js';

const USAGE = 'CHECKSCRIPT {<octets>+} <script>';
const parseArgs = strings(1, USAGE);

export const checkscript = defineCommand<string>({
  name: 'CHECKSCRIPT',
  states: ['authenticated'],
  usage: USAGE,
  literalLimit: (_index, settings) => settings.maxScriptBytes,
  parse(args) {
    const parsed = parseArgs(args);
    return parsed.ok ? ok(parsed.args[0]) : parsed;
  },
  run(s, source) {
    if (!checkSize(s, Buffer.byteLength(source)) || !checkSource(s, source)) return;
    s.ok('Script is valid');
  },
});
