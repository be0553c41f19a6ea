/**
 * A web lab client whose requests leave from a chosen local address (`localAddress`, e.g. 127.0.0.2),
 * which fetch cannot choose: for tests of what the lab knows by a student's client address (classroom
 * mode, exercises). Keeps its session cookie; sends `X-Postbode: 1` as the CSRF guard asks.
 */
import assert from 'node:assert/strict';
import http from 'node:http';

export class Browser {
  cookie = '';
  constructor(
    readonly port: number,
    readonly localAddress: string,
  ) {}

  /** `body`: sent as JSON; `raw` instead: sent as it is, with that content type (e.g. an XML request). */
  request(
    method: string,
    path: string,
    body?: unknown,
    raw?: { type: string; data: string },
  ): Promise<{ status: number; text: string }> {
    const data = raw ? raw.data : body === undefined ? undefined : JSON.stringify(body);
    const type = raw ? raw.type : 'application/json';
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          localAddress: this.localAddress,
          method,
          path,
          headers: {
            cookie: this.cookie,
            'x-postbode': '1',
            ...(data ? { 'content-type': type, 'content-length': Buffer.byteLength(data) } : {}),
          },
        },
        (res) => {
          const set = res.headers['set-cookie'];
          if (set?.[0]) this.cookie = set[0].split(';')[0];
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  async json<T>(method: string, path: string, body?: unknown, expect = 200): Promise<T> {
    const r = await this.request(method, path, body);
    assert.equal(r.status, expect, `${method} ${path}: ${r.status} ${r.text}`);
    return JSON.parse(r.text) as T;
  }
}
