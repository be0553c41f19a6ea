/** Commands valid in any state: CAPABILITY, NOOP, LOGOUT (RFC 9051 §6.1), ID (RFC 2971). */
import type { ParseContext } from '../wire/commands.js';
import { noArgs } from './grammar.js';
import { ANY, command } from './types.js';

export const capability = command({
  name: 'CAPABILITY',
  parse: noArgs('CAPABILITY'),
  states: ANY,
  run(s, tag) {
    s.untagged(`CAPABILITY ${s.capabilityList().join(' ')}`);
    s.ok(tag, 'CAPABILITY completed');
  },
});

export const noop = command({
  name: 'NOOP',
  parse: noArgs('NOOP'),
  states: ANY,
  async run(s, tag) {
    // RFC 9051 §6.1.2: NOOP is the polling point for mailbox changes.
    await s.announce(true);
    s.ok(tag, 'NOOP completed');
  },
});

export const logout = command({
  name: 'LOGOUT',
  parse: noArgs('LOGOUT'),
  states: ANY,
  run(s, tag) {
    s.untagged('BYE Logging out');
    s.ok(tag, 'LOGOUT completed');
    // Straight to logout (RFC 9051 §3.4): the selected mailbox closes without passing through authenticated.
    s.state = 'logout';
    s.deselect();
    s.conn.trace.state('logout');
  },
});

export const id = command({
  name: 'ID',
  parse: parseId,
  states: ANY,
  run(s, tag, cmd) {
    if (cmd.params) {
      const text = cmd.params.map(([k, v]) => `${k}=${v ?? 'NIL'}`).join(', ');
      s.conn.trace.note(`client ID: ${text.slice(0, 300)}`);
    }
    const w = s.builder().untagged().raw('ID (').string('name').sp().string('postbode');
    if (s.settings.showVersion) w.sp().string('version').sp().string(s.settings.version);
    w.raw(')').crlf();
    s.send(w);
    s.ok(tag, 'ID completed');
  },
});

/** RFC 2971 §3.1: the client's identification, as field/value pairs (NIL values as null). */
export interface IdCommand {
  name: 'ID';
  params: [string, string | null][] | null;
}

/** RFC 2971 §4: `id = "ID" SP id-params-list`; `id-params-list = "(" *(string SP nstring) ")" / nil`. */
function parseId({ r }: ParseContext): IdCommand {
  r.sp('after ID');
  if (r.tryNil()) return { name: 'ID', params: null };
  const params = r.list(
    (): [string, string | null] => {
      const key = r.astringText('an ID field name');
      r.sp('after the ID field name');
      const value = r.tryNil() ? null : r.astringText('an ID field value');
      return [key, value];
    },
    { allowEmpty: true, what: 'the ID parameter list' },
  );
  return { name: 'ID', params };
}
