// Issue #13: every vCard and vCalendar/iCalendar item of ../shared/corpus and of the fidelity
// fixtures, converted the way the gateway converts a phone's item (translator toServer + merge as
// a new item), must parse with ical.js (iCalendar), be accepted by real Radicale and Xandikos, and
// read back property by property as it was PUT. Radicale rejections that remain are listed with
// their reason in KNOWN_RADICALE_REJECTIONS, so a new one fails the test (and a fixed one too,
// so the list stays true). Prints the counts per server.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ICAL from 'ical.js';
import { decodeUtf8Lossless } from '../../src/codec/lossless-utf8.js';
import { parseVersit, serializeVersit, unescapeText, type VersitComponent } from '../../src/convert/versit/index.js';
import { calendarTranslators } from '../../src/sync/calendar-translators.js';
import { contactsTranslator } from '../../src/sync/translators.js';
import type { ItemTranslator } from '../../src/sync/types.js';
import { KNOWN_RADICALE_READBACK, KNOWN_RADICALE_REJECTIONS, KNOWN_XANDIKOS_READBACK } from './fidelity-corpus-known.js';
import { repoRoot, startRadicale, startXandikos, type CollectionKey, type DavServerHandle } from '../support/index.js';

const corpus = path.resolve(repoRoot, '..', 'shared', 'corpus');
const fixtures = path.join(repoRoot, 'test', 'fixtures', 'convert', 'fidelity');

interface Case {
  id: string;
  collection: CollectionKey;
  /** Server-format text the gateway would PUT. */
  data?: string;
  /** Why conversion failed (an item the gateway refuses with a reason, not a DAV rejection). */
  refused?: string;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir).sort()) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

const cal = calendarTranslators({ now: () => new Date(Date.UTC(2026, 11, 3)) });
const NEGATIVE = /Invalid\/|HugeVCard|badline|wrongex|respinvalid/;

/** Split a file into device items: one vCard each; one VEVENT/VTODO (with same-UID siblings) each. */
function deviceItems(file: string): Array<{ data: string | Uint8Array; kind: 'contacts' | 'events' | 'tasks' }> {
  const bytes = readFileSync(file);
  const text = bytes.toString('latin1');
  if (/BEGIN:VCARD/i.test(text) && !/BEGIN:VCALENDAR/i.test(text)) {
    const cards = text.split(/(?=^BEGIN:VCARD)/im).filter((s) => /BEGIN:VCARD/i.test(s));
    // Byte offsets are the same in latin1: cut the original bytes (charsets stay as sent).
    let at = 0;
    return cards.map((c) => {
      const start = text.indexOf(c, at);
      at = start + c.length;
      return { data: bytes.subarray(start, start + c.length), kind: 'contacts' as const };
    });
  }
  if (!/BEGIN:VCALENDAR/i.test(text)) return [];
  const out: Array<{ data: string; kind: 'events' | 'tasks' }> = [];
  // One resource per item: a series and its overrides (same UID; RECURRENCE-ID, Symbian's
  // X-RECURRENCE-ID in 1.0; possibly in other VCALENDAR objects of the file) are one resource.
  // A second item with the UID of an earlier one but no recurrence id is an item of its own.
  const roots = parseVersit(bytes).filter((r) => r.name === 'VCALENDAR');
  const groups = new Map<string, { root: VersitComponent; items: VersitComponent[] }>();
  let k = 0;
  for (const root of roots) {
    for (const c of root.components.filter((x) => x.name === 'VEVENT' || x.name === 'VTODO')) {
      const uid = c.properties.find((p) => p.name === 'UID')?.value.trim();
      const override = c.properties.some((p) => p.name === 'RECURRENCE-ID' || p.name === 'X-RECURRENCE-ID');
      let key = uid ? `${c.name}|${uid}` : `#${k++}`;
      if (!override && groups.has(key)) key = `${key}#${k++}`;
      const g = groups.get(key) ?? { root, items: [] };
      g.items.push(c);
      groups.set(key, g);
    }
  }
  for (const { root, items } of groups.values()) {
    const version = root.properties.find((p) => p.name === 'VERSION')?.value.trim() === '2.0' ? 'ical2.0' : 'vcal1.0';
    const zones = roots.flatMap((r) => r.components.filter((c) => c.name === 'VTIMEZONE'));
    const one: VersitComponent = { name: 'VCALENDAR', properties: root.properties, components: [...zones, ...items] };
    out.push({ data: serializeVersit(one, { version }), kind: items[0]!.name === 'VTODO' ? 'tasks' : 'events' });
  }
  return out;
}

