/** Reads a server-sent event stream of the web lab's API; `next` waits for an event matching a predicate. */
import assert from 'node:assert/strict';
import type { Api } from './web-api-client.js';

export class SseReader {
  readonly #ac = new AbortController();
  #buf = '';
  /** Events not yet taken by `next`. */
  #events: { event: string; data: string }[] = [];
  /** Every event received. */
  readonly #all: { event: string; data: string }[] = [];
  #wake: (() => void) | null = null;
  #done = false;
  /** How long `next` waits by default, in ms. */
  #waitMs = 8000;

  /** `waitMs`: how long `next` waits for an event unless told otherwise (default 8 s). */
  static async open(api: Api, p: string, waitMs = 8000): Promise<SseReader> {
    const r = new SseReader();
    r.#waitMs = waitMs;
    const res = await api.req('GET', p, undefined, r.#ac.signal);
    assert.equal(res.status, 200, `GET ${p}: ${res.status}`);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    void r.#pump(res);
    return r;
  }

  async #pump(res: Response): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        this.#buf += decoder.decode(chunk, { stream: true });
        for (let end = this.#buf.indexOf('\n\n'); end >= 0; end = this.#buf.indexOf('\n\n')) {
          const block = this.#buf.slice(0, end);
          this.#buf = this.#buf.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (data.length) {
            const e = { event, data: data.join('\n') };
            this.#events.push(e);
            this.#all.push(e);
          }
        }
        this.#wake?.();
      }
    } catch {
      // aborted
    }
    this.#done = true;
    this.#wake?.();
  }

  /** Waits for the next event named `event` that `match` accepts, and takes it. */
  async next<T>(event: string, match: (data: T) => boolean = () => true, ms = this.#waitMs): Promise<T> {
    const until = Date.now() + ms;
    for (;;) {
      const i = this.#events.findIndex((e) => e.event === event && match(JSON.parse(e.data) as T));
      if (i >= 0) {
        const [e] = this.#events.splice(i, 1);
        return JSON.parse(e.data) as T;
      }
      if (this.#done) throw new Error(`stream ended without ${event}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no ${event} event in ${ms} ms; have ${JSON.stringify(this.#events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** The data of every `event` received so far. */
  seen<T>(event: string): T[] {
    return this.#all.filter((e) => e.event === event).map((e) => JSON.parse(e.data) as T);
  }

  /** The server ended the stream (or it was closed). */
  get ended(): boolean {
    return this.#done;
  }

  close(): void {
    this.#ac.abort();
  }
}
