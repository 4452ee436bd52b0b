// Throughput of vCalendar 1.0 <-> iCalendar 2.0 item conversion (events/s each way).
import { convertCalendar } from '../src/convert/calendar.js';

const VCAL =
  'BEGIN:VCALENDAR\r\nVERSION:1.0\r\nTZ:+01\r\nDAYLIGHT:TRUE;+02;20240331T020000;20241027T030000;;\r\n' +
  'BEGIN:VEVENT\r\nUID:bench-1\r\nSUMMARY;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Besprechung M=C3=BCller\r\n' +
  'DTSTART:20240610T090000\r\nDTEND:20240610T100000\r\nRRULE:W1 MO WE #10\r\nAALARM:20240610T084500;;;\r\n' +
  'CATEGORIES:BUSINESS;MEETING\r\nPRIORITY:2\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';

function rate(fn: () => void, ms = 1500): number {
  for (let i = 0; i < 50; i++) fn(); // warm-up
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) {
    fn();
    n++;
  }
  return Math.round((n * 1000) / (performance.now() - t0));
}

export async function benchVcal(): Promise<Record<string, number>> {
  const ical = convertCalendar(VCAL, 'ical20', { now: new Date(0) });
  const toIcal = rate(() => convertCalendar(VCAL, 'ical20', { now: new Date(0) }));
  const toVcal = rate(() => convertCalendar(ical, 'vcal10'));
  return { 'vcal10->ical20 events/s': toIcal, 'ical20->vcal10 events/s': toVcal };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchVcal();
  for (const [k, v] of Object.entries(r)) console.log(`${k}: ${v}`);
}
