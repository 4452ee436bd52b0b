// The translator work of one slow-sync create, per contact, the way DatastoreSync.#applyItem
// and #createFromDevice call it: toServer, fieldDigests, fingerprints (matching), mergeFromDevice
// (new item), hash. And of one refresh-from-server item: hash + toDevice (prepareOutgoing, one
// parse), fieldDigests of the item sent.
// `--events`: the same for vCalendar 1.0 events (events translator). Names say "contact" either way.
// `--photos`: every contact with a 24 KB JPEG photo, as address books synced from smartphones hold.
// CPU time, one core. Run: npx tsx bench/translator-path.ts [N] [--events | --photos]
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { contactsTranslator } from '../src/sync/translators.js';
import { eventsTranslator } from '../src/sync/calendar-translators.js';
import type { DeviceFormat, ItemTranslator } from '../src/sync/types.js';
import { prepareOutgoing } from '../src/sync/item-helpers.js';
import { generateEvents10 } from './e2e-phases.js';
import { generateContacts21, withLargePhotos } from '../test/support/contacts.js';

const VCARD21 = { type: 'text/x-vcard', version: '2.1' };
const VCAL10 = { type: 'text/x-vcalendar', version: '1.0' };

function cpuMsPer(n: number, fn: () => void): number {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return Math.round(((c.user + c.system) / 1000 / n) * 1000) / 1000;
}

export function benchTranslatorPath(n = 1000, events = false, photos = false): Record<string, number> {
  const tr: ItemTranslator = events ? eventsTranslator : contactsTranslator;
  const V21: DeviceFormat = events ? VCAL10 : VCARD21;
  const device = events ? generateEvents10(n).map((e) => e.text) : photos ? withLargePhotos(generateContacts21(n, 5), 24_000).map((c) => c.text) : generateContacts21(n, 5).map((c) => c.text);
  const server: string[] = [];
  const slow = (): void => {
    server.length = 0;
    for (const d of device) {
      const s = tr.toServer(d, V21);
      tr.fieldDigests?.(d, V21);
      tr.fingerprints(s);
      const merged = tr.mergeFromDevice(undefined, s);
      tr.hash(merged);
      server.push(merged);
    }
  };
  slow(); // warm up (JIT)
  const slowMs = cpuMsPer(n, slow);
  const refresh = (): void => {
    for (const s of server) {
      // As ServerChanges.takeOutgoing: one parse for the hash and the device form.
      const d = prepareOutgoing(tr, s).toDevice(V21);
      tr.fieldDigests?.(d, V21);
    }
  };
  refresh();
  const refreshMs = cpuMsPer(n, refresh);
  // Each call on its own (same inputs), to see which one dominates.
  const devOut = server.map((x) => tr.toDevice(x, V21));
  const each: Record<string, number> = {};
  const calls: Array<[string, (i: number) => unknown]> = [
    ['toServer', (i) => tr.toServer(device[i]!, V21)],
    ['fieldDigests(device item)', (i) => tr.fieldDigests?.(device[i]!, V21)],
    ['fingerprints', (i) => tr.fingerprints(server[i]!)],
    ['mergeFromDevice(new)', (i) => tr.mergeFromDevice(undefined, server[i]!)],
    ['hash', (i) => tr.hash(server[i]!)],
    ['toDevice', (i) => tr.toDevice(server[i]!, V21)],
    ['prepareOutgoing + toDevice (one parse)', (i) => prepareOutgoing(tr, server[i]!).toDevice(V21)],
    ['fieldDigests(sent item)', (i) => tr.fieldDigests?.(devOut[i]!, V21)],
  ];
  for (const [name, f] of calls) {
    const all = (): void => { for (let i = 0; i < n; i++) f(i); };
    all();
    each[`  ${name}.cpu_ms_per_contact`] = cpuMsPer(n, all);
  }
  return { 'slow_sync_create.cpu_ms_per_contact': slowMs, 'refresh_item.cpu_ms_per_contact': refreshMs, ...each };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  console.log(benchTranslatorPath(Number(process.argv[2]) || 1000, process.argv.includes('--events'), process.argv.includes('--photos')));
}
