// Item translators for events, tasks (vCalendar 1.0 / iCalendar 2.0 on the device) and notes
// (text/plain, vNote 1.1, VJOURNAL); the server side is always one iCalendar 2.0 object per item.
import { filterCalendarForDevice, protectUnstorable } from './calendar-filter.js';
import type { FieldFilter } from './types.js';
import { createHash } from 'node:crypto';
import { calendarFingerprint, convertCalendar } from '../convert/calendar.js';
import { calendarContentHash, mergeCalendarItem, normaliseCalendarItem, seriesWithoutOverrides, type CalendarItemKind } from '../convert/icalendar/index.js';
import { convertNote, parseNote, writeNote, type Note } from '../convert/notes.js';
import { priorityScaleOf, type PriorityScale } from '../convert/vcalendar/index.js';
import type { ItemKind } from '../datastores/datastore.js';
import type { DeviceFormat, ItemTranslator } from './types.js';

export interface CalendarTranslatorOptions {
  /** IANA zone of the device: its floating (local) times are read and written in this zone. */
  defaultTimezone?: string;
  /** Clock for DTSTAMP/LAST-MODIFIED of merged items (tests). */
  now?: () => Date;
}

function normText(s: string): string {
  return s.normalize('NFC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** The device's PRIORITY scale from the PRIORITY values its CTCap (or device profile) lists. */
function scaleOf(filter: FieldFilter | undefined): { priorityScale?: PriorityScale; defaultCharset?: string } {
  const scale = filter?.priorityScale ?? priorityScaleOf(filter?.properties['PRIORITY']?.valEnum);
  return { ...(scale ? { priorityScale: scale } : {}), ...(filter?.charset ? { defaultCharset: filter.charset } : {}) };
}

function isVcal(to: DeviceFormat): boolean {
  return to.type.toLowerCase() === 'text/x-vcalendar' || to.version === '1.0';
}

function calendarTranslator(kind: 'events' | 'tasks', opts: CalendarTranslatorOptions): ItemTranslator {
  const comp: CalendarItemKind = kind === 'events' ? 'vevent' : 'vtodo';
  const tz = opts.defaultTimezone;
  const now = opts.now ?? (() => new Date());
  const convOpts = tz ? { defaultTimezone: tz } : {};
  return {
    kind: kind satisfies ItemKind,
    deviceFormats: [
      { type: 'text/x-vcalendar', version: '1.0' },
      { type: 'text/calendar', version: '2.0' },
    ],

    // The content decides between 1.0 and 2.0: Meta/Type is often missing or generic.
    toServer(data: string, _from?: DeviceFormat, filter?: FieldFilter, onWarning?: (m: string) => void): string {
      // No content-derived UID: the sync engine derives one from (account, device, datastore, LUID).
      const warn = onWarning ? { onWarning } : {};
      return normaliseCalendarItem(convertCalendar(data, 'ical20', { ...convOpts, ...scaleOf(filter), ...warn, now: now(), uidFromContent: false }), comp);
    },

    toDevice(serverData: string, to: DeviceFormat, filter?: FieldFilter): string {
      if (!isVcal(to)) return filterCalendarForDevice(convertCalendar(serverData, 'ical20', convOpts), filter, 'ical2.0');
      // vCalendar 1.0 has no exceptions: send the series itself (moved instances stay on the
      // server; the phone shows them at their regular times).
      const series = seriesWithoutOverrides(serverData, comp);
      return filterCalendarForDevice(convertCalendar(series, 'vcal10', { ...convOpts, ...scaleOf(filter) }), filter, 'vcal1.0');
    },

    mergeFromDevice(serverData: string | undefined, deviceAsServer: string, filter?: FieldFilter): string {
      const device = serverData === undefined ? deviceAsServer : protectUnstorable(serverData, deviceAsServer, filter);
      return mergeCalendarItem(comp, serverData, device, { ...convOpts, now: now() });
    },

    fingerprints(serverData: string): string[] {
      const fp = calendarFingerprint(serverData, convOpts);
      const out: string[] = [];
      if (fp.uid) out.push(`uid:${fp.uid}`);
      if (fp.summary || fp.start) out.push(`${fp.kind}|${normText(fp.summary)}|${fp.start ?? ''}`);
      return out;
    },

    hash: calendarContentHash,
  };
}

function noteFromDevice(data: string, from: DeviceFormat): Note {
  // Plain text is taken literally even if it happens to start like a vNote or a VCALENDAR.
  if (from.type.toLowerCase() === 'text/plain') {
    const body = data.replace(/\r\n|\r/g, '\n');
    return { summary: (body.split('\n')[0] ?? '').trim(), body, categories: [] };
  }
  return parseNote(data);
}

function buildNotesTranslator(opts: CalendarTranslatorOptions): ItemTranslator {
  const now = opts.now ?? (() => new Date());
  const tz = opts.defaultTimezone;
  return {
    kind: 'notes',
    deviceFormats: [
      { type: 'text/plain', version: '1.0' },
      { type: 'text/x-vnote', version: '1.1' },
      { type: 'text/calendar', version: '2.0' },
    ],

    toServer(data: string, from: DeviceFormat): string {
      return normaliseCalendarItem(writeNote(noteFromDevice(data, from), 'ical20', { now: now(), uidFromText: false }), 'vjournal');
    },

    toDevice(serverData: string, to: DeviceFormat): string {
      const type = to.type.toLowerCase();
      if (type === 'text/x-vnote') return convertNote(serverData, 'vnote');
      if (type === 'text/calendar') return normaliseCalendarItem(serverData, 'vjournal');
      return convertNote(serverData, 'text');
    },

    mergeFromDevice(serverData: string | undefined, deviceAsServer: string): string {
      return mergeCalendarItem('vjournal', serverData, deviceAsServer, { ...(tz ? { defaultTimezone: tz } : {}), now: now() });
    },

    fingerprints(serverData: string): string[] {
      const note = parseNote(serverData);
      const body = normText(note.body || note.summary);
      const out = note.uid ? [`uid:${note.uid}`] : [];
      if (body) out.push(`note|${createHash('sha1').update(body).digest('hex')}`);
      return out;
    },

    hash: calendarContentHash,
  };
}

export function createEventsTranslator(opts: CalendarTranslatorOptions = {}): ItemTranslator {
  return calendarTranslator('events', opts);
}

export function createTasksTranslator(opts: CalendarTranslatorOptions = {}): ItemTranslator {
  return calendarTranslator('tasks', opts);
}

export function createNotesTranslator(opts: CalendarTranslatorOptions = {}): ItemTranslator {
  return buildNotesTranslator(opts);
}

/** The three translators with one device time zone, ready for `EngineDeps.translators`. */
export function calendarTranslators(opts: CalendarTranslatorOptions = {}): { events: ItemTranslator; tasks: ItemTranslator; notes: ItemTranslator } {
  return { events: calendarTranslator('events', opts), tasks: calendarTranslator('tasks', opts), notes: buildNotesTranslator(opts) };
}

/** Without a device zone: floating device times stay floating on the server. */
export const eventsTranslator: ItemTranslator = createEventsTranslator();
export const tasksTranslator: ItemTranslator = createTasksTranslator();
export const notesTranslator: ItemTranslator = createNotesTranslator();
