// Notes conversion: text/plain, vNote 1.1 (text/x-vnote) and iCalendar 2.0 VJOURNAL. Follows
// the Evolution/SyncEvolution convention: the first text line is the summary, the body keeps it.
import { createHash } from 'node:crypto';
import ICAL from 'ical.js';
import { GatewayError } from '../errors.js';
import type { VersitProperty } from './versit/index.js';
import { escapeText, joinList, parseVersit, serializeVersit, splitUnescaped, unescapeText } from './versit/index.js';
import { parseVcalTime } from './vcalendar/vcal-time.js';

export type NoteFormat = 'text' | 'vnote' | 'ical20';

export interface Note {
  summary: string;
  body: string; // full text, first line usually equal to the summary
  uid?: string;
  created?: string; // UTC YYYYMMDDTHHMMSSZ
  lastModified?: string;
  categories: string[];
  class?: string;
}

export interface NoteOptions {
  /** DTSTAMP for VJOURNAL output when the note carries no LAST-MODIFIED (default: now). */
  now?: Date;
  /**
   * A VJOURNAL for a note without a UID gets one derived from its text (default). The sync engine
   * turns this off: two equal memos must stay two items, so it derives the UID from device + LUID.
   */
  uidFromText?: boolean;
}

function firstLine(text: string): string {
  return (text.split(/\r\n|\r|\n/)[0] ?? '').trim();
}

function utcStamp(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const t = parseVcalTime(v);
  if (!t) return undefined;
  const f = t.fields;
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  // Local note stamps have no zone to anchor them; they are kept as if UTC.
  return `${p(f.y, 4)}${p(f.m)}${p(f.d)}T${p(f.hh)}${p(f.mi)}${p(f.ss)}Z`;
}

function textToNote(text: string): Note {
  const body = text.replace(/\r\n|\r/g, '\n');
  return { summary: firstLine(body), body, categories: [] };
}

function vnoteToNote(input: string | Uint8Array): Note {
  const roots = parseVersit(input);
  const vn = roots.find((r) => r.name === 'VNOTE');
  if (!vn) throw new GatewayError('INVALID_ITEM', 'no VNOTE found');
  const get = (n: string): VersitProperty | undefined => vn.properties.find((p) => p.name === n);
  const body = unescapeText(get('BODY')?.value ?? '').replace(/\r\n|\r/g, '\n');
  const summary = get('SUMMARY') ? unescapeText(get('SUMMARY')?.value ?? '').trim() : firstLine(body);
  const cats = get('CATEGORIES');
  return {
    summary,
    body,
    uid: get('UID')?.value.trim() || undefined, // X-IRMC-LUID is a device id, not a UID
    created: utcStamp(get('DCREATED')?.value),
    lastModified: utcStamp(get('LAST-MODIFIED')?.value),
    categories: cats ? splitUnescaped(cats.value, cats.value.includes(';') ? ';' : ',').map((c) => unescapeText(c).trim()).filter(Boolean) : [],
    class: get('CLASS')?.value.trim() || undefined,
  };
}

function icalToNote(text: string): Note {
  let cal: InstanceType<typeof ICAL.Component>;
  try {
    cal = new ICAL.Component(ICAL.parse(text) as unknown[]);
  } catch (err) {
    throw new GatewayError('INVALID_ITEM', `iCalendar parse error: ${(err as Error).message}`, { cause: err });
  }
  const j = cal.getFirstSubcomponent('vjournal');
  if (!j) throw new GatewayError('INVALID_ITEM', 'VCALENDAR holds no VJOURNAL');
  const summary = String(j.getFirstPropertyValue('summary') ?? '').trim();
  const desc = String(j.getFirstPropertyValue('description') ?? '');
  // Evolution writes DESCRIPTION starting with the summary line; others keep them apart (the
  // text/plain writer then puts the summary first).
  const body = desc === '' ? summary : desc;
  const stamp = (n: string): string | undefined => {
    const v = j.getFirstPropertyValue(n);
    return v instanceof ICAL.Time ? v.convertToZone(ICAL.Timezone.utcTimezone).toICALString() : undefined;
  };
  const categories: string[] = [];
  for (const p of j.getAllProperties('categories')) for (const v of p.getValues()) if (typeof v === 'string' && v.trim()) categories.push(v.trim());
  const uid = j.getFirstPropertyValue('uid');
  const cls = j.getFirstPropertyValue('class');
  return {
    summary: summary || firstLine(body),
    body: body.replace(/\r\n|\r/g, '\n'),
    uid: typeof uid === 'string' && uid ? uid : undefined,
    created: stamp('created'),
    lastModified: stamp('last-modified'),
    categories,
    class: typeof cls === 'string' ? cls : undefined,
  };
}

