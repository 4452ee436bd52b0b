// Throughput of the WBXML codec: decode/encode MB/s over the real captures and over a
// generated package-3 message with 100 contact Adds (~400-byte vCards). Run: npx tsx bench/wbxml.ts
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { el, type SmlElement } from '../src/codec/tree.js';
import { decodeWbxml, encodeWbxml } from '../src/codec/wbxml/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const sharedDir = path.resolve(process.env['SHARED_DIR'] || path.join(here, '..', '..', 'shared'));

function wbxmlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) out.push(...wbxmlFiles(p));
    else if (e.endsWith('.wbxml')) out.push(p);
  }
  return out;
}

function vcard(i: number): string {
  const n = String(i).padStart(3, '0');
  return [
    'BEGIN:VCARD',
    'VERSION:3.0',
    `UID:bench-contact-${n}-6f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f`,
    `N:Müller-${n};Jürgen;Andreas;Dr.;`,
    `FN:Dr. Jürgen Andreas Müller-${n}`,
    'ORG:Example Widgets GmbH;Research and Development',
    'TITLE:Senior Engineer',
    `TEL;TYPE=WORK,VOICE:+49 30 1234 ${n}0`,
    `TEL;TYPE=CELL:+49 170 555 ${n}1`,
    `EMAIL;TYPE=INTERNET,WORK:juergen.mueller${n}@example.com`,
    `ADR;TYPE=WORK:;;Hauptstraße ${i};Berlin;;10115;Germany`,
    'NOTE:Met at the trade fair; prefers e-mail.',
    'REV:20240101T120000Z',
    'END:VCARD',
    '',
  ].join('\r\n');
}

/** SyncML 1.2 package 3: SyncHdr + Sync with 100 Add commands, as a client slow sync sends. */
export function add100Message(): SmlElement {
  const adds = Array.from({ length: 100 }, (_, i) =>
    el('Add', [
      el('CmdID', [String(i + 2)]),
      el('Meta', [el('Type', ['text/vcard'], 'syncml:metinf')]),
      el('Item', [el('Source', [el('LocURI', [`${i + 1}.vcf`])]), el('Data', [vcard(i)])]),
    ]),
  );
  return el(
    'SyncML',
    [
      el('SyncHdr', [
        el('VerDTD', ['1.2']),
        el('VerProto', ['SyncML/1.2']),
        el('SessionID', ['42']),
        el('MsgID', ['2']),
        el('Target', [el('LocURI', ['http://127.0.0.1:8080/syncml'])]),
        el('Source', [el('LocURI', ['IMEI:356938035643809'])]),
        el('Meta', [el('MaxMsgSize', ['150000'], 'syncml:metinf')]),
      ]),
      el('SyncBody', [
        el('Sync', [
          el('CmdID', ['1']),
          el('Target', [el('LocURI', ['./addressbook'])]),
          el('Source', [el('LocURI', ['./contacts'])]),
          el('NumberOfChanges', ['100']),
          ...adds,
        ]),
        el('Final'),
      ]),
    ],
    'SYNCML:SYNCML1.2',
  );
}

/**
 * MB/s of `fn` over `bytes` per call, after a warm-up, measured for at least `ms`. Uses the
 * process CPU time (one core, single-threaded code) so a busy machine skews it less than wall time.
 */
function rate(bytes: number, fn: () => void, ms = 400): number {
  for (let i = 0; i < 20; i++) fn();
  let calls = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 10; i++) fn();
    calls += 10;
  }
  const c = process.cpuUsage(c0);
  return (bytes * calls) / ((c.user + c.system) / 1e6) / 1e6;
}

const round = (x: number): number => Math.round(x * 10) / 10;

export async function benchWbxml(): Promise<Record<string, number>> {
  const corpus = [...wbxmlFiles(path.join(sharedDir, 'corpus')), ...wbxmlFiles(path.join(sharedDir, 'fixtures'))].map(
    (f) => new Uint8Array(readFileSync(f)),
  );
  const result: Record<string, number> = {};
  if (corpus.length > 0) {
    const total = corpus.reduce((s, b) => s + b.length, 0);
    const docs = corpus.map((b) => decodeWbxml(b));
    result['wbxml.corpus.files'] = corpus.length;
    result['wbxml.corpus.bytes'] = total;
    result['wbxml.corpus.decode_MBps'] = round(rate(total, () => corpus.forEach((b) => decodeWbxml(b))));
    result['wbxml.corpus.encode_MBps'] = round(
      rate(total, () => docs.forEach((d) => encodeWbxml(d.root, { publicId: d.publicId, version: d.version }))),
    );
  }
  const msg = add100Message();
  const bytes = encodeWbxml(msg);
  result['wbxml.add100.bytes'] = bytes.length;
  result['wbxml.add100.decode_MBps'] = round(rate(bytes.length, () => decodeWbxml(bytes)));
  result['wbxml.add100.encode_MBps'] = round(rate(bytes.length, () => encodeWbxml(msg)));
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) decodeWbxml(bytes);
  result['wbxml.add100.decode_ms'] = round((performance.now() - t0) / 100);
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  for (const [k, v] of Object.entries(await benchWbxml())) console.log(`${k.padEnd(30)} ${v}`);
}
