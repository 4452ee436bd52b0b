// Keeps the layering true: reads the import lines under src/ and checks each against the allowed
// directions (http -> protocol -> sync -> datastores/state ports; codec, convert, state use leaves).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../support/processes.js';

const SRC = path.join(repoRoot, 'src');
const LEAVES = ['config.ts', 'logger.ts', 'errors.ts'];

/** Which top-level parts of src/ each layer may import (besides itself and the leaves). */
const ALLOWED: Record<string, string[]> = {
  'main.ts': ['*'],
  cli: ['*'],
  composition: ['*'],
  http: ['codec', 'protocol', 'state', 'metrics'],
  protocol: ['codec', 'sync', 'datastores', 'state', 'accounts', 'convert'],
  sync: ['datastores', 'state', 'convert'],
  datastores: [],
  accounts: ['datastores'],
  push: ['codec', 'protocol', 'datastores', 'state', 'accounts'], // watches collections, sends SANs
  convert: ['codec'], // CTCap filters read DevInf element trees
  codec: [],
  state: [],
  // Operations: metrics observe the engine's reports (protocol/observer.ts), time the state store
  // and count DAV requests; the admin page reads the state store, mappings and backups.
  metrics: ['protocol', 'sync', 'state', 'datastores'],
  admin: ['protocol', 'sync', 'state', 'accounts', 'datastores'],
  leaves: [],
};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function partOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  if (rel.length === 1) return LEAVES.includes(rel[0]!) ? 'leaves' : rel[0]!;
  return rel[0]!;
}

describe('architecture: imports point inward', function () {
  const files = walk(SRC);
  it('finds the source files', function () {
    assert.ok(files.length > 30);
  });
  for (const file of files) {
    it(path.relative(repoRoot, file), function () {
      const from = partOf(file);
      const allowed = ALLOWED[from];
      assert.ok(allowed, `layer ${from} is not in the table`);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)[^'"]*from\s+['"](\.[^'"]+)['"]/gm)) {
        const target = path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, '.ts'));
        if (!target.startsWith(SRC)) continue;
        const to = partOf(target);
        if (to === from || to === 'leaves' || allowed.includes('*')) continue;
        assert.ok(allowed.includes(to), `${from} must not import ${to} (${m[1]})`);
      }
    });
  }
});
