// Preload for a gateway process: V8's sampling heap profiler, counting objects that were already
// collected too (node --heap-prof keeps only what is still live at exit, so it misses garbage,
// which is what costs GC time). Written to ALLOC_PROFILE_OUT (default .tmp/alloc.heapprofile) when
// the process exits or gets SIGTERM/SIGINT; summarise it with bench/alloc-summary.ts.
// Use: BENCH_GATEWAY_NODE_FLAGS="--import=$PWD/bench/alloc-sampling.mjs" npx tsx bench/refresh-memory.ts 3000
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const out = process.env.ALLOC_PROFILE_OUT ?? path.resolve('.tmp/alloc.heapprofile');
const session = new Session();
session.connect();
session.post('HeapProfiler.enable');
session.post('HeapProfiler.startSampling', {
  samplingInterval: Number(process.env.ALLOC_SAMPLING_INTERVAL ?? 16384),
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
let written = false;
function write() {
  if (written) return;
  written = true;
  // A same-thread inspector session answers synchronously: the file is written before exit.
  session.post('HeapProfiler.stopSampling', (err, result) => {
    if (err) return;
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(result.profile));
  });
}
process.on('exit', write);
for (const signal of ['SIGTERM', 'SIGINT']) process.prependListener(signal, write);
