/**
 * Preloaded into the postbode the bench starts (`node --expose-gc --import bench/gc-on-signal.mjs`):
 * on SIGUSR2 the server runs two full garbage collections and writes one line to its log, so that a
 * memory figure is read after the garbage of what came before is gone (bench/suite.ts, settledMemory).
 * Nothing in src/ knows of it; without --expose-gc the signal only writes the line.
 */
let count = 0;
process.on('SIGUSR2', () => {
  const gc = globalThis.gc;
  if (typeof gc === 'function') {
    gc();
    gc();
  }
  count++;
  process.stderr.write(`bench-gc ${count}${typeof gc === 'function' ? '' : ' (no gc: --expose-gc missing)'}\n`);
});
