// Interop: the SyncEvolution client syncs events and tasks through the gateway into Radicale's
// calendar and tasks collections, once with iCalendar 2.0 files and once with vCalendar 1.0 on
// the wire (legacy); slow sync, two-way edits on both sides, and a no-change sync.
import assert from 'node:assert/strict';
import path from 'node:path';
import ICAL from 'ical.js';
import { convertCalendar } from '../../src/convert/calendar.js';
import { makeTempDir, startRadicale, SyncEvolutionClient, type DavServerHandle } from '../support/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { accountYaml } from '../support/mapping.js';

type Component = InstanceType<typeof ICAL.Component>;

const ZONE = 'UTC'; // the client process runs without TZ: its local time is UTC

// ---- test data ----------------------------------------------------------------------------

const BERLIN_VTIMEZONE = [
  'BEGIN:VTIMEZONE', 'TZID:Europe/Berlin',
  'BEGIN:DAYLIGHT', 'TZOFFSETFROM:+0100', 'TZOFFSETTO:+0200', 'TZNAME:CEST', 'DTSTART:19700329T020000', 'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU', 'END:DAYLIGHT',
  'BEGIN:STANDARD', 'TZOFFSETFROM:+0200', 'TZOFFSETTO:+0100', 'TZNAME:CET', 'DTSTART:19701025T030000', 'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU', 'END:STANDARD',
  'END:VTIMEZONE',
];

type EventShape = 'utc' | 'berlin' | 'allday' | 'weekly' | 'alarm';

interface EventSpec { n: number; shape: EventShape; summary: string; day: number; hour: number }

const SHAPES: EventShape[] = ['utc', 'berlin', 'allday', 'weekly', 'alarm'];

function eventSpecs(count: number): EventSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    n: i + 1, shape: SHAPES[i % SHAPES.length]!, summary: `Event ${i + 1} ${SHAPES[i % SHAPES.length]} Zoë`, day: 3 + i * 2, hour: 8 + (i % 6),
  }));
}

const pad = (n: number): string => String(n).padStart(2, '0');

/**
 * SyncEvolution sends a relative VALARM as `AALARM:-PT15M;;;…` (a duration where vCalendar 1.0
 * has a run time); event 10 of the iCalendar run has one, event 5 an absolute one.
 */
function relativeAlarm(e: EventSpec): boolean {
  return e.shape === 'alarm' && e.n === 10;
}

/** One event as the phone stores it: iCalendar 2.0 or vCalendar 1.0. */
function eventText(e: EventSpec, legacy: boolean): string {
  const d = `202507${pad(e.day)}`;
  const lines: string[] = ['BEGIN:VCALENDAR', legacy ? 'VERSION:1.0' : 'VERSION:2.0'];
  if (!legacy) lines.push('PRODID:-//interop test//EN');
  if (e.shape === 'berlin' && !legacy) lines.push(...BERLIN_VTIMEZONE);
  if (e.shape === 'berlin' && legacy) lines.push('TZ:+01:00', 'DAYLIGHT:TRUE;+02:00;20250330T010000Z;20251026T010000Z;CET;CEST');
  lines.push(legacy ? 'BEGIN:VEVENT' : 'BEGIN:VEVENT', `UID:interop-event-${e.n}@example.org`, `SUMMARY:${e.summary}`);
  if (!legacy) lines.push('DTSTAMP:20250101T120000Z');
  switch (e.shape) {
    case 'allday':
      if (legacy) lines.push(`DTSTART:${d}T000000`, `DTEND:202507${pad(e.day + 1)}T000000`);
      else lines.push(`DTSTART;VALUE=DATE:${d}`, `DTEND;VALUE=DATE:202507${pad(e.day + 1)}`);
      break;
    case 'berlin':
      if (legacy) lines.push(`DTSTART:${d}T${pad(e.hour)}0000`, `DTEND:${d}T${pad(e.hour + 1)}0000`);
      else lines.push(`DTSTART;TZID=Europe/Berlin:${d}T${pad(e.hour)}0000`, `DTEND;TZID=Europe/Berlin:${d}T${pad(e.hour + 1)}0000`);
      break;
    default:
      lines.push(`DTSTART:${d}T${pad(e.hour)}0000Z`, `DTEND:${d}T${pad(e.hour)}3000Z`);
  }
  if (e.shape === 'weekly') lines.push(legacy ? 'RRULE:W1 #6' : 'RRULE:FREQ=WEEKLY;COUNT=6');
  if (e.shape === 'alarm') {
    if (legacy) lines.push(`DALARM:${d}T${pad(e.hour - 1)}4500Z;;;${e.summary}`, `AALARM:${d}T${pad(e.hour - 1)}4500Z;;;`);
    else if (relativeAlarm(e)) lines.push('BEGIN:VALARM', 'ACTION:DISPLAY', `DESCRIPTION:${e.summary}`, 'TRIGGER:-PT15M', 'END:VALARM');
    else lines.push('BEGIN:VALARM', 'ACTION:DISPLAY', `DESCRIPTION:${e.summary}`, `TRIGGER;VALUE=DATE-TIME:${d}T${pad(e.hour - 1)}4500Z`, 'END:VALARM');
  }
  lines.push('LOCATION:Room 4', 'END:VEVENT', 'END:VCALENDAR', '');
  return lines.join('\r\n');
}

