/** NAMESPACE (RFC 2342, RFC 9051 §6.3.10): one personal namespace, no prefix, "/" as hierarchy separator. */
import { noArgs } from './grammar.js';
import { AUTHED, command } from './types.js';

export const namespace = command({
  name: 'NAMESPACE',
  parse: noArgs('NAMESPACE'),
  states: AUTHED,
  run(s, tag) {
    s.untagged('NAMESPACE (("" "/")) NIL NIL');
    s.ok(tag, 'NAMESPACE completed');
  },
});
