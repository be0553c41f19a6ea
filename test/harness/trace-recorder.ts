/**
 * Test helper: records the trace events of a real server (started with test/harness/server.ts) by
 * subscribing on its control socket, as `postbode trace --json` does, and groups them by session.
 */
import net from 'node:net';
import path from 'node:path';
import type { TraceEvent } from '../../src/trace/bus.js';

export class TraceRecorder {
  readonly events: TraceEvent[] = [];
  #socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        this.events.push(JSON.parse(buf.slice(0, nl)) as TraceEvent);
        buf = buf.slice(nl + 1);
      }
    });
  }

  static async attach(dataDir: string): Promise<TraceRecorder> {
    const socket = net.connect(path.join(dataDir, 'control.sock'));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.write('{"cmd":"trace"}\n');
    // The server subscribes when it reads the request; give it that moment.
    await new Promise((r) => setTimeout(r, 100));
    return new TraceRecorder(socket);
  }

  /** The events of the session opened on `listener` after `from` events, once it has closed. */
  async session(listener: string, from = 0, ms = 5000): Promise<TraceEvent[]> {
    const deadline = Date.now() + ms;
    for (;;) {
      const open = this.events.slice(from).find((e) => e.type === 'open' && e.listener === listener);
      if (open) {
        const sid = open.sid;
        const closed = this.events.some((e) => e.sid === sid && e.type === 'close');
        if (closed) return this.events.filter((e) => e.sid === sid);
      }
      if (Date.now() > deadline) throw new Error(`no closed ${listener} session in the trace after ${ms} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.#socket.destroy();
  }
}
