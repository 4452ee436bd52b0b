// CPU time per call of a function, one core: what the micro-benchmarks here compare.

/** Microseconds of process CPU per call of `fn`, over ~`ms` of wall time after a short warm-up. */
export function cpuMicrosPerCall(fn: () => void, ms = 400): number {
  for (let i = 0; i < 10; i++) fn();
  let calls = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  while (performance.now() - t0 < ms) {
    fn();
    calls++;
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / calls;
}