/** Reads a note in any of the three formats (detected from the content). */
export function parseNote(input: string | Uint8Array): Note {
  const head = (typeof input === 'string' ? input : new TextDecoder().decode(input.subarray(0, 64))).trimStart().toUpperCase();
  if (head.startsWith('BEGIN:VNOTE')) return vnoteToNote(input);
  const text = typeof input === 'string' ? input : new TextDecoder().decode(input);
  if (head.startsWith('BEGIN:VCALENDAR')) return icalToNote(text);
  return textToNote(text);
}

function prop(name: string, value: string): VersitProperty {
  return { name, params: [], value, rawValue: value };
}

/** Writes a note as text/plain, vNote 1.1, or an iCalendar VJOURNAL. */
export function writeNote(note: Note, to: NoteFormat, opts: NoteOptions = {}): string {
  const body = note.body !== '' ? note.body : note.summary;
  if (to === 'text') {
    if (note.summary && firstLine(body) !== note.summary) return `${note.summary}\n${body}`;
    return body;
  }
  if (to === 'vnote') {
    const props: VersitProperty[] = [prop('VERSION', '1.1')];
    if (note.summary) props.push(prop('SUMMARY', escapeText(note.summary, 'vcal1.0')));
    props.push(prop('BODY', escapeText(body.replace(/\n/g, '\r\n'), 'vcal1.0')));
    if (note.categories.length) props.push(prop('CATEGORIES', joinList(note.categories, 'vcal1.0')));
    if (note.class) props.push(prop('CLASS', note.class));
    if (note.created) props.push(prop('DCREATED', note.created));
    if (note.lastModified) props.push(prop('LAST-MODIFIED', note.lastModified));
    return serializeVersit({ name: 'VNOTE', properties: props, components: [] }, { version: 'vcal1.0' });
  }
  const uid = note.uid ?? (opts.uidFromText === false ? undefined : `note-${createHash('sha1').update(body).digest('hex').slice(0, 20)}`);
  const now = (opts.now ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const props: VersitProperty[] = [
    ...(uid !== undefined ? [prop('UID', escapeText(uid, 'ical2.0'))] : []),
    prop('DTSTAMP', note.lastModified ?? now),
    prop('SUMMARY', escapeText(note.summary || firstLine(body), 'ical2.0')),
    prop('DESCRIPTION', escapeText(body, 'ical2.0')),
  ];
  if (note.categories.length) props.push(prop('CATEGORIES', joinList(note.categories, 'ical2.0')));
  if (note.class) props.push(prop('CLASS', note.class));
  if (note.created) props.push(prop('CREATED', note.created));
  if (note.lastModified) props.push(prop('LAST-MODIFIED', note.lastModified));
  return serializeVersit(
    {
      name: 'VCALENDAR',
      properties: [prop('VERSION', '2.0'), prop('PRODID', '-//syncml-dav-gateway//notes//EN')],
      components: [{ name: 'VJOURNAL', properties: props, components: [] }],
    },
    { version: 'ical2.0' },
  );
}

/** Converts a note between text/plain, text/x-vnote (vNote 1.1) and iCalendar VJOURNAL. */
export function convertNote(input: string | Uint8Array, to: NoteFormat, opts: NoteOptions = {}): string {
  return writeNote(parseNote(input), to, opts);
}