function buildCases(): Case[] {
  const files = [
    ...walk(corpus).filter((f) => !NEGATIVE.test(f) && /\.(vcf|vcs|ics|txt|ref|2_1ref)$/i.test(f) && !/MANIFEST|README|VALIDATION/.test(f)),
    ...walk(fixtures).filter((f) => /\.(vcf|vcs|ics)$/i.test(f)),
  ];
  const cases: Case[] = [];
  const seen = new Set<string>();
  let uidN = 0;
  for (const f of files) {
    const rel = f.startsWith(fixtures) ? `fidelity/${path.basename(f)}` : path.relative(corpus, f);
    let items: ReturnType<typeof deviceItems>;
    try {
      items = deviceItems(f);
    } catch {
      continue; // not parseable as a whole: the converter unit tests cover these files
    }
    items.forEach((it, n) => {
      const id = `${rel}#${n}`;
      const tr: ItemTranslator = it.kind === 'contacts' ? contactsTranslator : cal[it.kind];
      const collection: CollectionKey = it.kind === 'contacts' ? 'contacts' : it.kind === 'tasks' ? 'tasks' : 'calendar';
      try {
        // What reaches the translator: the codec's text for the bytes (non-UTF-8 bytes kept as escapes).
        const asString = typeof it.data === 'string' ? it.data : decodeUtf8Lossless(it.data);
        const format = it.kind === 'contacts' ? { type: 'text/x-vcard', version: '2.1' } : { type: 'text/x-vcalendar', version: '1.0' };
        let data = tr.mergeFromDevice(undefined, tr.toServer(asString, format));
        // Corpus files reuse UIDs across files; a collection holds each UID once. One UID per item
        // (a series and its overrides keep sharing it); a folded UID is replaced whole.
        data = data.replace(/^UID[;:].*(?:\r?\n[ \t].*)*$/gm, `UID:fidelity-${++uidN}`);
        if (!/^UID[;:]/m.test(data)) data = data.replace(/^(BEGIN:(VCARD|VEVENT|VTODO)\r?\n)/m, `$1UID:fidelity-${++uidN}\r\n`);
        const key = data.replace(/^UID:fidelity-\d+\r?\n/m, '');
        if (seen.has(key)) return; // the same item in another corpus file: stored once
        seen.add(key);
        cases.push({ id, collection, data });
      } catch (err) {
        cases.push({ id, collection, refused: (err as Error).message });
      }
    });
  }
  return cases;
}

/**
 * Property keys per component path: name, sorted params, value as the servers' own rewriting
 * leaves it comparable (unfolded, unescaped, trailing empty components dropped, RRULE parts and
 * durations normalised, vobject's X-VOBJ-* params ignored). What is left is a real difference.
 */
function propertyKeys(text: string): string[] {
  const keys: string[] = [];
  const walkC = (c: VersitComponent, at: string): void => {
    if (c.name === 'VTIMEZONE') return; // servers may rewrite zone definitions
    for (const p of c.properties) {
      if (p.name === 'PRODID' || p.name === 'DTSTAMP') continue;
      const params = p.params.filter((x) => !x.name.startsWith('X-VOBJ-')).map((x) => `${x.name}=${x.value.toUpperCase()}`).sort().join(';');
      keys.push(`${at}/${p.name};${params}:${normValue(p.name, p.value)}`);
    }
    for (const s of c.components) walkC(s, `${at}/${s.name}`);
  };
  for (const r of parseVersit(text)) walkC(r, r.name);
  return keys.sort();
}

function normValue(name: string, value: string): string {
  let v = unescapeText(value).replace(/\s+/g, ' ').trim().replace(/[;,\s]+$/, '');
  if (name === 'RRULE' || name === 'EXRULE') v = v.toUpperCase().split(';').sort().join(';');
  if (name === 'TRIGGER' || name === 'DURATION') v = durationSeconds(v) ?? v;
  if (name === 'GEO') v = v.split(/[;,]/).map((x) => String(Number.parseFloat(x))).join(';');
  return v;
}

