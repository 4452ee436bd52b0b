// HEAP_GROWING_PERCENT: the setting, and that V8 really follows it when set at run time (the flag
// is refused in NODE_OPTIONS, so `serve` sets it in the running process).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadSettings } from '../../src/config.js';

const tuning = fileURLToPath(new URL('../../src/heap-tuning.ts', import.meta.url));

/** Peak heapTotal (MB) of a child that keeps 200,000 objects alive and churns short-lived ones. */
function peakHeapMb(percent: number): number {
  const script = `
    const { applyHeapGrowingPercent } = await import(${JSON.stringify(tuning)});
    applyHeapGrowingPercent(${percent});
    const keep = Array.from({ length: 200000 }, (_, i) => ({ i, s: 'x' + i }));
    const ring = new Array(100000); let peak = 0;
    for (let i = 0; i < 6000000; i++) {
      ring[i % ring.length] = { i, a: [i, i + 1], s: 'k' + (i & 1023) };
      if ((i & 16383) === 0) peak = Math.max(peak, process.memoryUsage().heapTotal);
    }
    console.log(peak / 2 ** 20, keep.length);`;
  const out = execFileSync(process.execPath, ['--max-semi-space-size=1', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  return Number(out.split(' ')[0]);
}

describe('heap tuning (HEAP_GROWING_PERCENT)', function () {
  this.timeout(60_000);

  it('defaults to 25, reads the environment, refuses what V8 would not take', () => {
    assert.equal(loadSettings({}).heapGrowingPercent, 25);
    assert.equal(loadSettings({ HEAP_GROWING_PERCENT: '0' }).heapGrowingPercent, 0);
    assert.throws(() => loadSettings({ HEAP_GROWING_PERCENT: '-5' }), /HEAP_GROWING_PERCENT/);
  });

  it('keeps the old generation near the live heap when set at run time (0 leaves V8 its own factor)', () => {
    const own = peakHeapMb(0);
    const tuned = peakHeapMb(25);
    // Measured: ~128 MB with V8's own factor, ~44 MB at 25%.
    assert.ok(tuned < own * 0.6, `peak heap ${tuned.toFixed(1)} MB at 25% vs ${own.toFixed(1)} MB with V8's own factor`);
  });
});