/** The instant the event starts, as the test expects it on the server. */
function expectedStart(e: EventSpec): string {
  const d = `2025-07-${pad(e.day)}`;
  if (e.shape === 'allday') return `D${d.replace(/-/g, '')}`;
  if (e.shape === 'berlin') return new Date(`${d}T${pad(e.hour - 2)}:00:00Z`).toISOString(); // CEST = UTC+2
  return new Date(`${d}T${pad(e.hour)}:00:00Z`).toISOString();
}

interface TaskSpec { n: number; summary: string; day: number; priority: 1 | 5 | 9; status: 'NEEDS-ACTION' | 'IN-PROCESS' | 'COMPLETED' }

function taskSpecs(): TaskSpec[] {
  const st: TaskSpec['status'][] = ['NEEDS-ACTION', 'IN-PROCESS', 'NEEDS-ACTION', 'COMPLETED', 'NEEDS-ACTION'];
  const pr: TaskSpec['priority'][] = [1, 5, 9, 1, 5];
  return st.map((status, i) => ({ n: i + 1, summary: `Task ${i + 1} für später`, day: 10 + i, priority: pr[i]!, status }));
}

function taskText(t: TaskSpec, legacy: boolean): string {
  const due = `202508${pad(t.day)}T150000Z`;
  const lines = ['BEGIN:VCALENDAR', legacy ? 'VERSION:1.0' : 'VERSION:2.0'];
  if (!legacy) lines.push('PRODID:-//interop test//EN');
  lines.push('BEGIN:VTODO', `UID:interop-task-${t.n}@example.org`, `SUMMARY:${t.summary}`, `DUE:${due}`);
  if (!legacy) lines.push('DTSTAMP:20250101T120000Z');
  const vcalPriority = { 1: 1, 5: 2, 9: 3 }[t.priority];
  lines.push(`PRIORITY:${legacy ? vcalPriority : t.priority}`);
  const vcalStatus = { 'NEEDS-ACTION': 'NEEDS ACTION', 'IN-PROCESS': 'ACCEPTED', COMPLETED: 'COMPLETED' }[t.status];
  lines.push(`STATUS:${legacy ? vcalStatus : t.status}`);
  if (t.status === 'COMPLETED') lines.push('COMPLETED:20250801T100000Z');
  lines.push('END:VTODO', 'END:VCALENDAR', '');
  return lines.join('\r\n');
}

// ---- reading items back -------------------------------------------------------------------

interface ItemSummary {
  summary: string;
  /** `D20250705` for all-day, ISO UTC otherwise. */
  start: string;
  /** First occurrences of the recurrence (ISO / date), '' without RRULE. */
  rrule: string;
  alarm: boolean;
  due?: string;
  status?: string;
  priority?: number;
  completed?: string;
}

