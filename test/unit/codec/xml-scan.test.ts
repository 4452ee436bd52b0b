// The XML fast path (xml-scan.ts) must give exactly the library path's tree wherever it answers,
// and must never answer where the library path refuses the text. Real SyncML from ../shared
// (phones' captured sessions, SyncEvolution's traffic), then damaged copies, then fast-check.
import assert from 'node:assert/strict';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { decodeUtf8Lossless } from '../../../src/codec/lossless-utf8.js';
import { scanXml } from '../../../src/codec/xml-scan.js';
import { decodeWithLibrary } from '../../../src/codec/xml.js';
import type { SmlElement } from '../../../src/codec/tree.js';
import { requireShared, SHARED_DIR } from '../../support/shared.js';

const DEPTH = 64;

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir).sort()) {
    const p = path.join(dir, e);
    if (lstatSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.xml')) out.push(p);
  }
  return out;
}

/** The library path's tree, or its error. */
function library(text: string, maxDepth = DEPTH): SmlElement | Error {
  try {
    return decodeWithLibrary(text, maxDepth);
  } catch (err) {
    return err as Error;
  }
}

/** Fast path and library agree: same tree where the scan answers, no answer where the library refuses. */
function agree(text: string, maxDepth = DEPTH): 'scanned' | 'library' {
  const scanned = scanXml(text, maxDepth);
  if (scanned === undefined) return 'library';
  const reference = library(text, maxDepth);
  assert.ok(!(reference instanceof Error), `the scan accepted what the library refuses (${String(reference)}): ${JSON.stringify(text.slice(0, 200))}`);
  assert.deepEqual(scanned, reference, JSON.stringify(text.slice(0, 200)));
  return 'scanned';
}

describe('XML fast path: the same tree as the library path', function () {
  let files: string[] = [];
  before(function () {
    requireShared(this);
    files = [...walk(path.join(SHARED_DIR, 'fixtures')), ...walk(path.join(SHARED_DIR, 'corpus'))].filter((f) => /<SyncML/i.test(readFileSync(f, 'latin1')));
  });

  it('every SyncML XML file in ../shared; the plain ones all take the fast path', function () {
    assert.ok(files.length > 100, `SyncML files: ${files.length}`);
    let scanned = 0;
    for (const f of files) if (agree(decodeUtf8Lossless(readFileSync(f))) === 'scanned') scanned++;
    // The rest carry comments, DOCTYPEs, character references or text the library refuses.
    assert.ok(scanned > files.length * 0.7, `fast path taken for ${scanned} of ${files.length}`);
  });

  it('damaged copies of them: a character dropped, doubled or replaced anywhere (fast-check)', function () {
    const texts = files.map((f) => decodeUtf8Lossless(readFileSync(f))).filter((t) => t.length < 20_000);
    const damage = fc.record({
      file: fc.nat({ max: texts.length - 1 }),
      at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
      how: fc.constantFrom('drop', 'double', '<', '>', '&', '/', '"', '=', ' ', ']', 'x', '\r', ':'),
    });
    fc.assert(
      fc.property(damage, ({ file, at, how }) => {
        const t = texts[file]!;
        const i = Math.floor(at * t.length);
        const changed = how === 'drop' ? t.slice(0, i) + t.slice(i + 1) : how === 'double' ? t.slice(0, i + 1) + t.slice(i) : t.slice(0, i) + how + t.slice(i + 1);
        agree(changed);
      }),
      { numRuns: 4000 },
    );
  });

  it('any document built from XML pieces, well-formed or not (fast-check)', function () {
    const piece = fc.constantFrom(
      '<A>', '</A>', '<B>', '</B>', '<a:A>', '</a:A>', '<C/>', '<D />', '<A xmlns="syncml:metinf">', "<B xmlns='x' y=\"1\">", '<A xmlns="1" xmlns="2">',
      '<A x=1>', '<A\n>', '</A >', '</ A>', '<?xml version="1.0"?>', '<?pi x?>', '<!-- c -->', '<!DOCTYPE A>', '<!DOCTYPE SyncML PUBLIC "-//SYNCML//DTD SyncML 1.2//EN" "http://www.openmobilealliance.org/tech/DTD/OMA-TS-SyncML_RepPro_DTD-V1_2.dtd">',
      "<!DOCTYPE A SYSTEM 'a.dtd'>", '<!DOCTYPE A [ ]>', '<?xml version="1.0" encoding="UTF-8"?>', '<![CDATA[', ']]>',
      '<![CDATA[x]]>', '<![CDATA[]]>', 'text', ' ', '\n', '\r\n', '\r', '\t', '&lt;', '&amp;', '&quot;', '&apos;', '&gt;', '&amp;lt;', '&#13;',
      '&#x41;', '&nbsp;', '&', ';', '<', '>', '"', "'", '=', '\u00a0', '\u2028', '\uDC80', 'é', '\u0000', '<1A>', '<_A>', '<A.b-c>', '</A.b-c>',
    );
    const doc = fc.array(piece, { minLength: 1, maxLength: 25 }).map((a) => a.join(''));
    let scanned = 0;
    fc.assert(
      fc.property(doc, fc.integer({ min: 1, max: 5 }), (text, depth) => {
        if (agree(text, depth) === 'scanned') scanned++;
      }),
      { numRuns: 30_000 },
    );
    assert.ok(scanned > 100, `documents the scan answered: ${scanned}`);
  });

  it('well-formed documents with random nesting, text and attributes take the fast path (fast-check)', function () {
    const text = fc.string({ unit: fc.constantFrom('a', ' ', '\n', '\r\n', '&amp;', '&lt;', '>', 'é', '\u00a0', '"', "'"), maxLength: 6 });
    type Node = { name: string; ns?: string; children: Array<Node | string> };
    const leaf = fc.oneof(text, text.map((t) => `<![CDATA[${t.replace(/]]>/g, '')}]]>`));
    const treeOf = (depth: number): fc.Arbitrary<Node> =>
      fc.record(
        {
          name: fc.constantFrom('SyncML', 'Status', 'a:Item', 'Data'),
          ns: fc.option(fc.constantFrom('syncml:metinf', 'SYNCML:SYNCML1.2'), { nil: undefined }),
          children: fc.array(depth > 0 ? fc.oneof(treeOf(depth - 1), leaf) : leaf, { maxLength: 4 }),
        },
        { requiredKeys: ['name', 'children'] },
      );
    const tree = treeOf(4);
    const write = (n: Node | string): string =>
      typeof n === 'string' ? n : `<${n.name}${n.ns ? ` xmlns="${n.ns}"` : ''}${n.children.length ? `>${n.children.map(write).join('')}</${n.name}>` : '/>'}`;
    fc.assert(
      fc.property(tree, (t) => {
        assert.equal(agree(`<?xml version="1.0" encoding="UTF-8"?>\n${write(t)}\n`), 'scanned');
      }),
      { numRuns: 3000 },
    );
  });
});
