// vCard conversion throughput on one core: contacts/s for 2.1 -> 3.0 (device to server) and
// 3.0 -> 2.1 (server to device) with typical phone-book entries (QP names, 4 TEL, ADR, NOTE).
// Run: npx tsx bench/convert-vcard.ts
import { pathToFileURL } from 'node:url';
import { convertContact } from '../src/convert/contacts.js';

function qp(s: string): string {
  return [...Buffer.from(s, 'utf8')].map((b) => (b >= 0x21 && b <= 0x7e && b !== 0x3d ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

/** A Sony Ericsson / Nokia style 2.1 contact, about 600 bytes. */
function contact21(i: number): Uint8Array {
  const lines = [
    'BEGIN:VCARD',
    'VERSION:2.1',
    `N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:${qp(`Müller${i}`)};${qp('Jörg')};;;`,
    `FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:${qp(`Jörg Müller${i}`)}`,
    `TEL;CELL;PREF:+49170${String(i).padStart(7, '0')}`,
    `TEL;HOME;VOICE:+4930${String(i).padStart(7, '0')}`,
    `TEL;WORK:+4940${String(i).padStart(7, '0')}`,
    `TEL;FAX:+4940${String(i + 1).padStart(7, '0')}`,
    `EMAIL;INTERNET;PREF:joerg.mueller${i}@example.com`,
    `ADR;HOME;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:;;${qp('Hauptstraße 1')};Berlin;;10115;${qp('Deutschland')}`,
    'ORG:Example GmbH;Vertrieb',
    'TITLE:Sales Manager',
    `NOTE;ENCODING=QUOTED-PRINTABLE:Line one=0D=0ALine two, with a comma and some more text so that it needs a=`,
    ' soft break',
    'BDAY:19700415',
    `X-IRMC-LUID:${String(i).padStart(12, '0')}`,
    'END:VCARD',
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

/**
 * Contacts per CPU-second of this thread (process.cpuUsage), so that other load on a shared
 * machine does not count against the converter; wall-clock figures would.
 */
function rate(inputs: Array<string | Uint8Array>, to: 'vcard21' | 'vcard30', minMs: number): number {
  let n = 0;
  const c0 = process.cpuUsage();
  let cpuMs = 0;
  while (cpuMs < minMs) {
    for (const x of inputs) convertContact(x, to);
    n += inputs.length;
    const c = process.cpuUsage(c0);
    cpuMs = (c.user + c.system) / 1000;
  }
  return Math.round((n / cpuMs) * 1000);
}

/** Contacts per second each way (single thread: this process's one event loop). */
export async function benchVcard(): Promise<Record<string, number>> {
  const v21 = Array.from({ length: 1000 }, (_, i) => contact21(i));
  const v30 = v21.map((c) => convertContact(c, 'vcard30'));
  rate(v21.slice(0, 200), 'vcard30', 200); // warm-up (JIT)
  rate(v30.slice(0, 200), 'vcard21', 200);
  return {
    'vcard 2.1->3.0 contacts/s': rate(v21, 'vcard30', 1500),
    'vcard 3.0->2.1 contacts/s': rate(v30, 'vcard21', 1500),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await benchVcard();
  for (const [k, v] of Object.entries(r)) console.log(`${k}: ${v}`);
}
