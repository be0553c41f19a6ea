/**
 * Test support: an IMAP client that keeps responses as bytes, for byte-exact checks of FETCH data
 * (the harness client reads lines as UTF-8 text, which is lossy for 8-bit and binary content).
 * Only tests import this file.
 */
import net from 'node:net';

export interface BytesReply {
  /** Everything before the tagged line, literals included, as received. */
  data: Buffer;
  /** The untagged responses, each a Buffer (with its literals), CRLF stripped. */
  responses: Buffer[];
  tagged: string;
}

export class BytesClient {
  #buf = Buffer.alloc(0);
  #wake: (() => void) | null = null;
  #tag = 0;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#wake?.();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number, user: string, password: string): Promise<BytesClient> {
    const socket = net.connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new BytesClient(socket);
    await c.#response();
    const r = await c.cmd(`LOGIN ${user} ${password}`);
    if (!/ OK /.test(r.tagged)) throw new Error(r.tagged);
    return c;
  }

  async #more(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timeout waiting for the server')), 5000);
      this.#wake = () => {
        clearTimeout(t);
        this.#wake = null;
        resolve();
      };
    });
  }

  /** One response (a line and its literals), without the final CRLF. */
  async #response(): Promise<Buffer> {
    let pos = 0;
    for (;;) {
      const crlf = this.#buf.indexOf('\r\n', pos);
      if (crlf < 0) {
        await this.#more();
        continue;
      }
      const m = /~?\{(\d+)\}$/.exec(this.#buf.toString('latin1', Math.max(pos, crlf - 24), crlf));
      if (m) {
        const end = crlf + 2 + Number(m[1]);
        while (this.#buf.length < end) await this.#more();
        pos = end;
        continue;
      }
      const out = this.#buf.subarray(0, crlf);
      this.#buf = this.#buf.subarray(crlf + 2);
      return out;
    }
  }

  /** Sends `tag command` (raw bytes allowed) and reads up to the tagged reply. */
  async cmd(command: string | Buffer): Promise<BytesReply> {
    const tag = `b${++this.#tag}`;
    this.socket.write(Buffer.concat([Buffer.from(`${tag} `), Buffer.from(command), Buffer.from('\r\n')]));
    const responses: Buffer[] = [];
    for (;;) {
      const r = await this.#response();
      if (r.toString('latin1', 0, tag.length + 1) === `${tag} `) {
        const data = Buffer.concat(responses.flatMap((b) => [b, Buffer.from('\r\n')]));
        return { data, responses, tagged: r.toString('utf8') };
      }
      responses.push(r);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
