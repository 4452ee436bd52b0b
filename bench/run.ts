// `npm run bench`: every benchmark of the project in one run, with ratios computed inside the run
// (WBXML vs XML on the same messages, sync-collection vs full listing, SQLite vs Redis, XML vs
// WBXML end to end). Not a test: nothing here passes or fails on a number.
// Options: --skip-dav, --skip-e2e, --skip-hostile, --contacts N (end-to-end size, default 100),
// --phases N (end-to-end phases against the PUT floor, default 1000; 0 skips them),
// --load-devices N (simulated phones of the load benchmark, default 20; 0 skips it; the full
// 200-phone run is `npm run bench:load`).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeXml, encodeXml } from '../src/codec/xml.js';
import { decodeWbxml, encodeWbxml } from '../src/codec/wbxml/index.js';
import { add100Message, benchWbxml } from './wbxml.js';
import { benchXmlDecode } from './xml-decode.js';
import { cpuMicrosPerCall } from './cpu.js';
import { benchVcard } from './convert-vcard.js';
import { benchVcal } from './convert-vcal.js';
import { benchState } from './state.js';

const args = process.argv.slice(2);
const has = (flag: string): boolean => args.includes(flag);
const contacts = Number(args[args.indexOf('--contacts') + 1]) || 100;
const phasesN = args.includes('--phases') ? Number(args[args.indexOf('--phases') + 1]) : 1000;
const loadDevices = args.includes('--load-devices') ? Number(args[args.indexOf('--load-devices') + 1]) : 20;
const round = (x: number): number => Math.round(x * 10) / 10;

/** MB per CPU second: bytes per call over µs per call. */
function rate(bytes: number, fn: () => void, ms = 400): number {
  return bytes / cpuMicrosPerCall(fn, ms);
}

function section(title: string, rows: Record<string, number | string>): void {
  console.log(`\n## ${title}`);
  for (const [k, v] of Object.entries(rows)) console.log(`  ${k.padEnd(44)} ${v}`);
}

async function codecs(): Promise<void> {
  const w = await benchWbxml();
  // The XML codec on the same messages: the WBXML captures re-encoded as XML, and the 100-contact package.
  const shared = path.resolve(process.env['SHARED_DIR'] || path.join(import.meta.dirname, '..', '..', 'shared'));
  const corpusXml: Uint8Array[] = [];
  const { readdirSync, statSync, existsSync } = await import('node:fs');
  const walk = (d: string): string[] => (existsSync(d) ? readdirSync(d).flatMap((f) => {
    const p = path.join(d, f);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.wbxml') ? [p] : [];
  }) : []);
  for (const f of [...walk(path.join(shared, 'corpus')), ...walk(path.join(shared, 'fixtures'))]) {
    corpusXml.push(new TextEncoder().encode(encodeXml(decodeWbxml(new Uint8Array(readFileSync(f))).root)));
  }
  const xmlTotal = corpusXml.reduce((s, b) => s + b.length, 0);
  const xmlTrees = corpusXml.map((b) => decodeXml(b));
  const xDec = rate(xmlTotal, () => corpusXml.forEach((b) => decodeXml(b)));
  const xEnc = rate(xmlTotal, () => xmlTrees.forEach((t) => encodeXml(t)));
  const add100 = add100Message();
  const add100Xml = new TextEncoder().encode(encodeXml(add100));
  const add100Wbxml = encodeWbxml(add100);
  const aDec = rate(add100Xml.length, () => decodeXml(add100Xml));
  const aEnc = rate(add100Xml.length, () => encodeXml(add100));
  // Messages per second is the fair comparison across encodings (WBXML is ~3x smaller).
  const wbxmlMsgs = (w['wbxml.add100.decode_MBps'] ?? 0) * 1e6 / add100Wbxml.length;
  const xmlMsgs = aDec * 1e6 / add100Xml.length;
  section('SyncML codecs (MB/s, one core, CPU time)', {
    ...w,
    'xml.corpus.bytes (same messages as XML)': xmlTotal,
    'xml.corpus.decode_MBps': round(xDec),
    'xml.corpus.encode_MBps': round(xEnc),
    'xml.add100.bytes': add100Xml.length,
    'xml.add100.decode_MBps': round(aDec),
    'xml.add100.encode_MBps': round(aEnc),
    'ratio add100 decode msgs/s WBXML : XML': `${round(wbxmlMsgs / xmlMsgs)} : 1`,
  });
  section('XML decode: one-scan fast path vs the library path (CPU µs per message)', benchXmlDecode(400));
}

async function converters(): Promise<void> {
  section('vCard conversion (contacts/s, one core)', await benchVcard());
  section('vCalendar conversion (events/s, one core)', await benchVcal());
}