function instant(item: Component, cal: Component, name: string): string | undefined {
  const p = item.getFirstProperty(name);
  const t = p?.getFirstValue();
  if (!(t instanceof ICAL.Time)) return undefined;
  if (t.isDate) return `D${t.toICALString()}`;
  const tzid = p!.getParameter('tzid');
  const def = typeof tzid === 'string' ? cal.getAllSubcomponents('vtimezone').find((z) => z.getFirstPropertyValue('tzid') === tzid) : undefined;
  const z = t.clone();
  if (def) z.zone = new ICAL.Timezone(def);
  else if (typeof tzid === 'string') throw new Error(`no VTIMEZONE for ${tzid}`);
  return new Date(z.toUnixTime() * 1000).toISOString();
}

/** What the test compares, read from either format (vCalendar via the converter). */
function summarise(text: string): ItemSummary {
  const ical = /VERSION:1\.0/.test(text) ? convertCalendar(text, 'ical20', { defaultTimezone: ZONE }) : text;
  const cal = new ICAL.Component(ICAL.parse(ical) as unknown[]);
  const item = cal.getFirstSubcomponent('vevent') ?? cal.getFirstSubcomponent('vtodo');
  assert.ok(item, `no VEVENT/VTODO in\n${text}`);
  let rrule = '';
  const rule = item.getFirstPropertyValue('rrule');
  if (rule instanceof ICAL.Recur) {
    const sp = item.getFirstProperty('dtstart')!;
    const start = (sp.getFirstValue() as InstanceType<typeof ICAL.Time>).clone();
    const tzid = sp.getParameter('tzid');
    const def = typeof tzid === 'string' ? cal.getAllSubcomponents('vtimezone').find((z) => z.getFirstPropertyValue('tzid') === tzid) : undefined;
    if (def) start.zone = new ICAL.Timezone(def);
    const it = rule.iterator(start);
    const occ: string[] = [];
    for (let i = 0; i < 8; i++) {
      const nx = it.next();
      if (!nx) break;
      occ.push(nx.isDate ? nx.toICALString() : new Date(nx.toUnixTime() * 1000).toISOString());
    }
    rrule = occ.join(',');
  }
  const out: ItemSummary = {
    summary: String(item.getFirstPropertyValue('summary') ?? ''),
    start: instant(item, cal, 'dtstart') ?? '',
    rrule,
    alarm: item.getAllSubcomponents('valarm').length > 0,
  };
  if (item.name === 'vtodo') {
    out.due = instant(item, cal, 'due');
    out.status = String(item.getFirstPropertyValue('status') ?? '');
    out.priority = Number(item.getFirstPropertyValue('priority') ?? 0);
    out.completed = instant(item, cal, 'completed');
  }
  return out;
}

function keyed(texts: Iterable<string>): Map<string, ItemSummary> {
  const m = new Map<string, ItemSummary>();
  for (const t of texts) {
    const s = summarise(t);
    m.set(s.summary, s);
  }
  return m;
}

/** The fields both sides must agree on item by item. */
function comparable(s: ItemSummary): string {
  return [s.summary, s.start, s.rrule, s.due ?? '', s.status ?? ''].join(' | ');
}

function itemName(href: string): string {
  return href.split('/').pop()!;
}

// ---- the tests ----------------------------------------------------------------------------

