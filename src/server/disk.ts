/**
 * Watching the disk that holds data_dir: free space for `postbode status` and a warning in the log
 * when it runs low, and re-creating the storage reserve (store/space.ts) once there is room again.
 *
 * Invariants:
 * - A check is one statfs; it runs at start, every `intervalMs`, and for each status request.
 * - The log gets at most one `warn` line per WARN_EVERY_MS while space is low, and one `info` line
 *   when it is no longer low. Checks never throw.
 */
import { statfs } from 'node:fs/promises';
import type { Logger } from '../log.js';
import type { ReserveStatus, SpaceReserve } from '../store/space.js';

export const WARN_EVERY_MS = 5 * 60 * 1000;

/** The `disk` block of `postbode status`. */
export interface DiskStatus {
  /** The data directory. */
  path: string;
  totalBytes: number;
  /** Available to the server (statfs `bavail`). */
  freeBytes: number;
  /** freeBytes of totalBytes, 0-100, one decimal. */
  freePercent: number;
  /** Why space is low, or null. */
  warning: string | null;
  reserve: ReserveStatus;
}

export interface DiskMonitorOptions {
  dataDir: string;
  reserve: SpaceReserve;
  /** Warn below this share free (percent). */
  warnPercent: number;
  /** Warn below this many bytes free. */
  warnBytes: number;
  intervalMs: number;
  log: Logger;
}

export class DiskMonitor {
  readonly #o: DiskMonitorOptions;
  #timer: NodeJS.Timeout | null = null;
  #lastWarn = 0;
  #low = false;

  constructor(opts: DiskMonitorOptions) {
    this.#o = opts;
  }

  /** Checks now (awaited) and then every `intervalMs`. */
  async start(): Promise<void> {
    await this.check();
    this.#timer = setInterval(() => void this.check(), this.#o.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /**
   * One check: the figures, a warning when due, and the reserve re-created when there is room (unless
   * `createReserve` is false: `postbode status` without a server only looks).
   */
  async check(now = Date.now(), opts: { createReserve?: boolean } = {}): Promise<DiskStatus | null> {
    const { dataDir, reserve, log } = this.#o;
    let status: DiskStatus;
    try {
      const s = await statfs(dataDir);
      const totalBytes = s.blocks * s.bsize;
      const freeBytes = s.bavail * s.bsize;
      const freePercent = totalBytes > 0 ? Math.round((freeBytes / totalBytes) * 1000) / 10 : 0;
      status = {
        path: dataDir,
        totalBytes,
        freeBytes,
        freePercent,
        warning: this.#warning(freeBytes, freePercent),
        reserve: reserve.status(),
      };
    } catch {
      return null;
    }
    if (status.warning) {
      if (!this.#low || now - this.#lastWarn >= WARN_EVERY_MS) {
        this.#lastWarn = now;
        log.warn(
          { dataDir, freeBytes: status.freeBytes, freePercent: status.freePercent, reserve: status.reserve },
          `disk nearly full: ${status.warning}`,
        );
      }
      this.#low = true;
    } else if (this.#low) {
      this.#low = false;
      log.info(
        { dataDir, freeBytes: status.freeBytes, freePercent: status.freePercent },
        'disk space is no longer low',
      );
    }
    if (opts.createReserve !== false && !status.reserve.present && reserve.bytes > 0 && !status.reserve.holding) {
      if (await reserve.ensure()) status.reserve = reserve.status();
    }
    return status;
  }

  #warning(free: number, percent: number): string | null {
    const { warnPercent, warnBytes, reserve } = this.#o;
    if (free >= warnBytes && percent >= warnPercent) return null;
    const spent = reserve.status().holding
      ? '; the storage reserve is spent: mail is refused (452 4.3.1) and only deletions work'
      : '';
    return `${formatBytes(free)} (${percent} %) free on the disk holding ${this.#o.dataDir}${spent}; free space or grow the disk`;
  }
}

export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}
