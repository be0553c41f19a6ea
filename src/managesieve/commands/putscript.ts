/**
 * PUTSCRIPT name script (RFC 5804 §2.6): checks the name, the quotas and the script (compiled with the
 * server's Sieve compiler; errors come back with their line and column) and stores it, replacing a
 * script of that name; an active script stays active and applies to the next message.
 */
import { checkName, checkRoom, checkSize, checkSource, tooMany } from '../scripts.js';
import { MAX_QUOTED } from '../wire.js';
import { defineCommand, ok, strings } from './types.js';

const USAGE = 'PUTSCRIPT "<name>" {<octets>+} <script>';
const parseArgs = strings(2, USAGE);

export const putscript = defineCommand<{ name: string; source: string }>({
  name: 'PUTSCRIPT',
  states: ['authenticated'],
  usage: USAGE,
  literalLimit: (index, settings) => (index === 1 ? settings.maxScriptBytes : MAX_QUOTED),
  parse(args) {
    const parsed = parseArgs(args);
    return parsed.ok ? ok({ name: parsed.args[0], source: parsed.args[1] }) : parsed;
  },
  async run(s, { name, source }) {
    if (!checkName(s, name) || !checkSize(s, Buffer.byteLength(source))) return;
    const account = s.account;
    if (!(await checkRoom(s, account.id, name))) return;
    if (!checkSource(s, source)) return;
    // The count is decided again in the write: another session may have stored one meanwhile.
    const stored = await s.backend.store.sieve.put(account.id, name, source, { maxScripts: s.settings.maxScripts });
    if (stored === 'too-many') return tooMany(s, s.settings.maxScripts);
    s.stats.scriptsPut++;
    s.ok(`Script "${name}" stored`);
  },
});
