// What differs between CardDAV (RFC 6352) and CalDAV (RFC 4791) for the store: file extension,
// media type, multiget report and data property names, and how to find an item's UID.
import type { ItemKind } from './datastore.js';

export const NS = {
  'xmlns:d': 'DAV:',
  'xmlns:card': 'urn:ietf:params:xml:ns:carddav',
  'xmlns:c': 'urn:ietf:params:xml:ns:caldav',
  'xmlns:cs': 'http://calendarserver.org/ns/',
} as const;

export interface DavDialect {
  readonly protocol: 'carddav' | 'caldav';
  readonly extension: '.vcf' | '.ics';
  readonly contentType: string;
  /** Prefixed report element, e.g. `card:addressbook-multiget`. */
  readonly multiget: string;
  /** Prefixed data property requested in the multiget, e.g. `card:address-data`. */
  readonly dataProp: string;
  /** Key of the data property in tsdav's camelCased parse (`addressData`, `calendarData`). */
  readonly dataKey: 'addressData' | 'calendarData';
  /** iCalendar component the collection holds (CalDAV only). */
  readonly component?: 'VEVENT' | 'VTODO' | 'VJOURNAL';
}

const CARDDAV: DavDialect = {
  protocol: 'carddav',
  extension: '.vcf',
  contentType: 'text/vcard; charset=utf-8',
  multiget: 'card:addressbook-multiget',
  dataProp: 'card:address-data',
  dataKey: 'addressData',
};

function caldav(component: 'VEVENT' | 'VTODO' | 'VJOURNAL'): DavDialect {
  return {
    protocol: 'caldav',
    extension: '.ics',
    contentType: 'text/calendar; charset=utf-8',
    multiget: 'c:calendar-multiget',
    dataProp: 'c:calendar-data',
    dataKey: 'calendarData',
    component,
  };
}

export function dialectFor(kind: ItemKind): DavDialect {
  switch (kind) {
    case 'contacts':
      return CARDDAV;
    case 'events':
      return caldav('VEVENT');
    case 'tasks':
      return caldav('VTODO');
    case 'notes':
      return caldav('VJOURNAL');
  }
}

/**
 * The first UID property of a vCard or iCalendar object (RFC 6350 §6.7.6, RFC 5545 §3.8.4.7),
 * after unfolding. VTIMEZONE has no UID, so for iCalendar this is the first component's UID.
 */
export function extractUid(data: string): string | undefined {
  const unfolded = data.replace(/\r?\n[ \t]/g, '');
  const m = /^UID(?:;[^:\r\n]*)?:([^\r\n]*)$/im.exec(unfolded);
  const uid = m?.[1].trim();
  return uid ? uid : undefined;
}

/**
 * Give an item without UID one (RFC 6352 §5.1 and RFC 4791 §4.1 require it; Radicale 3.1
 * refuses such a PUT with 400 "VCARD object without UID"). vCard: after BEGIN:VCARD;
 * iCalendar: in every VEVENT/VTODO/VJOURNAL (overrides of one series share the UID).
 */
export function ensureUid(data: string, uid: string): string {
  if (extractUid(data) !== undefined) return data;
  const eol = data.includes('\r\n') ? '\r\n' : '\n';
  return data.replace(
    /^BEGIN:(VCARD|VEVENT|VTODO|VJOURNAL)[ \t]*\r?\n/gim,
    (line) => `${line}UID:${uid}${eol}`,
  );
}
