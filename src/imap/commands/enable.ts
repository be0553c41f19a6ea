/** ENABLE (RFC 5161): turn on extensions that change server behaviour (IMAP4rev2, CONDSTORE, QRESYNC, UTF8=ACCEPT). */
import type { ParseContext } from '../wire/commands.js';
import { AUTHED, command } from './types.js';

/** What ENABLE can turn on; an extension is listed here only when it is implemented. */
export const ENABLEABLE = new Set(['IMAP4REV2', 'CONDSTORE', 'QRESYNC', 'UTF8=ACCEPT']);

export const enable = command({
  name: 'ENABLE',
  parse: parseEnable,
  states: AUTHED,
  run(s, tag, cmd) {
    const hadCondstore = s.condstore;
    const done: string[] = [];
    for (const cap of cmd.capabilities) {
      const upper = cap.toUpperCase();
      if (ENABLEABLE.has(upper) && !s.isEnabled(upper)) {
        s.enable(upper);
        done.push(cap);
      }
    }
    // RFC 5161 §3.1: the ENABLED response lists only what this command newly enabled.
    s.untagged(`ENABLED${done.map((c) => ` ${c}`).join('')}`);
    // RFC 7162 §3.1 (QRESYNC implies CONDSTORE, §3.2.3): a client that turns CONDSTORE on with a mailbox
    // selected learns its HIGHESTMODSEQ.
    const sel = s.selected;
    if (!hadCondstore && s.condstore && sel) {
      s.reply(null, 'OK', 'Highest', { code: 'HIGHESTMODSEQ', value: sel.highestModseq });
    }
    s.ok(tag, 'ENABLE completed');
  },
});

/** RFC 5161: the capabilities the client asks to enable, as written. */
export interface EnableCommand {
  name: 'ENABLE';
  capabilities: string[];
}

/** RFC 5161 §4 / RFC 9051 §6.3.1: `enable = "ENABLE" 1*(SP capability)`. */
function parseEnable({ r }: ParseContext): EnableCommand {
  r.sp('after ENABLE');
  const capabilities = [r.keyword('a capability name')];
  while (r.trySp()) capabilities.push(r.keyword('a capability name'));
  return { name: 'ENABLE', capabilities };
}
