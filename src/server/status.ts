/**
 * What `postbode status` (control socket) and `GET /api/status` show, and how the server gathers it.
 * The types live here, not in server.ts, so that the web layer can name them without importing the
 * composition root (which imports the web layer).
 */
import type { Config, ListenerName } from '../config/schema.js';
import { type QueueStatus, queueStatus } from '../delivery/outbound/status.js';
import { type LogStats, logStats } from '../log.js';
import type { Store, StoreStats } from '../store/types.js';
import { PRODUCT } from '../version.js';
import type { DiskMonitor, DiskStatus } from './disk.js';

/** A bound listener with its actual address (the port resolved when 0 was configured). */
export interface ListenerInfo {
  name: ListenerName;
  host: string;
  port: number;
}

/** What `postbode status` and `GET /api/status` show. */
export interface ServerStatus {
  product: string;
  pid: number;
  started: string;
  hostname: string;
  dataDir: string;
  strictness: Config['strictness'];
  listeners: ListenerInfo[];
  sessions: number;
  store: { kind: string } & StoreStats;
  queue: QueueStatus;
  /** Free space on the data disk, its warning and the storage reserve (null when statfs failed). */
  disk: DiskStatus | null;
  /** Log lines dropped because the log could not be written (null: no log descriptor). */
  log: LogStats | null;
  /** The process's memory in bytes (process.memoryUsage): resident, JavaScript heap, and outside it. */
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
}

export async function serverStatus(s: {
  config: Config;
  dataDir: string;
  started: Date;
  listeners: ListenerInfo[];
  store: Store;
  sessions: number;
  disk?: DiskMonitor;
}): Promise<ServerStatus> {
  return {
    product: PRODUCT,
    pid: process.pid,
    started: s.started.toISOString(),
    hostname: s.config.hostname,
    dataDir: s.dataDir,
    strictness: s.config.strictness,
    listeners: s.listeners,
    sessions: s.sessions,
    store: { kind: s.store.kind, ...(await s.store.stats()) },
    queue: await queueStatus(s.store, { workerEnabled: s.config.delivery.enabled }),
    disk: s.disk ? await s.disk.check() : null,
    log: logStats(),
    memory: memorySnapshot(),
  };
}

function memorySnapshot(): ServerStatus['memory'] {
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, heapTotal, external, arrayBuffers };
}