async function translatorPath(): Promise<void> {
  const { benchTranslatorPath } = await import('./translator-path.js');
  section('Translator work per contact (slow-sync create, refresh item; CPU, one core)', benchTranslatorPath());
}

async function davWrite(): Promise<void> {
  const { benchDavWrite } = await import('./dav-write.js');
  section('DAV write path (Radicale, 300 creates; CPU of this process, wall against the bare-PUT floor)', await benchDavWrite(300));
}

async function idleWake(): Promise<void> {
  const { benchIdleWake } = await import('./idle-wake.js');
  section('The same HTTP work after idle gaps (node:http PUTs answered at once vs after 15 ms: CPU per PUT)', await benchIdleWake(1000, 15, false));
}

async function phases(): Promise<void> {
  const { benchE2ePhases } = await import('./e2e-phases.js');
  section(`End-to-end phases, ${phasesN} contacts (SyncEvolution -> gateway -> Radicale; now vs before; floor = sequential PUTs)`, await benchE2ePhases(phasesN));
}

async function chunks(): Promise<void> {
  const { benchChunks } = await import('./chunks.js');
  section('Large-object chunks and conflict bookkeeping (one core, wall time)', benchChunks());
}

async function state(): Promise<void> {
  section('State stores (5,000-item slow sync)', await benchState());
}

async function slowSyncMessages(): Promise<void> {
  const { benchSlowSyncMessages } = await import('./slow-sync-messages.js');
  for (const n of [1000, 10000]) {
    section(`Slow sync message by message, gateway only (${n} contacts, no DAV server: does a message cost more as the session grows?)`, await benchSlowSyncMessages(n, 400));
  }
}

async function dav(): Promise<void> {
  const { benchDav } = await import('./dav.js');
  const r = await benchDav();
  section('DAV change detection (Radicale, 5,000 contacts)', {
    ...r,
    'ratio no-change time list : sync-collection': `${round((r['nochange_list_ms'] ?? 0) / Math.max(1, r['nochange_sync_ms'] ?? 1))} : 1`,
  });
}

async function endToEnd(): Promise<void> {
  const { e2eSlowSync } = await import('./e2e.js');
  const xml = await e2eSlowSync(contacts, false);
  const wbxml = await e2eSlowSync(contacts, true);
  section(`End to end: SyncEvolution client -> gateway -> Radicale, ${contacts} vCard 2.1 contacts`, {
    'xml.slow_sync_s': xml.slowSeconds,
    'xml.no_change_s': xml.noChangeSeconds,
    'xml.refresh_from_server_s': xml.refreshSeconds,
    'wbxml.slow_sync_s': wbxml.slowSeconds,
    'wbxml.no_change_s': wbxml.noChangeSeconds,
    'wbxml.refresh_from_server_s': wbxml.refreshSeconds,
    'ratio slow sync XML : WBXML': `${round(xml.slowSeconds / wbxml.slowSeconds)} : 1`,
  });
  const { slowResync } = await import('./slow-resync.js');
  const r = await slowResync(300);
  section('Forced slow sync of a known phone (300 mapped contacts)', {
    'first_slow_sync_s': r.firstSlowS,
    'resync_s': r.resyncS,
    'resync_dav_requests': r.resyncDavRequests,
  });
}

async function hostile(): Promise<void> {
  const { benchHostile } = await import('./hostile.js');
  section('Hostile unauthenticated traffic (worst /healthz answer while posting, RSS, Redis keys)', { ...(await benchHostile()) });
}

async function load(): Promise<void> {
  const { benchLoad } = await import('./load.js');
  const opts = { devices: loadDevices, changes: 20, mix: 0.5, rounds: 2, seedContacts: 20, seedConcurrency: 25, maxUpstream: 8 };
  section(`Load: ${opts.devices} simulated phones at once, two gateway processes, Redis, Radicale behind a counting proxy (latency with and without DAV wait)`, await benchLoad(opts));
}

const steps: Array<[string, () => Promise<void>, boolean]> = [
  ['codecs', codecs, true],
  ['converters', converters, true],
  ['chunks', chunks, true],
  ['translator path', translatorPath, true],
  ['state', state, true],
  ['slow sync messages', slowSyncMessages, true],
  ['dav', dav, !has('--skip-dav')],
  ['dav write', davWrite, !has('--skip-dav')],
  ['idle wake', idleWake, true],
  ['e2e', endToEnd, !has('--skip-e2e')],
  ['e2e phases', phases, !has('--skip-e2e') && phasesN > 0],
  ['hostile', hostile, !has('--skip-hostile')],
  ['load', load, loadDevices > 0],
];
for (const [name, fn, enabled] of steps) {
  if (!enabled) continue;
  try {
    await fn();
  } catch (err) {
    console.log(`\n## ${name}: not measured (${(err as Error).message})`);
  }
}
process.exit(0);
