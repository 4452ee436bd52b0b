// How far V8 lets the old generation grow past what the last full GC left alive. V8's own factor
// is up to 4x when it allocates fast, so a refresh's peak RSS followed the allocation rate, not
// the data kept: 121-196 MB at 5,000-10,000 contacts with ~20 MB alive (docs/performance.md,
// "Heap growth"). A fixed 1.25x keeps the peak near the live heap at no CPU cost measured there.
// The V8 flag is not accepted in NODE_OPTIONS, hence set here, once, for the serving process.
import { setFlagsFromString } from 'node:v8';

/** Apply HEAP_GROWING_PERCENT; 0 leaves V8's own heuristic. */
export function applyHeapGrowingPercent(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${Math.round(percent)}`);
}