for (const legacy of [false, true]) {
  describe(`interop: SyncEvolution client, events + tasks, ${legacy ? 'vCalendar 1.0' : 'iCalendar 2.0'}`, function () {
    this.timeout(300_000);
    let dav: DavServerHandle;
    let gw: TestGateway;
    let phone: SyncEvolutionClient;
    let dir: string;
    const events = eventSpecs(10);
    const tasks = taskSpecs();

    before(async function () {
      dir = makeTempDir(`interop-calendar-${legacy ? 'vcal' : 'ical'}-`);
      dav = await startRadicale();
      // The device time zone is the one the client process runs in.
      gw = await startTestGateway({ dav, settings: { deviceTimezone: ZONE }, mappingYaml: accountYaml(dav, { datastores: {
        calendar: { kind: 'events', uris: ['calendar', './calendar'], collection: dav.collections.calendar },
        tasks: { kind: 'tasks', uris: ['tasks', './tasks', 'todo'], collection: dav.collections.tasks },
      } }) });
      phone = new SyncEvolutionClient({
        dir: path.join(dir, 'phone'), url: gw.url, user: 'alice', password: dav.password, auth: 'basic',
        legacy, datastores: { calendar: 'calendar', tasks: 'tasks' },
      });
    });

    after(async function () {
      await gw?.close();
      await dav?.dispose();
    });

    it('(a) slow sync puts 10 events and 5 tasks into Radicale with the right times, rules and states', async function () {
      for (const e of events) phone.writeItem('calendar', `event-${e.n}.ics`, eventText(e, legacy));
      for (const t of tasks) phone.writeItem('tasks', `task-${t.n}.ics`, taskText(t, legacy));
      const t0 = Date.now();
      const report = await phone.sync('slow', { only: ['calendar', 'tasks'] });
      const seconds = (Date.now() - t0) / 1000;
      assert.equal(report.exitCode, 0, report.output.slice(-3000));
      assert.equal(report.datastores['calendar']?.remoteNew, 10, report.output.slice(-3000));
      assert.equal(report.datastores['tasks']?.remoteNew, 5, report.output.slice(-3000));

      const onServer = await dav.listItems('calendar');
      assert.equal(onServer.length, 10);
      const server = keyed(onServer.map((i) => i.data));
      for (const e of events) {
        const s = server.get(e.summary);
        assert.ok(s, `event ${e.summary} on the server`);
        assert.equal(s.start, expectedStart(e), `start of ${e.summary}`);
        if (e.shape === 'weekly') {
          const first = new Date(expectedStart(e)).getTime();
          const weeks = Array.from({ length: 6 }, (_, k) => new Date(first + k * 7 * 86400_000).toISOString()).join(',');
          assert.equal(s.rrule, weeks, `six weekly occurrences of ${e.summary}`);
        } else assert.equal(s.rrule, '', `no recurrence for ${e.summary}`);
        if (!(relativeAlarm(e) && !legacy)) assert.equal(s.alarm, e.shape === 'alarm', `alarm of ${e.summary}`);
      }
      for (const item of onServer) {
        assert.match(item.data, /VERSION:2\.0/);
        assert.match(item.data, /^UID:interop-event-\d+@example\.org\r?$/m, 'the phone\'s UID is kept');
        assert.match(item.data, /^DTSTAMP:/m);
        const tzids = [...item.data.matchAll(/TZID=([^:;]+)/g)].map((m) => m[1]);
        for (const tz of tzids) assert.match(item.data, new RegExp(`^TZID:${tz}\\r?$`, 'm'), `VTIMEZONE for ${tz}`);
      }

      const tasksOnServer = keyed((await dav.listItems('tasks')).map((i) => i.data));
      assert.equal(tasksOnServer.size, 5);
      for (const t of tasks) {
        const s = tasksOnServer.get(t.summary);
        assert.ok(s, `task ${t.summary} on the server`);
        assert.equal(s.due, `2025-08-${pad(t.day)}T15:00:00.000Z`);
        assert.equal(s.status, t.status, `status of ${t.summary}`);
        assert.equal(s.priority, t.priority, `priority of ${t.summary}`);
        assert.equal(s.completed, t.status === 'COMPLETED' ? '2025-08-01T10:00:00.000Z' : undefined);
      }
      console.log(`      slow sync of 10 events + 5 tasks (${legacy ? 'vCalendar 1.0' : 'iCalendar 2.0'}): ${seconds.toFixed(2)} s`);
    });

    if (!legacy) {
      it('(a2) a relative alarm (sent by SyncEvolution as AALARM/DALARM:-PT15M) reaches the server', async function () {
        const e = events.find(relativeAlarm)!;
        const item = (await dav.listItems('calendar')).find((i) => summarise(i.data).summary === e.summary);
        assert.ok(item, e.summary);
        assert.match(item.data, /BEGIN:VALARM[\s\S]*TRIGGER(;RELATED=START)?:-PT15M[\s\S]*END:VALARM/, item.data);
      });
    }

    it('(b) two-way: edits, adds and deletes on both sides end in the same items on both sides', async function () {
      // Phone: move event 1 by an hour and rename it, rename event 4 (weekly), add one, delete
      // event 2; complete task 1.
      const moved = { ...events[0]!, summary: `${events[0]!.summary} (moved)`, hour: events[0]!.hour + 1 };
      phone.writeItem('calendar', 'event-1.ics', eventText(moved, legacy));
      const renamed = { ...events[3]!, summary: `${events[3]!.summary} (renamed)` };
      phone.writeItem('calendar', 'event-4.ics', eventText(renamed, legacy));
      const added: EventSpec = { n: 90, shape: 'utc', summary: 'Added on the phone', day: 28, hour: 12 };
      phone.writeItem('calendar', 'event-90.ics', eventText(added, legacy));
      phone.deleteItem('calendar', 'event-2.ics');
      phone.writeItem('tasks', 'task-1.ics', taskText({ ...tasks[0]!, status: 'COMPLETED' }, legacy));

      // Server: rename events 6 and 7, delete event 8, add an event and a task.
      const serverItems = await dav.listItems('calendar');
      const find = (summary: string): { href: string; data: string } => {
        const it = serverItems.find((i) => summarise(i.data).summary === summary);
        assert.ok(it, summary);
        return it;
      };
      for (const e of [events[5]!, events[6]!]) {
        const it = find(e.summary);
        await dav.putItem('calendar', itemName(it.href), it.data.replace(/^SUMMARY:.*$/m, `SUMMARY:${e.summary} (server)`));
      }
      await dav.deleteItem(find(events[7]!.summary).href);
      await dav.putItem('calendar', 'server-added.ics', [
        'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//other client//EN', ...BERLIN_VTIMEZONE,
        'BEGIN:VEVENT', 'UID:server-added-1', 'DTSTAMP:20250101T000000Z', 'SUMMARY:Added on the server',
        'DTSTART;TZID=Europe/Berlin:20250720T090000', 'DTEND;TZID=Europe/Berlin:20250720T100000',
        'ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@example.org', 'ORGANIZER;CN=Alice:mailto:alice@example.org',
        'END:VEVENT', 'END:VCALENDAR', '',
      ].join('\r\n'));
      await dav.putItem('tasks', 'server-task.ics', [
        'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//other client//EN',
        'BEGIN:VTODO', 'UID:server-task-1', 'DTSTAMP:20250101T000000Z', 'SUMMARY:Task from the server',
        'DUE:20250830T150000Z', 'PRIORITY:1', 'STATUS:NEEDS-ACTION', 'END:VTODO', 'END:VCALENDAR', '',
      ].join('\r\n'));

      const report = await phone.sync('two-way', { only: ['calendar', 'tasks'] });
      assert.equal(report.exitCode, 0, report.output.slice(-3000));
      const c = report.datastores['calendar']!;
      assert.deepEqual(
        { localNew: c.localNew, localMod: c.localMod, localDel: c.localDel, remoteNew: c.remoteNew, remoteMod: c.remoteMod, remoteDel: c.remoteDel },
        { localNew: 1, localMod: 2, localDel: 1, remoteNew: 1, remoteMod: 2, remoteDel: 1 },
        report.output.slice(-3000),
      );
      const t = report.datastores['tasks']!;
      assert.deepEqual({ localNew: t.localNew, remoteMod: t.remoteMod }, { localNew: 1, remoteMod: 1 }, report.output.slice(-3000));

      for (const ds of ['calendar', 'tasks'] as const) {
        const phoneNow = keyed((await phone.readItems(ds)).values());
        const serverNow = keyed((await dav.listItems(ds)).map((i) => i.data));
        assert.deepEqual([...phoneNow.keys()].sort(), [...serverNow.keys()].sort(), `${ds}: same items on both sides`);
        for (const [k, s] of serverNow) assert.equal(comparable(phoneNow.get(k)!), comparable(s), `${ds}: ${k}`);
      }
      const serverEvents = keyed((await dav.listItems('calendar')).map((i) => i.data));
      assert.equal(serverEvents.size, 10 + 1 - 1 - 1 + 1);
      assert.equal(serverEvents.get(moved.summary)?.start, expectedStart(moved));
      assert.ok(serverEvents.get(renamed.summary)?.rrule, 'the renamed weekly event still recurs');
      assert.ok(serverEvents.has(`${events[5]!.summary} (server)`));
      assert.ok(!serverEvents.has(events[1]!.summary) && !serverEvents.has(events[7]!.summary));
      assert.equal((await dav.listItems('tasks')).length, 6);
      assert.equal(keyed((await dav.listItems('tasks')).map((i) => i.data)).get(tasks[0]!.summary)?.status, 'COMPLETED');
      // The server's attendees survive the trip through the phone.
      const serverAdded = (await dav.listItems('calendar')).find((i) => i.data.includes('UID:server-added-1'));
      assert.ok(serverAdded && /ATTENDEE/.test(serverAdded.data) && /ORGANIZER/.test(serverAdded.data));
    });

    it('(c) a sync with no changes changes nothing', async function () {
      const before = [...(await dav.listItems('calendar')), ...(await dav.listItems('tasks'))];
      const report = await phone.sync('two-way', { only: ['calendar', 'tasks'] });
      assert.equal(report.exitCode, 0, report.output.slice(-3000));
      for (const ds of ['calendar', 'tasks']) {
        const r = report.datastores[ds]!;
        assert.deepEqual([r.localNew, r.localMod, r.localDel, r.remoteNew, r.remoteMod, r.remoteDel], [0, 0, 0, 0, 0, 0], `${ds}\n${report.output.slice(-3000)}`);
        assert.equal(r.actualMode.includes('slow'), false, `mode ${r.actualMode}`);
      }
      const after = [...(await dav.listItems('calendar')), ...(await dav.listItems('tasks'))];
      assert.deepEqual(after.map((i) => `${i.href} ${i.etag}`).sort(), before.map((i) => `${i.href} ${i.etag}`).sort());
    });

    it('(d) refresh-from-server into a second phone, then one-way-from-client and one-way-from-server between the two', async function () {
      const second = new SyncEvolutionClient({
        dir: path.join(dir, 'phone2'), deviceId: 'sc-second', url: gw.url, user: 'alice', password: dav.password, auth: 'basic',
        legacy, datastores: { calendar: 'calendar', tasks: 'tasks' },
      });
      const r = await second.sync('refresh-from-server', { only: ['calendar', 'tasks'] });
      assert.equal(r.exitCode, 0, r.output.slice(-3000));
      const serverAll = async (): Promise<string[]> => [...keyed([...(await dav.listItems('calendar')), ...(await dav.listItems('tasks'))].map((i) => i.data)).values()].map(comparable).sort();
      const phoneAll = async (p: SyncEvolutionClient): Promise<string[]> => [...keyed([...(await p.readItems('calendar')).values(), ...(await p.readItems('tasks')).values()]).values()].map(comparable).sort();
      assert.deepEqual(await phoneAll(second), await serverAll(), 'the new phone holds every event and task');

      // The second phone renames an event and sends it one way; the first phone receives it one way.
      await new Promise((res) => setTimeout(res, 1100));
      const [name, text] = [...(await second.readItems('calendar')).entries()][0]!;
      const renamed = text.replace(/^SUMMARY([^:\r\n]*):(.*)$/m, 'SUMMARY$1:$2 (moved)');
      second.writeItem('calendar', name, renamed);
      const up = await second.sync('one-way-from-client', { only: ['calendar', 'tasks'] });
      assert.equal(up.exitCode, 0, up.output.slice(-3000));
      assert.equal(up.datastores['calendar']?.remoteMod, 1);
      const down = await phone.sync('one-way-from-server', { only: ['calendar', 'tasks'] });
      assert.equal(down.exitCode, 0, down.output.slice(-3000));
      assert.equal(down.datastores['calendar']?.localMod, 1);
      assert.deepEqual(await phoneAll(phone), await serverAll(), 'the first phone got the change');
    });

    it('(e) an event with a 45 KB description travels as a large object both ways (MaxMsgSize 8000), every byte intact', async function () {
      const small = (id: string): SyncEvolutionClient => new SyncEvolutionClient({
        dir: path.join(dir, id), deviceId: `sc-${id}`, url: gw.url, user: 'alice', password: dav.password, auth: 'basic',
        legacy, maxMsgSize: 8000, datastores: { calendar: 'calendar', tasks: 'tasks' },
      });
      const description = Array.from({ length: 700 }, (_, i) => `Zeile ${i + 1}: Tagesordnung für Zoë, Ελληνικά, 日本語.`).join('\n');
      const descOf = (text: string): string => {
        const ical = /VERSION:1\.0/.test(text) ? convertCalendar(text, 'ical20', { defaultTimezone: ZONE }) : text;
        const ev = new ICAL.Component(ICAL.parse(ical) as unknown[]).getFirstSubcomponent('vevent');
        return String(ev?.getFirstPropertyValue('description') ?? '').replace(/\r\n?/g, '\n');
      };
      const sender = small('big-sender');
      assert.equal((await sender.sync('slow', { only: ['calendar'] })).exitCode, 0);
      await new Promise((res) => setTimeout(res, 1100));
      const escaped = description.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\n/g, '\\n');
      const lines = legacy
        ? ['BEGIN:VCALENDAR', 'VERSION:1.0', 'BEGIN:VEVENT', 'UID:big-event@example.org', 'SUMMARY:Big agenda', 'DTSTART:20250801T090000Z', 'DTEND:20250801T100000Z',
          `DESCRIPTION;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:${[...Buffer.from(description.replace(/\n/g, '\r\n'))].map((b) => (b >= 0x21 && b <= 0x7e && b !== 0x3d ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('')}`,
          'END:VEVENT', 'END:VCALENDAR']
        : ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//interop test//EN', 'BEGIN:VEVENT', 'UID:big-event@example.org', 'DTSTAMP:20250101T120000Z', 'SUMMARY:Big agenda',
          'DTSTART:20250801T090000Z', 'DTEND:20250801T100000Z', `DESCRIPTION:${escaped}`, 'END:VEVENT', 'END:VCALENDAR'];
      sender.writeItem('calendar', 'big-event.ics', `${lines.join('\r\n')}\r\n`);
      assert.ok(Buffer.byteLength(description) > 5 * 8000, 'much larger than one message');
      const up = await sender.sync('two-way', { only: ['calendar'] });
      assert.equal(up.exitCode, 0, up.output.slice(-3000));
      assert.equal(up.datastores['calendar']?.remoteNew, 1);
      const onServer = (await dav.listItems('calendar')).find((i) => i.data.includes('Big agenda'));
      assert.ok(onServer, 'the event is on the server');
      assert.equal(descOf(onServer.data), description, 'description unchanged on the server');
      assert.ok(gw.logLines().every((l) => l['status'] !== 424), 'no size mismatch');

      const receiver = small('big-receiver');
      const down = await receiver.sync('slow', { only: ['calendar'] });
      assert.equal(down.exitCode, 0, down.output.slice(-3000));
      const got = [...(await receiver.readItems('calendar')).values()].find((t) => t.includes('Big agenda'));
      assert.ok(got, 'the event reached the second phone');
      assert.equal(descOf(got), description, 'description unchanged on the second phone');
    });
  });
}
