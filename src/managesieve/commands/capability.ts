/** CAPABILITY (RFC 5804 §2.4): the capability lines of §1.7 for this state and connection, then OK. */
import { defineCommand, noArguments } from './types.js';

export const capability = defineCommand<null>({
  name: 'CAPABILITY',
  states: ['unauthenticated', 'authenticated'],
  usage: 'CAPABILITY (no arguments)',
  parse: noArguments('CAPABILITY (no arguments)'),
  run: (s) => s.sendCapabilities(),
});
