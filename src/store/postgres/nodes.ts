/**
 * The nodes sharing one PostgreSQL store: each `postbode serve` process registers a row in `nodes` and
 * refreshes its heartbeat, so `postbode status` on any node (or the CLI) lists them.
 *
 * Invariants:
 * - A node's row is keyed by its name (`--node`, default the host name): two processes with one name
 *   share a row (the last to start wins the pid); name nodes distinctly.
 * - The heartbeat is written every `heartbeatMs` (default 5 s) outside any transaction that does mail
 *   work; a failed heartbeat is retried at the next tick, never thrown.
 * - A clean shutdown removes the node's row; a killed node keeps its row with a stale heartbeat.
 */
import { hostname } from 'node:os';
import { VERSION } from '../../version.js';
import type { StoreNode, StoreNodes } from '../types.js';
import type { PgContext } from './db.js';

interface NodeRow {
  name: string;
  host: string;
  pid: number;
  version: string;
  started_at: number;
  heartbeat_at: number;
}

export class PgNodes implements StoreNodes {
  readonly #ctx: PgContext;
  readonly #heartbeatMs: number;
  #timer: NodeJS.Timeout | null = null;
  #registered = false;

  constructor(ctx: PgContext, opts: { heartbeatMs?: number } = {}) {
    this.#ctx = ctx;
    this.#heartbeatMs = opts.heartbeatMs ?? 5000;
  }

  async register(): Promise<void> {
    const now = Date.now();
    await this.#ctx.run(
      `INSERT INTO nodes (name, host, pid, version, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, $5)
       ON CONFLICT (name) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, version = EXCLUDED.version,
         started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at`,
      [this.#ctx.node, hostname(), process.pid, VERSION, now],
    );
    this.#registered = true;
    this.#timer = setInterval(() => {
      this.#ctx.run('UPDATE nodes SET heartbeat_at = $2 WHERE name = $1', [this.#ctx.node, Date.now()]).catch(() => {});
    }, this.#heartbeatMs);
    this.#timer.unref();
  }

  async list(): Promise<StoreNode[]> {
    const rows = await this.#ctx.rows<NodeRow>('SELECT * FROM nodes ORDER BY name');
    return rows.map((r) => ({
      name: r.name,
      host: r.host,
      pid: r.pid,
      version: r.version,
      startedAt: new Date(r.started_at),
      heartbeatAt: new Date(r.heartbeat_at),
    }));
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#registered) {
      this.#registered = false;
      await this.#ctx
        .run('DELETE FROM nodes WHERE name = $1 AND pid = $2', [this.#ctx.node, process.pid])
        .catch(() => {});
    }
  }
}
