// Keeps the layering true: the allowed import directions are the table in the "Layers" section of
// docs/ARCHITECTURE.md (read from there, so the doc and this test cannot drift); every import under
// src/ is checked against it.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../support/processes.js';

const SRC = path.join(repoRoot, 'src');
const DOC = path.join(repoRoot, 'docs', 'ARCHITECTURE.md');
const DOC_NAME = 'docs/ARCHITECTURE.md (Layers table)';

interface LayerRule {
  /** `http`, `main.ts`: a folder or a file at the top of src/. */
  layer: string;
  /** Every direction allowed; '*' = everything. */
  allowed: ReadonlySet<string>;
  /** The "imports" column: directions the doc claims are used. */
  claimed: ReadonlySet<string>;
}

/** Cells of one markdown table row, without the outer pipes. */
function cells(line: string): string[] {
  return line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
}

/** `everything` -> ['*'], `nothing` or empty -> [], else the `backticked` names (trailing / dropped). */
function layerNames(cell: string): string[] {
  if (/^everything$/i.test(cell)) return ['*'];
  if (cell === '' || /^nothing$/i.test(cell)) return [];
  const names = [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replace(/\/$/, ''));
  assert.ok(names.length > 0, `${DOC_NAME}: cannot read "${cell}" (write \`layer\` names, "everything" or "nothing")`);
  return names;
}

