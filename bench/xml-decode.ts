// The XML decoder's one-scan fast path (src/codec/xml-scan.ts) against the library path it stands
// in for (fast-xml-parser validate + parse), on the messages a phone sends most: a refresh's
// answer of N Status + N MapItem, and a slow sync's 100 Adds. CPU µs per message, one core, and
// the ratio from the same run. Run: npx tsx bench/xml-decode.ts [N]
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { el, type SmlElement } from '../src/codec/tree.js';
import { decodeWithLibrary, decodeXml, encodeXml } from '../src/codec/xml.js';
import { cpuMicrosPerCall } from './cpu.js';
import { add100Message } from './wbxml.js';

/** A client's message confirming N server Adds: N Status and one Map of N MapItems. */
export function statusMapMessage(n: number): SmlElement {
  const statuses = Array.from({ length: n }, (_, i) =>
    el('Status', [
      el('CmdID', [String(i + 2)]), el('MsgRef', ['3']), el('CmdRef', [String(i + 3)]), el('Cmd', ['Add']),
      el('TargetRef', ['./contacts']), el('SourceRef', [`srv-${i}-6f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f.vcf`]), el('Data', ['201']),
    ]),
  );
  const items = Array.from({ length: n }, (_, i) =>
    el('MapItem', [el('Target', [el('LocURI', [`srv-${i}-6f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f.vcf`])]), el('Source', [el('LocURI', [String(1000 + i)])])]),
  );
  return el('SyncML', [
    el('SyncHdr', [
      el('VerDTD', ['1.2']), el('VerProto', ['SyncML/1.2']), el('SessionID', ['42']), el('MsgID', ['4']),
      el('Target', [el('LocURI', ['http://127.0.0.1:8080/syncml'])]), el('Source', [el('LocURI', ['IMEI:356938035643809'])]),
    ]),
    el('SyncBody', [
      el('Status', [el('CmdID', ['1']), el('MsgRef', ['3']), el('CmdRef', ['0']), el('Cmd', ['SyncHdr']), el('TargetRef', ['IMEI:356938035643809']), el('SourceRef', ['http://127.0.0.1:8080/syncml']), el('Data', ['200'])]),
      ...statuses,
      el('Map', [el('CmdID', [String(n + 2)]), el('Target', [el('LocURI', ['./addressbook'])]), el('Source', [el('LocURI', ['./contacts'])]), ...items]),
      el('Final'),
    ]),
  ], 'SYNCML:SYNCML1.2');
}

export function benchXmlDecode(n = 400): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const [name, tree] of [[`status+map ${n}`, statusMapMessage(n)], ['add100', add100Message()]] as const) {
    const text = encodeXml(tree);
    const scan = cpuMicrosPerCall(() => decodeXml(text));
    const library = cpuMicrosPerCall(() => decodeWithLibrary(text, 64));
    out[`xml.${name}.bytes`] = text.length;
    out[`xml.${name}.decode_us (one scan)`] = Math.round(scan);
    out[`xml.${name}.decode_us (library path)`] = Math.round(library);
    out[`ratio ${name} library : one scan`] = `${Math.round((library / scan) * 10) / 10} : 1`;
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  console.log(benchXmlDecode(Number(process.argv[2]) || 400));
}
