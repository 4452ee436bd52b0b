// Summary of an allocation profile written by bench/alloc-sampling.mjs: bytes allocated (garbage
// included) per layer (src/ directory of dist/, or the package under node_modules) and per
// function of ours, counting what node internals and packages allocate to the nearest caller of ours.
// Run: npx tsx bench/alloc-summary.ts [.tmp/alloc.heapprofile] [--top N]
import { readFileSync } from 'node:fs';

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args[topAt + 1]) : 20;
const file = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--top') ?? '.tmp/alloc.heapprofile';
const head = (JSON.parse(readFileSync(file, 'utf8')) as { head: SamplingNode }).head;

const byLayer = new Map<string, number>();
const byOwnFunction = new Map<string, number>();
let total = 0;
const add = (m: Map<string, number>, k: string, v: number): void => void m.set(k, (m.get(k) ?? 0) + v);

function walk(node: SamplingNode, layer: string, ownCaller: string): void {
  const { url, functionName, lineNumber } = node.callFrame;
  const pkg = /node_modules\/((?:@[\w.-]+\/)?[\w.-]+)\//.exec(url);
  const own = pkg ? null : /\/(?:dist|src)\/([\w-]+)\//.exec(url);
  const here = pkg ? pkg[1]! : own ? `src/${own[1]}` : layer;
  const caller = own ? `${functionName || '(anonymous)'} ${url.replace(/.*\/(?:dist|src)\//, '')}:${lineNumber + 1}` : ownCaller;
  total += node.selfSize;
  add(byLayer, here, node.selfSize);
  add(byOwnFunction, caller, node.selfSize);
  for (const c of node.children) walk(c, here, caller);
}
walk(head, '(no JS caller)', '(no function of ours)');

const mb = (b: number): string => (b / 2 ** 20).toFixed(1).padStart(7);
const list = (m: Map<string, number>): string =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `${mb(v)} MB ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`).join('\n');
console.log(`${file}: ${mb(total).trim()} MB allocated (sampled, collected objects included)`);
console.log(`by layer:\n${list(byLayer)}`);
console.log(`by function of ours (with what it calls outside our code):\n${list(byOwnFunction)}`);
