// Field filters for events and to-dos (the device's CTCap): send only what the phone can store,
// and when it sends an item back, keep the server's values of what it could not store.
import { capFor, type FieldFilter } from '../convert/filters/index.js';
import { parseVersit, serializeVersit, type VersitComponent, type VersitVersion } from '../convert/versit/index.js';

/** Always sent: structure and identity, whatever the CTCap lists. */
const STRUCTURAL = new Set(['BEGIN', 'END', 'VERSION', 'UID', 'PRODID', 'TZ', 'DAYLIGHT', 'DTSTAMP']);
const ITEM_COMPONENTS = new Set(['VEVENT', 'VTODO', 'VJOURNAL']);
/** Text values a phone may cut to its MaxSize. */
const TEXT = new Set(['SUMMARY', 'DESCRIPTION', 'LOCATION', 'COMMENT']);

const utf8 = new TextEncoder();

function truncateUtf8(s: string, maxBytes: number): string {
  const bytes = utf8.encode(s);
  if (bytes.length <= maxBytes) return s;
  let end = maxBytes;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(bytes.subarray(0, end));
}

function hasCaps(filter: FieldFilter | undefined): filter is FieldFilter {
  return !!filter && Object.keys(filter.properties).length > 0;
}

/** Reduce a device-format calendar item to the properties (and sizes) the device stores. */
export function filterCalendarForDevice(text: string, filter: FieldFilter | undefined, version: VersitVersion): string {
  if (!hasCaps(filter)) return text;
  const [cal] = parseVersit(text);
  if (!cal) return text;
  const walk = (c: VersitComponent): void => {
    if (ITEM_COMPONENTS.has(c.name)) {
      c.properties = c.properties.flatMap((p) => {
        if (STRUCTURAL.has(p.name)) return [p];
        const cap = capFor(filter, p.name);
        if (!cap) return [];
        if (cap.maxSize !== undefined && TEXT.has(p.name) && !cap.noTruncate) return [{ ...p, value: truncateUtf8(p.value, cap.maxSize) }];
        return [p];
      });
      // VALARM (iCalendar) is storable when the device lists it or the vCal alarm properties.
      if (!capFor(filter, 'VALARM') && !capFor(filter, 'AALARM') && !capFor(filter, 'DALARM')) {
        c.components = c.components.filter((x) => x.name !== 'VALARM');
      }
    }
    c.components.forEach(walk);
  };
  walk(cal);
  return serializeVersit(cal, { version });
}

/**
 * The device's item (server format) completed with the server's values of properties the device
 * cannot store, and of text it cut to its MaxSize, so that the merge does not take their absence
 * (or the cut) for a change the user made.
 */
export function protectUnstorable(serverData: string, deviceAsServer: string, filter: FieldFilter | undefined): string {
  if (!hasCaps(filter)) return deviceAsServer;
  const [server] = parseVersit(serverData);
  const [device] = parseVersit(deviceAsServer);
  if (!server || !device) return deviceAsServer;
  const sItem = server.components.find((c) => ITEM_COMPONENTS.has(c.name));
  const dItem = device.components.find((c) => ITEM_COMPONENTS.has(c.name));
  if (!sItem || !dItem) return deviceAsServer;
  const alarmsStorable = !!(capFor(filter, 'VALARM') || capFor(filter, 'AALARM') || capFor(filter, 'DALARM'));
  for (const p of sItem.properties) {
    if (STRUCTURAL.has(p.name)) continue;
    const cap = capFor(filter, p.name);
    const onDevice = dItem.properties.filter((d) => d.name === p.name);
    if (!cap) {
      if (onDevice.length === 0) dItem.properties.push(p);
      continue;
    }
    if (cap.maxSize !== undefined && TEXT.has(p.name) && onDevice.length === 1) {
      const d = onDevice[0]!;
      if (d.value !== p.value && p.value.startsWith(d.value) && utf8.encode(d.value).length <= cap.maxSize) d.value = p.value;
    }
  }
  if (!alarmsStorable && !dItem.components.some((c) => c.name === 'VALARM')) {
    dItem.components.push(...sItem.components.filter((c) => c.name === 'VALARM'));
  }
  return serializeVersit(device, { version: 'ical2.0' });
}
