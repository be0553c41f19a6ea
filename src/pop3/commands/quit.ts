/**
 * QUIT (RFC 1939 §5, §6): in AUTHORIZATION it just ends the session; in TRANSACTION it enters UPDATE,
 * removes the DELE-marked messages, and answers `+OK` only once that is durable.
 */
import { StoreFullError } from '../../store/types.js';
import { err, ok } from '../wire.js';
import { defineCommand, noArguments } from './types.js';

export const quit = defineCommand<null>({
  verb: 'QUIT',
  states: ['authorization', 'transaction'],
  parse: noArguments('QUIT'),
  async run(s) {
    s.done = true;
    const maildrop = s.maildrop;
    if (s.state === 'authorization' || !maildrop) {
      return s.send(ok(`Pop server at ${s.settings.hostname} signing off.`));
    }
    s.conn.trace.state('update');
    const uids = [...s.deleted].sort((a, b) => a - b).map((n) => maildrop.messages[n - 1].uid);
    try {
      await maildrop.expunge(uids);
    } catch (error) {
      // RFC 1939 §6: on failure the server answers -ERR; nothing was removed (the expunge is atomic).
      s.log.error({ err: error, sid: s.conn.id, user: s.user?.address }, 'pop3: expunge failed');
      const text =
        error instanceof StoreFullError
          ? 'Could not remove the deleted messages: the server is out of storage space; they are kept, please try again later'
          : 'Could not remove the deleted messages; they are kept, please try again later';
      return s.send(err(text, 'SYS/TEMP'));
    }
    s.stats.deleted = uids.length;
    // Unlock before the reply, so that a client that reconnects at once finds the maildrop free.
    await s.releaseMaildrop();
    s.send(ok(`Pop server at ${s.settings.hostname} signing off.`));
  },
});
