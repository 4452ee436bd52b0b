// Costs added by large-object joining and the three-way conflict merge, on their hot paths:
// - XML decode of a message whose item is cut inside a UTF-8 character (lossless slow path)
//   against the same message cut at a character boundary;
// - per contact sent to a phone: the conversion alone, and with the field digests recorded for a
//   later three-way merge. Run: npx tsx bench/chunks.ts
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { decodeXml } from '../src/codec/xml.js';
import { contactsTranslator as tr } from '../src/sync/translators.js';
import { generateContacts21 } from '../test/support/contacts.js';

function msPerCall(fn: () => void, ms = 400): number {
  for (let i = 0; i < 5; i++) fn();
  let calls = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    fn();
    calls++;
  }
  return (performance.now() - t0) / calls;
}

function chunkMessage(data: Uint8Array): Uint8Array {
  const head = '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto><SessionID>1</SessionID>'
    + '<MsgID>1</MsgID><Target><LocURI>s</LocURI></Target><Source><LocURI>d</LocURI></Source></SyncHdr><SyncBody><Sync><CmdID>1</CmdID>'
    + '<Add><CmdID>2</CmdID><Item><Source><LocURI>1</LocURI></Source><Data>';
  return Buffer.concat([Buffer.from(head), data, Buffer.from('</Data><MoreData/></Item></Add></Sync></SyncBody></SyncML>')]);
}

export function benchChunks(): Record<string, number | string> {
  const text = Buffer.from(Array.from({ length: 1000 }, (_, i) => `Zeile ${i}: Grüße, Ελληνικά, 日本語.`).join('\n'));
  let cut = 40_000;
  while ((text[cut]! & 0xc0) !== 0x80) cut++; // inside a character
  let clean = cut;
  while ((text[clean]! & 0xc0) === 0x80) clean++; // at the next character boundary
  const cutMsg = chunkMessage(text.subarray(0, cut));
  const cleanMsg = chunkMessage(text.subarray(0, clean));
  const cutMs = msPerCall(() => decodeXml(cutMsg));
  const cleanMs = msPerCall(() => decodeXml(cleanMsg));

  const fmt = { type: 'text/x-vcard', version: '2.1' };
  const server = generateContacts21(500, 7).map((c) => tr.toServer(c.text, fmt));
  const sendOnly = msPerCall(() => server.forEach((s) => tr.toDevice(s, fmt))) / server.length * 1000;
  const withDigests = msPerCall(() => server.forEach((s) => tr.fieldDigests!(tr.toDevice(s, fmt), fmt))) / server.length * 1000;
  const r = (x: number): number => Math.round(x * 100) / 100;
  return {
    'xml.decode_40KB_chunk_cut_in_char_ms': r(cutMs),
    'xml.decode_40KB_chunk_cut_at_boundary_ms': r(cleanMs),
    'ratio cut in char : at boundary': `${r(cutMs / cleanMs)} : 1`,
    'contact_to_device_us': r(sendOnly),
    'contact_to_device_plus_field_digests_us': r(withDigests),
    'ratio with digests : conversion alone': `${r(withDigests / sendOnly)} : 1`,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) console.log(benchChunks());
