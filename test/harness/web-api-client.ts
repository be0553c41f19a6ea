/** A logged-in client of the web lab's JSON API: the cookie kept, JSON bodies, the CSRF header on writes. */
import assert from 'node:assert/strict';

export class Api {
  cookie = '';
  constructor(readonly base: string) {}

  async req(method: string, p: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { cookie: this.cookie, 'x-postbode': '1' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const send = () =>
      fetch(this.base + p, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      });
    // A kept-alive connection the server closed as idle just as it is reused: GETs are sent again.
    const res = await send().catch((e: Error) => {
      if (method !== 'GET' || signal?.aborted) throw e;
      return send();
    });
    const set = res.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0];
    return res;
  }

  async json<T>(method: string, p: string, body?: unknown, expect = 200): Promise<T> {
    const res = await this.req(method, p, body);
    const text = await res.text();
    assert.equal(res.status, expect, `${method} ${p}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  }

  static async login(base: string, username: string, password: string): Promise<Api> {
    const api = new Api(base);
    await api.json('POST', '/api/login', { username, password });
    return api;
  }
}
