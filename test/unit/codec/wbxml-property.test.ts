// Property tests for the WBXML codec: random SyncML-like trees round-trip, and random or
// mutated bytes (real captures with bytes flipped, inserted, deleted) only ever produce a
// tree or GatewayError('BAD_MESSAGE'), quickly.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { GatewayError } from '../../../src/errors.js';
import type { SmlElement, SmlNode } from '../../../src/codec/tree.js';
import { decodeWbxml, encodeWbxml } from '../../../src/codec/wbxml/index.js';
import { SYNCML_PAGE0, METINF_PAGE, DEVINF_PAGE_12 } from '../../../src/codec/wbxml/code-pages.js';
import { corpusWbxmlFiles } from './wbxml-helpers.js';
import { requireShared } from '../../support/shared.js';

const names = (t: readonly (string | undefined)[], skip: string[] = []): string[] =>
  t.filter((n): n is string => n !== undefined && !skip.includes(n));
const SYNCML = names(SYNCML_PAGE0, ['SyncML', 'Meta']);
const METINF = names(METINF_PAGE);
// 0x1C is Size or MaxSize depending on the DevInf version: generate DevInf 1.2 only.
const DEVINF = names(DEVINF_PAGE_12, ['DevInf', 'VerDTD']);

/** fc.record builds null-prototype objects; deepStrictEqual compares prototypes. */
const rec = <T extends object>(r: fc.Arbitrary<T>): fc.Arbitrary<T> => r.map((o) => ({ ...o }));

const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 });

const metinfEl: fc.Arbitrary<SmlElement> = fc.oneof(
  rec(fc.record({ name: fc.constantFrom(...METINF), ns: fc.constant('syncml:metinf'), children: fc.array(text, { maxLength: 1 }) })),
  fc
    .tuple(fc.option(text, { nil: undefined }), text)
    .map(([last, next]) => ({
      name: 'Anchor',
      ns: 'syncml:metinf',
      children: [...(last ? [{ name: 'Last', children: [last] }] : []), { name: 'Next', children: [next] }],
    })),
);
const meta = fc.array(metinfEl, { minLength: 1, maxLength: 3 }).map((children): SmlElement => ({ name: 'Meta', children }));

const devInfChild: fc.Arbitrary<SmlElement> = fc.letrec<{ d: SmlElement }>((tie) => ({
  d: rec(
    fc.record({
      name: fc.constantFrom(...DEVINF),
      children: fc.oneof({ depthSize: 'small' }, fc.array(text, { maxLength: 1 }), fc.array(tie('d'), { maxLength: 3 })),
    }),
  ),
})).d;
const devInf = fc
  .array(devInfChild, { maxLength: 4 })
  .map((c): SmlElement => ({ name: 'DevInf', ns: 'syncml:devinf', children: [{ name: 'VerDTD', children: ['1.2'] }, ...c] }));

/** SyncML elements: text, element children, a Meta block, or an Item with Data (text or DevInf). */
const syncEl: fc.Arbitrary<SmlElement> = fc.letrec<{ e: SmlElement }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small' },
    rec(fc.record({ name: fc.constantFrom(...SYNCML), children: fc.array(text, { maxLength: 1 }) })),
    rec(fc.record({ name: fc.constantFrom(...SYNCML), children: fc.array(tie('e'), { maxLength: 4 }) })),
    meta,
    fc
      .oneof(text.map((t): SmlNode[] => [t]), devInf.map((d): SmlNode[] => [d]))
      .map((data): SmlElement => ({ name: 'Item', children: [{ name: 'Data', children: data }] })),
  ),
})).e;

const message = fc
  .tuple(fc.constantFrom('1.0', '1.1', '1.2'), fc.array(syncEl, { maxLength: 5 }))
  .map(([v, body]): SmlElement => ({ name: 'SyncML', ns: `SYNCML:SYNCML${v}`, children: body }));

const utf8 = new TextDecoder();
/** Opaque read as UTF-8 and merged into neighbouring text: what textOf() sees. */
function asText(el: SmlElement): SmlElement {
  const children: SmlNode[] = [];
  for (const c of el.children) {
    const n: SmlNode = typeof c === 'string' ? c : 'opaque' in c ? utf8.decode(c.opaque) : asText(c);
    const last = children[children.length - 1];
    if (typeof n === 'string' && typeof last === 'string') children[children.length - 1] = last + n;
    else children.push(n);
  }
  return el.ns === undefined ? { name: el.name, children } : { name: el.name, ns: el.ns, children };
}

function decodeOrBad(bytes: Uint8Array): void {
  const t0 = performance.now();
  try {
    decodeWbxml(bytes);
  } catch (err) {
    if (!(err instanceof GatewayError) || err.code !== 'BAD_MESSAGE') throw err;
  }
  const ms = performance.now() - t0;
  assert.ok(ms < 500, `decode took ${ms.toFixed(0)} ms for ${bytes.length} bytes`);
}

describe('WBXML codec properties', () => {
  it('random SyncML-like trees survive encode -> decode', () => {
    fc.assert(
      fc.property(message, fc.constantFrom(1, 2, 3), (root, version) => {
        const doc = decodeWbxml(encodeWbxml(root, { version }));
        assert.deepEqual(asText(doc.root), root);
        // and the decoded tree (with its opaque nodes) is a fixed point
        assert.deepEqual(decodeWbxml(encodeWbxml(doc.root, { version, publicId: doc.publicId })).root, doc.root);
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes give a tree or BAD_MESSAGE', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => decodeOrBad(b)), { numRuns: 3000 });
  });

  it('random bodies behind a valid header give a tree or BAD_MESSAGE', () => {
    const header = [0x02, 0xa4, 0x01, 0x6a, 0x00, 0x6d];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => decodeOrBad(new Uint8Array([...header, ...b]))),
      { numRuns: 3000 },
    );
  });

  it('mutated real captures give a tree or BAD_MESSAGE', function () {
    requireShared(this);
    const samples = corpusWbxmlFiles().map((f) => new Uint8Array(readFileSync(f)));
    assert.ok(samples.length > 10);
    const mutation = fc.tuple(fc.constantFrom('set', 'insert', 'delete', 'truncate'), fc.nat(), fc.integer({ min: 0, max: 255 }));
    fc.assert(
      fc.property(fc.nat(samples.length - 1), fc.array(mutation, { minLength: 1, maxLength: 6 }), (i, muts) => {
        const b = [...samples[i]];
        for (const [kind, at, v] of muts) {
          const p = b.length === 0 ? 0 : at % b.length;
          if (kind === 'set') b[p] = v;
          else if (kind === 'insert') b.splice(p, 0, v);
          else if (kind === 'delete') b.splice(p, 1);
          else b.length = p;
        }
        decodeOrBad(new Uint8Array(b));
      }),
      { numRuns: 1500 },
    );
  });
});
