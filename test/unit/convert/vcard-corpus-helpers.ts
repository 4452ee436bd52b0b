// Helpers for the vCard corpus tests: which corpus files hold vCards, and a semantic form of a
// contact (order-, case- and escaping-insensitive) to compare conversions with references.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { unescapeText } from '../../../src/convert/versit/index.js';
import type { Contact, ContactProperty } from '../../../src/convert/contacts.js';
import { SHARED_DIR } from '../../support/shared.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..', '..');
export const sharedRoot = SHARED_DIR;
export const corpusRoot = path.join(sharedRoot, 'corpus');

function walk(dir: string, out: string[]): string[] {
  for (const e of readdirSync(dir).sort()) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** Every corpus file that is a vCard or a vCard stream (not SyncML messages or patches). */
export function corpusVcardFiles(): string[] {
  return walk(corpusRoot, []).filter((f) => {
    const rel = path.relative(corpusRoot, f);
    if (/\.vcf$/.test(f) || /^kcontacts\/.*ref$/.test(rel)) return /BEGIN:VCARD/i.test(readFileSync(f, 'latin1')) || /Invalid/.test(rel);
    return /^funambol-client-sdk\/pim\/vcard\/.*\.txt$|^funambol-cpp-client-api\/testcases\/LOItemTest\/vcard.*\.txt$/.test(rel);
  });
}

/** Semantic key of one property: name, group-less, sorted types/params, trailing empties cut. */
export function propKey(p: ContactProperty): string {
  let values = p.raw === true ? p.values.map(unescapeText) : p.values;
  values = values.map((v) => v.replace(/\r\n|\r/g, '\n'));
  let end = values.length;
  while (end > 0 && values[end - 1] === '') end--;
  values = values.slice(0, end);
  const types = [...new Set(p.types)].sort().join(',');
  const params = p.params.map((x) => `${x.name}=${x.value.toLowerCase()}`).sort().join(',');
  const kind = p.binary === true ? 'bin' : p.uri === true ? 'uri' : '';
  return `${p.name};${types};${params};${kind}${p.mediaType ?? ''}:${values.join('|')}`;
}

export function semantic(c: Contact): string[] {
  return c.properties.map(propKey).sort();
}

export function diff(a: Contact, b: Contact): { onlyA: string[]; onlyB: string[] } {
  const x = semantic(a);
  const y = semantic(b);
  const onlyA = x.filter((s) => !y.includes(s));
  const onlyB = y.filter((s) => !x.includes(s));
  return { onlyA, onlyB };
}
