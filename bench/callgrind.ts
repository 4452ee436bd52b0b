// Reading callgrind's output for the benches that count instructions (e2e-phases --instructions,
// idle-wake --instructions).
import { readFileSync } from 'node:fs';

/** The instruction total of one callgrind dump file. */
export function callgrindTotal(file: string): number {
  const total = /^(?:totals|summary): (\d+)/m.exec(readFileSync(file, 'utf8'));
  if (!total) throw new Error(`callgrind dump ${file}: no totals line`);
  return Number(total[1]);
}
