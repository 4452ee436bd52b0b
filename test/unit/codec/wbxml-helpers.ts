// Test helpers for the WBXML codec tests: corpus file lists, wbxml2xml runner, and tree
// normalisation so trees from different decoders can be compared structurally.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser } from 'fast-xml-parser';
import type { SmlElement, SmlNode } from '../../../src/codec/tree.js';
import { SHARED_DIR } from '../../support/shared.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..', '..');
export const sharedDir = SHARED_DIR;
export const WBXML2XML = '/usr/bin/wbxml2xml';

export function findFiles(dir: string, suffix: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = path.join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e.endsWith(suffix)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Every WBXML file of the shared corpus and the SyncEvolution captures. */
export function corpusWbxmlFiles(): string[] {
  return [
    ...findFiles(path.join(sharedDir, 'corpus'), '.wbxml'),
    ...findFiles(path.join(sharedDir, 'fixtures', 'syncevolution'), '.wbxml'),
    // WBXML 1.3 / SyncML 1.2 capture stored under a .bin name (buteo libdatasync).
    ...findFiles(path.join(sharedDir, 'corpus', 'buteo-syncml'), 'basicbasetransport.bin'),
  ];
}

/** A structure-only view: name, optional ns, children; text trimmed with whitespace collapsed. */
export interface Norm {
  name: string;
  ns?: string;
  children: (Norm | string)[];
}

const utf8 = new TextDecoder('utf-8');
const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();

/** Normalises a codec tree: opaque read as UTF-8 (like textOf), adjacent text merged. */
export function normTree(el: SmlElement, keepNs = true): Norm {
  const children: (Norm | string)[] = [];
  let text = '';
  const flush = (): void => {
    const t = squash(text);
    if (t !== '') children.push(t);
    text = '';
  };
  for (const c of el.children as SmlNode[]) {
    if (typeof c === 'string') text += c;
    else if ('opaque' in c) text += utf8.decode(c.opaque);
    else {
      flush();
      children.push(normTree(c, keepNs));
    }
  }
  flush();
  const n: Norm = { name: el.name, children };
  if (keepNs && el.ns !== undefined) n.ns = el.ns;
  return n;
}

type Ordered = Record<string, unknown>;
const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  cdataPropName: '#cdata',
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: false,
});

function orderedName(n: Ordered): string | undefined {
  for (const k of Object.keys(n)) if (k !== ':@' && k !== '#text' && k !== '#cdata' && !k.startsWith('?') && !k.startsWith('!')) return k;
  return undefined;
}

function orderedText(n: Ordered): string | undefined {
  if ('#text' in n) return String(n['#text']);
  if ('#cdata' in n) return (n['#cdata'] as Ordered[]).map((x) => String(x['#text'] ?? '')).join('');
  return undefined;
}

function normOrdered(node: Ordered, keepNs: boolean): Norm {
  const name = orderedName(node)!;
  const children: (Norm | string)[] = [];
  let text = '';
  const flush = (): void => {
    const t = squash(text);
    if (t !== '') children.push(t);
    text = '';
  };
  for (const c of (node[name] as Ordered[]) ?? []) {
    const t = orderedText(c);
    if (t !== undefined) text += t;
    else if (orderedName(c) !== undefined) {
      flush();
      children.push(normOrdered(c, keepNs));
    }
  }
  flush();
  const n: Norm = { name, children };
  const ns = (node[':@'] as Record<string, string> | undefined)?.xmlns;
  if (keepNs && ns !== undefined) n.ns = ns;
  return n;
}

/** Parses XML (e.g. wbxml2xml output) into the normalised view; ns from xmlns attributes. */
export function normXml(xml: string, keepNs = false): Norm {
  const doc = parser.parse(xml) as Ordered[];
  const roots = doc.filter((n) => orderedName(n) !== undefined);
  if (roots.length !== 1) throw new Error(`expected one root, got ${roots.length}`);
  return normOrdered(roots[0], keepNs);
}

export function haveWbxml2xml(): boolean {
  return existsSync(WBXML2XML);
}

/** Runs Debian's wbxml2xml (libwbxml) on bytes and returns its XML output. */
export function wbxml2xml(bytes: Uint8Array): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'wbxml-test-'));
  try {
    const inp = path.join(dir, 'in.wbxml');
    const out = path.join(dir, 'out.xml');
    writeFileSync(inp, bytes);
    execFileSync(WBXML2XML, ['-o', out, inp], { stdio: 'pipe', timeout: 20_000 });
    return readFileSync(out, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function bytesOf(hex: string): Uint8Array {
  const clean = hex.replace(/[^0-9a-f]/gi, '');
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}
