/** NOOP (RFC 1939 §5): does nothing; keeps the session from timing out. */
import { ok } from '../wire.js';
import { defineCommand, noArguments } from './types.js';

export const noop = defineCommand<null>({
  verb: 'NOOP',
  states: ['transaction'],
  parse: noArguments('NOOP'),
  run: (s) => s.send(ok('')),
});