function durationSeconds(v: string): string | undefined {
  const m = /^([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(v);
  if (!m) return undefined;
  const [, sign, w, d, h, mi, s] = m;
  const secs = (Number(w ?? 0) * 7 + Number(d ?? 0)) * 86400 + Number(h ?? 0) * 3600 + Number(mi ?? 0) * 60 + Number(s ?? 0);
  return `${sign === '-' ? '-' : ''}${secs}s`;
}

function diffKeys(a: string[], b: string[]): string[] {
  const rest = [...b];
  const out: string[] = [];
  for (const k of a) {
    const i = rest.indexOf(k);
    if (i >= 0) rest.splice(i, 1);
    else out.push(`- ${k}`);
  }
  return [...out, ...rest.map((k) => `+ ${k}`)];
}

/** Radicale logs why it refused a PUT; the line that names the item. */
function serverReason(dav: DavServerHandle, name: string): string {
  let log: string;
  try {
    log = readFileSync(dav.logFile, 'utf8');
  } catch {
    return '';
  }
  const lines = log.split('\n').filter((l) => l.includes(name) && /error|bad|invalid|fail/i.test(l));
  return (lines.at(-1) ?? '').replace(/^.*?(Bad PUT request|Error|error)/, '$1').slice(0, 200);
}

async function putAll(dav: DavServerHandle, cases: Case[]): Promise<{ rejected: Map<string, string>; changed: Map<string, string[]>; stored: number }> {
  const rejected = new Map<string, string>();
  const changed = new Map<string, string[]>();
  let stored = 0;
  const todo = cases.filter((c) => c.data).map((c, n) => ({ c, name: `item-${n + 1}.${c.collection === 'contacts' ? 'vcf' : 'ics'}` }));
  // A few requests at a time: both servers serve them in parallel; the run stays within minutes.
  const worker = async (): Promise<void> => {
    for (let next = todo.shift(); next; next = todo.shift()) {
      const { c, name } = next;
      const url = `${dav.collections[c.collection]}${name}`;
      const res = await dav.request('PUT', url, {
        headers: { 'Content-Type': c.collection === 'contacts' ? 'text/vcard; charset=utf-8' : 'text/calendar; charset=utf-8', 'If-None-Match': '*' },
        body: c.data!,
      });
      const body = await res.text();
      if (res.status >= 300) {
        rejected.set(c.id, `${res.status} ${serverReason(dav, name) || body.replace(/\s+/g, ' ').slice(0, 160)}`);
        continue;
      }
      stored++;
      putOk.push({ c, name });
    }
  };
  const putOk: Array<{ c: Case; name: string }> = [];
  await Promise.all(Array.from({ length: 6 }, worker));
  // Read back with one REPORT per collection (much faster than a GET per item).
  const back = new Map<string, string>();
  for (const key of ['contacts', 'calendar', 'tasks'] as const) {
    for (const item of await dav.listItems(key)) back.set(`${key}/${decodeURIComponent(item.href.replace(/\/+$/, '').split('/').pop() ?? '')}`, item.data);
  }
  for (const { c, name } of putOk) {
    const data = back.get(`${c.collection}/${name}`);
    const d = data !== undefined ? diffKeys(propertyKeys(c.data!), propertyKeys(data)) : ['- (item missing)'];
    if (d.length > 0) changed.set(c.id, d);
  }
  return { rejected, changed, stored };
}

type Result = Awaited<ReturnType<typeof putAll>>;

describe('fidelity (#13): the whole corpus, converted, stored in real Radicale and Xandikos', function () {
  this.timeout(400_000);
  let cases: Case[];
  const results = new Map<'radicale' | 'xandikos', Result>();
  before(async function () {
    cases = buildCases();
    // Both servers at once: the run takes as long as the slower one (Radicale).
    await Promise.all((['radicale', 'xandikos'] as const).map(async (kind) => {
      const dav = kind === 'radicale' ? await startRadicale() : await startXandikos();
      try {
        results.set(kind, await putAll(dav, cases));
      } finally {
        await dav.dispose();
      }
    }));
    const report = process.env['FIDELITY_DAV_REPORT'];
    if (report) {
      // The converted text of every rejected or changed item, to read the reason next to it.
      const flagged = new Set([...results.values()].flatMap((r) => [...r.rejected.keys(), ...r.changed.keys()]));
      const items = Object.fromEntries(cases.filter((c) => flagged.has(c.id)).map((c) => [c.id, c.data]));
      const refused = Object.fromEntries(cases.filter((c) => c.refused).map((c) => [c.id, c.refused]));
      writeFileSync(report, JSON.stringify({ ...Object.fromEntries([...results].map(([k, r]) => [k, { stored: r.stored, rejected: Object.fromEntries(r.rejected), changed: Object.fromEntries(r.changed) }])), items, refused }, null, 1));
    }
  });

  it('every iCalendar output parses with ical.js', function () {
    const bad: string[] = [];
    for (const c of cases) {
      if (!c.data || c.collection === 'contacts') continue;
      try {
        ICAL.parse(c.data);
      } catch (e) {
        bad.push(`${c.id}: ${(e as Error).message}`);
      }
    }
    assert.deepEqual(bad, []);
    assert.ok(cases.filter((c) => c.data).length > 700, `items converted: ${cases.filter((c) => c.data).length}`);
  });

  for (const kind of ['radicale', 'xandikos'] as const) {
    it(`${kind}: accepts every item (known rejections listed) and returns it property by property`, function () {
      const { rejected, changed, stored } = results.get(kind)!;
      const refused = cases.filter((c) => c.refused).length;
      console.log(`      ${kind}: ${stored} stored, ${rejected.size} rejected, ${changed.size} changed on read-back, ${refused} refused by the converter`);
      const known = kind === 'radicale' ? KNOWN_RADICALE_REJECTIONS : {};
      const unexpected = [...rejected].filter(([id]) => !(id in known)).map(([id, why]) => `${id}: ${why}`);
      const fixed = Object.keys(known).filter((id) => !rejected.has(id));
      assert.deepEqual(unexpected, [], 'new rejections');
      assert.deepEqual(fixed, [], 'listed rejections that no longer happen: remove them from the list');
      const knownChanges = kind === 'radicale' ? KNOWN_RADICALE_READBACK : KNOWN_XANDIKOS_READBACK;
      const diffs = [...changed].filter(([id]) => !(id in knownChanges)).map(([id, d]) => `${id}: ${d.slice(0, 4).join(' | ')}`);
      assert.deepEqual(diffs, [], 'items that read back differently');
      assert.deepEqual(Object.keys(knownChanges).filter((id) => !changed.has(id)), [], 'listed read-back changes that no longer happen: remove them from the list');
    });
  }
});
