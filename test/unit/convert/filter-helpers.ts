// Helpers for the field filter tests: the DevInf element of a captured SyncML message or DevInf
// document, XML or WBXML.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeXml } from '../../../src/codec/xml.js';
import { decodeWbxml } from '../../../src/codec/wbxml/index.js';
import { isElement } from '../../../src/codec/tree.js';
import type { SmlElement } from '../../../src/codec/tree.js';

export function findDevInf(e: SmlElement): SmlElement | undefined {
  if (e.name === 'DevInf') return e;
  for (const c of e.children) {
    if (!isElement(c)) continue;
    const d = findDevInf(c);
    if (d) return d;
  }
  return undefined;
}

/** The first DevInf element of a SyncML message or DevInf document (XML or WBXML). */
export function devInfOf(file: string): SmlElement {
  const bytes = readFileSync(file);
  const root = file.endsWith('.wbxml') ? decodeWbxml(new Uint8Array(bytes)).root : decodeXml(new Uint8Array(bytes));
  const d = findDevInf(root);
  assert.ok(d, `${file}: no DevInf`);
  return d;
}
