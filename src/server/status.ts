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
import { keyDifferences, localKeyFiles } from './node-keys.js';

/** A node of a shared store (PostgreSQL) as `postbode status` lists it. */
export interface NodeStatus {
  name: string;
  host: string;
  pid: number;
  version: string;
  /** ISO time of the node's start. */
  started: string;
  /** Seconds since its last heartbeat (by this process's clock). */
  heartbeatAge: number;
  /** No heartbeat for `STALE_NODE_SECONDS`: stopped without a goodbye, or cut off from the database. */
  stale: boolean;
}

/** Heartbeats come every 5 s (store/postgres/nodes.ts); a node silent this long is shown as stale. */
export const STALE_NODE_SECONDS = 30;

/** The nodes of the store, or undefined for a store of one process (SQLite). */
export async function nodesStatus(store: Store, now = Date.now()): Promise<NodeStatus[] | undefined> {
  if (!store.nodes) return undefined;
  return (await store.nodes.list()).map((n) => {
    const heartbeatAge = Math.max(0, Math.round((now - n.heartbeatAt.getTime()) / 1000));
    return {
      name: n.name,
      host: n.host,
      pid: n.pid,
      version: n.version,
      started: n.startedAt.toISOString(),
      heartbeatAge,
      stale: heartbeatAge >= STALE_NODE_SECONDS,
    };
  });
}

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
  /**
   * What the web lab holds in memory (absent with the `http` listener off): live sessions, their
   * events and capture held (a quiet session holds none once the history has them), and the live
   * sessions the exercises' checker follows with the models it holds.
   */
  lab?: LabMemory;
  /** Several nodes over one store (PostgreSQL): this node's name. */
  node?: string;
  /** Several nodes over one store: every node with its heartbeat. */
  nodes?: NodeStatus[];
  /**
   * Several nodes over one store: how this data dir's key files differ from those recorded for every
   * node (server/node-keys.ts), one line each; empty when they agree.
   */
  keys?: string[];
}

export interface LabMemory {
  liveSessions: number;
  heldEvents: number;
  heldCaptureBytes: number;
  checkedSessions: number;
  checkModels: number;
}

export async function serverStatus(s: {
  config: Config;
  dataDir: string;
  started: Date;
  listeners: ListenerInfo[];
  store: Store;
  sessions: number;
  disk?: DiskMonitor;
  /** This node's name, when the store has several. */
  node?: string;
  /** What the web lab holds (null: the lab is off). */
  lab?: () => LabMemory | null;
}): Promise<ServerStatus> {
  const nodes = await nodesStatus(s.store);
  const lab = s.lab?.() ?? null;
  const keys = s.store.nodeKeys ? keyDifferences(await s.store.nodeKeys.list(), localKeyFiles(s.dataDir)) : undefined;
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
    ...(lab ? { lab } : {}),
    ...(nodes ? { node: s.node, nodes } : {}),
    ...(keys ? { keys } : {}),
  };
}

function memorySnapshot(): ServerStatus['memory'] {
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, heapTotal, external, arrayBuffers };
}
