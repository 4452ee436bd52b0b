// Summary of the gateway processes' V8 CPU profiles written by `bench/load.ts --cpu-prof DIR`
// (node --cpu-prof: the whole life of each process, seed and load phase together): busy time
// per layer (src/ directory, or the package under node_modules) and the functions with the most
// self time. Node internals are counted to the nearest caller of ours or of a package.
// `--window LAYER` counts only the samples between the first and the last one in LAYER (e.g.
// src/sync: the syncs without the process's start-up, which is most of a short run's profile).
// Run: npx tsx bench/load-profile.ts DIR [--window LAYER]
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

function layerOf(url: string, fn: string): string | undefined {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)' || fn === '(program)' || fn === '(root)') return fn;
  const pkg = /node_modules\/((?:@[\w.-]+\/)?[\w.-]+)\//.exec(url);
  if (pkg) return pkg[1];
  const own = /\/(?:dist|src)\/([\w-]+)\//.exec(url) ?? /\/(?:dist|src)\/([\w-]+)\.js$/.exec(url);
  if (own) return `src/${own[1]}`;
  return undefined; // node internals: the caller's
}

export interface ProfileSummary {
  busyMs: number;
  layers: Array<[string, number]>;
  functions: Array<[string, number]>;
}

export function summarise(file: string, windowLayer?: string): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const memo = new Map<number, string>();
  const layer = (id: number): string => {
    const hit = memo.get(id);
    if (hit) return hit;
    const n = byId.get(id)!;
    const up = parent.get(id);
    const l = layerOf(n.callFrame.url, n.callFrame.functionName) ?? (up === undefined ? 'node runtime' : layer(up));
    const result = l === '(root)' ? 'node runtime' : l;
    memo.set(id, result);
    return result;
  };
  const layers = new Map<string, number>();
  const fns = new Map<string, number>();
  const inWindow = windowLayer ? p.samples.map((id) => layer(id) === windowLayer) : [];
  const first = windowLayer ? inWindow.indexOf(true) : 0;
  const last = windowLayer ? inWindow.lastIndexOf(true) : p.samples.length - 1;
  p.samples.forEach((id, i) => {
    if (i < first || i > last) return;
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    const n = byId.get(id)!;
    if (n.callFrame.functionName === '(idle)') return;
    const l = layer(id);
    layers.set(l, (layers.get(l) ?? 0) + dt);
    const where = n.callFrame.url ? `${path.basename(n.callFrame.url)}:${n.callFrame.lineNumber + 1}` : '';
    const key = `${n.callFrame.functionName || '(anonymous)'} ${where}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + dt);
  });
  const busyMs = [...layers.values()].reduce((a, b) => a + b, 0);
  const pct = (m: Map<string, number>, k: number): Array<[string, number]> =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, ms]) => [name, Math.round((1000 * ms) / busyMs) / 10]);
  return { busyMs, layers: pct(layers, 14), functions: pct(fns, 15) };
}

export function printProfiles(dir: string, windowLayer?: string): void {
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile')).sort()) {
    const s = summarise(path.join(dir, f), windowLayer);
    console.log(`\n${f}: ${Math.round(s.busyMs)} ms busy${windowLayer ? ` from the first to the last sample in ${windowLayer}` : ''}`);
    console.log(`  by layer (% of busy): ${s.layers.map(([k, v]) => `${k} ${v}%`).join(', ')}`);
    console.log('  most self time:');
    for (const [k, v] of s.functions) console.log(`    ${String(v).padStart(5)}%  ${k}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const w = process.argv.indexOf('--window');
  const dir = process.argv.slice(2).find((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--window');
  printProfiles(dir ?? '.tmp/load-prof', w > 0 ? process.argv[w + 1] : undefined);
}
