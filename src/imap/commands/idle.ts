/**
 * IDLE (RFC 2177, RFC 9051 §6.3.13): the client waits; the server sends mailbox changes as they
 * happen (EXISTS, EXPUNGE or VANISHED, FETCH FLAGS) until the client sends DONE.
 *
 * The command only starts IDLE: it answers `+ idling`, sends what is pending and hands the session an
 * `Idling`. The session loop then waits for the client's next input with one promise
 * (`Connection.whenReadable`) and lets `Idling.end` read it: DONE ends IDLE with OK, anything else with
 * BAD, the end of input (EOF, autologout, shutdown) ends the session. So a client in IDLE for hours
 * holds the session loop and that promise, not also the command, the IDLE handler and the line reader
 * suspended one inside the other (~0.5 KiB each).
 */
import type { ImapSession } from '../session.js';
import { noArgs } from './grammar.js';
import { AUTHED, command, SHUTDOWN_BYE } from './types.js';

/** Changes an IDLE session announces before it lets other sessions run (see Idling.#announce). */
const ANNOUNCE_SLICE = 1000;

export const idle = command({
  name: 'IDLE',
  parse: noArgs('IDLE'),
  states: AUTHED,
  async run(s, tag) {
    s.conn.writeLine('+ idling');
    await s.announce(true);
    s.idling = new Idling(s, tag);
  },
});

/** A session in IDLE: announces changes at once until `end` reads what the client sent. */
export class Idling {
  /** Announcements in order: each starts when the one before has been sent. */
  #chain: Promise<void> = Promise.resolve();
  readonly #s: ImapSession;

  constructor(
    s: ImapSession,
    readonly tag: string,
  ) {
    this.#s = s;
    const sel = s.selected;
    // Changes arrive from the store's feed; announce them at once, in order.
    if (sel) sel.onChange = this.#changed;
  }

  /** An announcement is chained and has not started yet: further changes need none of their own. */
  #queued = false;
  /** `stop` was called: a slice under way is the last (the feed may go on filling the queue). */
  #stopped = false;

  /**
   * The mailbox's `onChange` (one closure per IDLE; a bound method would be one too). One change of
   * 20,000 messages calls it 20,000 times: one announcement takes them all, so at most one waits in
   * the chain (a link per call held a promise and a closure per change and session: 40 sessions in
   * IDLE and one STORE 1:* took the heap up by 600 MB).
   */
  readonly #changed = (): void => {
    if (this.#queued) return;
    this.#queued = true;
    this.#chain = this.#chain.then(() => {
      this.#queued = false;
      return this.#announce();
    });
  };

  async #announce(): Promise<void> {
    const s = this.#s;
    // A long queue (one STORE 1:* on a big mailbox) is announced in slices with a turn of the event
    // loop between them, so that many sessions in IDLE do not hold the server for seconds, and a
    // client that stops reading is found after a slice, not after all of them.
    for (let first = true; first || s.selected?.hasPending; first = false) {
      if (!first) await new Promise<void>((resolve) => setImmediate(resolve));
      if (s.conn.closed || this.#stopped) return;
      // A client that reads nothing while mail keeps arriving would make its unsent output grow without
      // bound (no read of ours can hold it back here): drop it.
      if (s.conn.outputStalled) {
        s.log.info({ sid: s.conn.id, unsent: s.conn.unsentBytes }, 'IDLE client does not read; closing');
        s.conn.destroy();
        return;
      }
      await s.announce(true, ANNOUNCE_SLICE);
      s.conn.flush();
    }
  }

  /**
   * Reads the client's line (call once `conn.whenReadable()` resolved; a line that has only begun is
   * waited for) and ends IDLE: OK after DONE, BAD after anything else, the session's end after EOF, a
   * timeout or a shutdown. Announcements go on until then.
   */
  async end(): Promise<void> {
    const s = this.#s;
    try {
      const input = await s.conn.readCommandLine(s.settings.maxLineLength);
      if (input.kind === 'eof' || input.kind === 'timeout' || input.kind === 'shutdown') {
        if (input.kind === 'timeout') s.untagged('BYE Autologout; idle for too long');
        // Server shutdown during IDLE: BYE at once (RFC 9051 §7.1.5), no tagged reply.
        if (input.kind === 'shutdown') s.untagged(SHUTDOWN_BYE);
        s.state = 'logout';
        return;
      }
      if (input.kind !== 'line' || !isIdleDone(input.line)) {
        s.conn.trace.in(input.kind === 'line' ? input.line.toString('utf8') : '<line too long>');
        s.bad(this.tag, 'Expected DONE to end IDLE');
        return;
      }
      s.conn.trace.in('DONE');
    } finally {
      await this.stop();
    }
    s.ok(this.tag, 'IDLE terminated');
  }

  /** Stops announcing at once and waits for an announcement under way (also when the session ends). */
  async stop(): Promise<void> {
    this.#stopped = true;
    const sel = this.#s.selected;
    if (sel?.onChange === this.#changed) sel.onChange = null;
    await this.#chain;
  }
}

/** RFC 2177 §3 / RFC 9051 §6.3.13: the line that ends IDLE is `DONE` (case-insensitive). */
export function isIdleDone(line: Buffer): boolean {
  return line.length === 4 && line.toString('latin1').toUpperCase() === 'DONE';
}