/** The rules of the table under "## Layers" in the architecture document. */
function readLayerTable(markdown: string): LayerRule[] {
  const section = /^## Layers\s*$([\s\S]*?)(?=^## )/m.exec(markdown)?.[1];
  assert.ok(section, 'docs/ARCHITECTURE.md has no "## Layers" section');
  const rows = section.split('\n').filter((l) => l.trim().startsWith('|'));
  assert.ok(rows.length > 2, `${DOC_NAME}: no table found`);
  const header = cells(rows[0]!).map((h) => h.toLowerCase());
  const col = (name: string): number => {
    const i = header.indexOf(name);
    assert.ok(i >= 0, `${DOC_NAME}: the header needs a "${name}" column (has: ${header.join(', ')})`);
    return i;
  };
  const [layerCol, importsCol, mayCol] = [col('layer'), col('imports'), col('may also import')];
  return rows.slice(2).map((row) => {
    const c = cells(row);
    const layers = layerNames(c[layerCol] ?? '');
    assert.equal(layers.length, 1, `${DOC_NAME}: one layer per row, got "${c[layerCol]}"`);
    const claimed = layerNames(c[importsCol] ?? '');
    const optional = layerNames(c[mayCol] ?? '');
    return { layer: layers[0]!, claimed: new Set(claimed), allowed: new Set([...claimed, ...optional]) };
  });
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The layer of a file under src/: its top folder, or the file itself at the top. */
function layerOf(file: string): string {
  return path.relative(SRC, file).split(path.sep)[0]!;
}

/** Relative module specifiers of static, dynamic and re-export imports (`import type` too). */
function importedSpecifiers(text: string): string[] {
  const re = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;
  return [...text.matchAll(re)].map((m) => m[1]!);
}

describe('architecture: imports follow the Layers table of docs/ARCHITECTURE.md', function () {
  const rules = readLayerTable(readFileSync(DOC, 'utf8'));
  const byLayer = new Map(rules.map((r) => [r.layer, r]));
  /** Files at the top of src/ that may import nothing are leaves: every layer may use them. */
  const leaves = new Set(rules.filter((r) => r.layer.endsWith('.ts') && r.allowed.size === 0).map((r) => r.layer));
  const files = walk(SRC);

  it('the table is read: layers, leaves, and no layer twice', function () {
    assert.ok(rules.length >= 10, `${DOC_NAME}: only ${rules.length} rows read`);
    assert.ok(leaves.size > 0, `${DOC_NAME}: no leaf (a top-level file whose row allows nothing)`);
    const twice = rules.map((r) => r.layer).filter((l, i, all) => all.indexOf(l) !== i);
    assert.deepEqual(twice, [], `${DOC_NAME}: layers listed twice: ${twice.join(', ')}`);
  });

  it('every part of src/ has a row, and every row is a part of src/', function () {
    const parts = readdirSync(SRC).filter((f) => statSync(path.join(SRC, f)).isDirectory() || f.endsWith('.ts'));
    const missing = parts.filter((p) => !byLayer.has(p));
    assert.deepEqual(missing, [], `src/ has ${missing.join(', ')} but ${DOC_NAME} has no row for it: add one saying what it may import`);
    const gone = rules.map((r) => r.layer).filter((l) => !existsSync(path.join(SRC, l)));
    assert.deepEqual(gone, [], `${DOC_NAME} lists ${gone.join(', ')}, which src/ no longer has: remove the row`);
  });

  it('allowances name layers of the table', function () {
    for (const r of rules) {
      for (const to of r.allowed) {
        if (to === '*') continue;
        assert.ok(byLayer.has(to), `${DOC_NAME}: ${r.layer} may import "${to}", which is not a layer of the table`);
        assert.ok(!leaves.has(to), `${DOC_NAME}: ${r.layer} lists the leaf ${to}; every layer may import the leaves`);
      }
    }
  });

  it('finds the source files', function () {
    assert.ok(files.length > 30);
  });

  /** The layers a file imports (outside its own), with the specifier that does it. */
  const importsOf = (file: string): { spec: string; to: string }[] =>
    importedSpecifiers(readFileSync(file, 'utf8')).flatMap((spec) => {
      const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'));
      if (!target.startsWith(SRC + path.sep)) return [];
      const to = layerOf(target);
      return to === layerOf(file) || leaves.has(to) ? [] : [{ spec, to }];
    });

  for (const file of files) {
    it(path.relative(repoRoot, file), function () {
      const from = layerOf(file);
      const rule = byLayer.get(from);
      assert.ok(rule, `${from} is not in ${DOC_NAME}`);
      if (rule.allowed.has('*')) return;
      for (const { spec, to } of importsOf(file)) {
        assert.ok(
          rule.allowed.has(to),
          `${path.relative(repoRoot, file)} imports ${spec}: ${from} must not import ${to} ` +
            `(allowed: ${[...rule.allowed].join(', ') || 'only itself and the leaves'}; ${DOC_NAME}). ` +
            'Move the code to a layer that may use it, or add the direction to the table with its reason.',
        );
      }
    });
  }

  it('no stale claim: each "imports" entry is used by a file of that layer', function () {
    const used = new Map<string, Set<string>>();
    for (const file of files) for (const { to } of importsOf(file)) used.set(layerOf(file), (used.get(layerOf(file)) ?? new Set()).add(to));
    const stale = rules.flatMap((r) => [...r.claimed].filter((to) => to !== '*' && !used.get(r.layer)?.has(to)).map((to) => `${r.layer} -> ${to}`));
    assert.deepEqual(
      stale, [],
      `${DOC_NAME} claims ${stale.join(', ')}, but no file makes that import: remove the entry, ` +
        'or move it to "may also import" if the direction should stay allowed',
    );
  });

  it('reads static, type-only, re-export and dynamic imports', function () {
    const text = [
      "import { a } from './a.js';", "import type { B } from '../b/b.js';", "export * from './c.js';",
      "import './d.js';", "const e = await import('../e.js');", "type F = typeof import('./f.js');", "import x from 'node:fs';",
    ].join('\n');
    assert.deepEqual(importedSpecifiers(text), ['./a.js', '../b/b.js', './c.js', './d.js', '../e.js', './f.js']);
  });

  it('refuses a table without its columns, and reads "everything" and "nothing"', function () {
    assert.throws(() => readLayerTable('## Layers\n\n| layer | imports |\n|---|---|\n| `a` | `b` |\n\n## Next\n'), /"may also import" column/);
    const read = readLayerTable('## Layers\n\n| layer | imports | may also import | why |\n|---|---|---|---|\n| `a/` | everything | | x |\n| `b` | nothing | `a` | y |\n\n## Next\n');
    assert.deepEqual(read.map((r) => [r.layer, [...r.claimed], [...r.allowed]]), [['a', ['*'], ['*']], ['b', [], ['a']]]);
  });
});
