/**
 * A small fuzzing kit for the `*.fuzz.test.ts` / `fuzz.test.ts` files: a seeded PRNG, a time budget, and
 * mutations of corpus inputs.
 *
 * - Each fuzzer runs for `FUZZ_SECONDS` seconds (default: the few seconds the test gives, so `npm test`
 *   stays quick; `npm run fuzz` sets 600).
 * - The run's seed is random unless `FUZZ_SEED` is set. Iteration i uses its own PRNG seeded from
 *   (seed, i), so a failure names the exact input: the thrown error starts with
 *   `FUZZ_SEED=<seed> FUZZ_ITERATION=<i>`, and running the test with both variables set replays only
 *   that input.
 */

/** mulberry32: small, fast, good enough to pick inputs. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random helpers on one PRNG. */
export class Rand {
  constructor(readonly next: () => number) {}

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** `n` bytes, half of them from `interesting`. */
  bytes(n: number, interesting: Buffer): Buffer {
    const out = Buffer.alloc(n);
    for (let k = 0; k < n; k++) out[k] = this.chance(0.5) ? interesting[this.int(interesting.length)] : this.int(256);
    return out;
  }

  /** One to `maxEdits` random edits of `input`: replace, insert, delete, truncate, duplicate a slice. */
  mutate(input: Buffer, interesting: Buffer, maxEdits = 4): Buffer {
    let bytes = Buffer.from(input);
    const edits = 1 + this.int(maxEdits);
    for (let e = 0; e < edits; e++) {
      const at = this.int(bytes.length + 1);
      const byte = this.chance(0.7) ? interesting[this.int(interesting.length)] : this.int(256);
      switch (this.int(6)) {
        case 0:
          if (at < bytes.length) bytes[at] = byte;
          break;
        case 1:
          bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([byte]), bytes.subarray(at)]);
          break;
        case 2:
          bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + this.int(8))]);
          break;
        case 3:
          if (this.chance(0.3)) bytes = bytes.subarray(0, at);
          break;
        case 4: {
          // Duplicate a slice (repeats make deep nesting and long runs).
          const len = Math.min(bytes.length - at, 1 + this.int(64));
          const slice = bytes.subarray(at, at + len);
          const times = 1 + this.int(this.chance(0.1) ? 200 : 4);
          bytes = Buffer.concat([
            bytes.subarray(0, at),
            ...Array.from({ length: times }, () => slice),
            bytes.subarray(at),
          ]);
          break;
        }
        default: {
          // Swap in a slice from elsewhere in the input.
          const from = this.int(bytes.length + 1);
          const len = this.int(32);
          bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(from, from + len), bytes.subarray(at)]);
        }
      }
    }
    return bytes;
  }
}

function envNumber(name: string): number | null {
  const v = process.env[name];
  if (v === undefined || v === '') return null;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, not "${v}"`);
  return n;
}

/** The seed of this run: FUZZ_SEED, or a random one. */
export const FUZZ_SEED = envNumber('FUZZ_SEED') ?? Math.floor(Math.random() * 0xffffffff);

/** Seconds each fuzzer runs: FUZZ_SECONDS, or the fuzzer's own default. */
export function fuzzSeconds(defaultSeconds: number): number {
  return envNumber('FUZZ_SECONDS') ?? defaultSeconds;
}

/** The PRNG of one iteration: derived from the run's seed and the iteration number. */
export function iterationRand(name: string, i: number): Rand {
  let h = FUZZ_SEED ^ 0x9e3779b9;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
  return new Rand(prng((h ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0));
}

export interface FuzzReport {
  iterations: number;
  seconds: number;
}

/**
 * Runs `body` with a fresh Rand per iteration until the time budget is spent (at least `minIterations`
 * times). A failure is rethrown with the seed and iteration that reproduce it. With FUZZ_ITERATION set,
 * runs only that iteration.
 */
export async function fuzz(
  name: string,
  opts: { seconds: number; minIterations?: number },
  body: (rand: Rand, i: number) => void | Promise<void>,
): Promise<FuzzReport> {
  const only = envNumber('FUZZ_ITERATION');
  const started = performance.now();
  const deadline = started + fuzzSeconds(opts.seconds) * 1000;
  const min = opts.minIterations ?? 1;
  let i = only ?? 0;
  let count = 0;
  for (;;) {
    if (only !== null ? count === 1 : count >= min && performance.now() >= deadline) break;
    try {
      await body(iterationRand(name, i), i);
    } catch (err) {
      const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
      throw new Error(`FUZZ_SEED=${FUZZ_SEED} FUZZ_ITERATION=${i} (${name}) failed:\n${text}`);
    }
    i++;
    count++;
  }
  return { iterations: count, seconds: (performance.now() - started) / 1000 };
}

/**
 * Runs `fn` and fails when it takes longer than `ms` twice in a row (a super-linear parse shows up as a
 * slow input; a pause of a busy machine or of the garbage collector does not repeat).
 */
export function timed<T>(what: string, ms: number, fn: () => T): T {
  let best = Number.POSITIVE_INFINITY;
  let out: T | undefined;
  for (let attempt = 0; attempt < 2 && best > ms; attempt++) {
    const t0 = performance.now();
    out = fn();
    best = Math.min(best, performance.now() - t0);
  }
  if (best > ms) throw new Error(`${what} took ${best.toFixed(1)} ms twice (bound ${ms} ms)`);
  return out as T;
}
