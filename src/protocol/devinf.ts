// Device information (OMA DS DevInf 1.1/1.2): reading the client's and writing the server's.
import { childElements, childText, el, firstChild, textOf, type SmlElement, type SmlNode } from '../codec/tree.js';
import { DEVINF_NS, type SyncMLVersion } from '../codec/model.js';
import type { DeviceFormat } from '../sync/types.js';
import { ctCapsForDataStore, type FieldFilter } from '../convert/filters/index.js';
import type { DatastoreMapping } from '../accounts/mappings.js';

export interface DeviceDatastoreInfo {
  sourceRef: string;
  displayName?: string;
  maxGuidSize?: number;
  rxPref?: DeviceFormat;
  rx: DeviceFormat[];
  txPref?: DeviceFormat;
  tx: DeviceFormat[];
  syncTypes: number[];
  /** Field filters from the device's CTCap for this datastore (plain JSON). */
  filters: FieldFilter[];
}

export interface DeviceInfo {
  verDTD?: string;
  man?: string;
  mod?: string;
  fwV?: string;
  swV?: string;
  devId?: string;
  devTyp?: string;
  utc: boolean;
  supportLargeObjs: boolean;
  supportNumberOfChanges: boolean;
  datastores: DeviceDatastoreInfo[];
}

function fmt(e: SmlElement | undefined): DeviceFormat | undefined {
  if (!e) return undefined;
  const type = childText(e, 'CTType');
  if (!type) return undefined;
  const version = childText(e, 'VerCT');
  return version ? { type, version } : { type };
}

export function parseDevInf(devInf: SmlElement): DeviceInfo {
  const opt = (name: string): string | undefined => childText(devInf, name);
  const info: DeviceInfo = {
    utc: !!firstChild(devInf, 'UTC'),
    supportLargeObjs: !!firstChild(devInf, 'SupportLargeObjs'),
    supportNumberOfChanges: !!firstChild(devInf, 'SupportNumberOfChanges'),
    datastores: childElements(devInf, 'DataStore').map((ds) => {
      const maxGuid = childText(ds, 'MaxGUIDSize');
      const syncCap = firstChild(ds, 'SyncCap');
      const out: DeviceDatastoreInfo = {
        sourceRef: childText(ds, 'SourceRef') ?? '',
        rx: childElements(ds, 'Rx').map(fmt).filter((f): f is DeviceFormat => !!f),
        tx: childElements(ds, 'Tx').map(fmt).filter((f): f is DeviceFormat => !!f),
        syncTypes: syncCap ? childElements(syncCap, 'SyncType').map((t) => Number(textOf(t))).filter(Number.isFinite) : [],
        filters: safeFilters(devInf, childText(ds, 'SourceRef') ?? ''),
      };
      const dn = childText(ds, 'DisplayName');
      if (dn) out.displayName = dn;
      if (maxGuid && Number.isFinite(Number(maxGuid))) out.maxGuidSize = Number(maxGuid);
      const rxPref = fmt(firstChild(ds, 'Rx-Pref'));
      if (rxPref) out.rxPref = rxPref;
      const txPref = fmt(firstChild(ds, 'Tx-Pref'));
      if (txPref) out.txPref = txPref;
      return out;
    }),
  };
  const fields: Array<[keyof DeviceInfo, string]> = [['verDTD', 'VerDTD'], ['man', 'Man'], ['mod', 'Mod'], ['fwV', 'FwV'], ['swV', 'SwV'], ['devId', 'DevID'], ['devTyp', 'DevTyp']];
  for (const [k, name] of fields) {
    const v = opt(name);
    if (v !== undefined) (info as unknown as Record<string, unknown>)[k] = v;
  }
  return info;
}

function safeFilters(devInf: SmlElement, sourceRef: string): FieldFilter[] {
  try {
    return ctCapsForDataStore(devInf, sourceRef);
  } catch {
    // A CTCap we cannot read means "no filter": the device gets everything and merge keeps
    // whatever it does not send, so nothing is lost.
    return [];
  }
}

/** Formats the server offers per item kind: what it prefers to receive first. */
export const SERVER_FORMATS: Record<string, { pref: DeviceFormat; others: DeviceFormat[] }> = {
  contacts: { pref: { type: 'text/x-vcard', version: '2.1' }, others: [{ type: 'text/vcard', version: '3.0' }] },
  events: { pref: { type: 'text/x-vcalendar', version: '1.0' }, others: [{ type: 'text/calendar', version: '2.0' }] },
  tasks: { pref: { type: 'text/x-vcalendar', version: '1.0' }, others: [{ type: 'text/calendar', version: '2.0' }] },
  notes: { pref: { type: 'text/plain', version: '1.0' }, others: [{ type: 'text/x-vnote', version: '1.1' }] },
};

export interface ServerDevInfOptions {
  version: SyncMLVersion;
  serverId: string;
  softwareVersion: string;
  datastores: DatastoreMapping[];
  maxGuidSize?: number;
}

/** The server's DevInf, answered to a Get of ./devinf1x. */
export function buildServerDevInf(o: ServerDevInfOptions): SmlElement {
  const t = (name: string, value: string): SmlElement => el(name, [value]);
  const ct = (name: string, f: DeviceFormat): SmlElement => el(name, [t('CTType', f.type), t('VerCT', f.version ?? '')]);
  const verDTD = o.version === '1.2' ? '1.2' : o.version === '1.1' ? '1.1' : '1.0';
  const kids: SmlNode[] = [
    t('VerDTD', verDTD), t('Man', 'syncml-dav-gateway'), t('Mod', 'SyncML DAV gateway'), t('OEM', 'syncml-dav-gateway'),
    t('FwV', o.softwareVersion), t('SwV', o.softwareVersion), t('HwV', 'server'), t('DevID', o.serverId), t('DevTyp', 'server'),
  ];
  if (o.version !== '1.0') kids.push(el('UTC'), el('SupportLargeObjs'), el('SupportNumberOfChanges'));
  const flatCaps: SmlNode[] = [];
  const seen = new Set<string>();
  for (const ds of o.datastores) {
    const formats = SERVER_FORMATS[ds.kind]!;
    const dsKids: SmlNode[] = [t('SourceRef', ds.uris[0] ?? ds.name), t('DisplayName', ds.name), t('MaxGUIDSize', String(o.maxGuidSize ?? 255))];
    dsKids.push(ct('Rx-Pref', formats.pref), ...formats.others.map((f) => ct('Rx', f)));
    dsKids.push(ct('Tx-Pref', formats.pref), ...formats.others.map((f) => ct('Tx', f)));
    const caps = SERVER_CTCAPS[ds.kind];
    for (const f of caps ? [formats.pref, ...formats.others] : []) {
      // 1.2: CTCap per DataStore, nested Property/PropParam; 1.1/1.0: one flat list in DevInf.
      if (o.version === '1.2') dsKids.push(ctCap12(f, caps!));
      else if (!seen.has(f.type)) {
        seen.add(f.type);
        flatCaps.push(...ctCapFlat(f, caps!));
      }
    }
    dsKids.push(el('SyncCap', [1, 2, 3, 4, 5, 6, 7].map((n) => t('SyncType', String(n)))));
    kids.push(el('DataStore', dsKids));
  }
  if (flatCaps.length) kids.push(el('CTCap', flatCaps));
  return el('DevInf', kids, DEVINF_NS);
}

/** What the gateway stores of each property (everything it converts); params with their values. */
type CapList = Array<[name: string, values?: string[], params?: Record<string, string[]>]>;

const SERVER_CTCAPS: Partial<Record<string, CapList>> = {
  contacts: [
    ['BEGIN', ['VCARD']], ['END', ['VCARD']], ['VERSION', ['2.1', '3.0']], ['N'], ['FN'],
    ['TEL', undefined, { TYPE: ['HOME', 'WORK', 'CELL', 'VOICE', 'FAX', 'PAGER', 'PREF', 'CAR', 'MSG', 'VIDEO'] }],
    ['EMAIL', undefined, { TYPE: ['INTERNET', 'HOME', 'WORK', 'PREF'] }],
    ['ADR', undefined, { TYPE: ['HOME', 'WORK', 'PREF', 'DOM', 'INTL', 'POSTAL', 'PARCEL'] }],
    ['URL', undefined, { TYPE: ['HOME', 'WORK'] }], ['ORG'], ['TITLE'], ['ROLE'], ['NOTE'], ['BDAY'], ['ANNIVERSARY'],
    ['NICKNAME'], ['CATEGORIES'], ['PHOTO', undefined, { TYPE: ['JPEG', 'PNG', 'GIF'] }], ['UID'], ['REV'], ['GEO'], ['X-*'],
  ],
  events: [
    ['BEGIN', ['VCALENDAR', 'VEVENT', 'VTODO', 'VALARM', 'VTIMEZONE']], ['END', ['VCALENDAR', 'VEVENT', 'VTODO', 'VALARM', 'VTIMEZONE']],
    ['VERSION', ['1.0', '2.0']], ['UID'], ['SUMMARY'], ['DESCRIPTION'], ['LOCATION'], ['DTSTART'], ['DTEND'], ['DURATION'],
    ['RRULE'], ['EXDATE'], ['AALARM'], ['DALARM'], ['TRIGGER'], ['STATUS'], ['CLASS'], ['CATEGORIES'], ['PRIORITY'],
    ['ATTENDEE'], ['TZ'], ['DAYLIGHT'], ['LAST-MODIFIED'], ['X-*'],
  ],
};
SERVER_CTCAPS['tasks'] = [...SERVER_CTCAPS['events']!, ['DUE'], ['COMPLETED'], ['PERCENT-COMPLETE']];

function ctCap12(f: DeviceFormat, caps: CapList): SmlElement {
  const t = (name: string, value: string): SmlElement => el(name, [value]);
  return el('CTCap', [
    t('CTType', f.type), t('VerCT', f.version ?? ''),
    ...caps.map(([name, values, params]) => el('Property', [
      t('PropName', name),
      ...(values ?? []).map((v) => t('ValEnum', v)),
      ...Object.entries(params ?? {}).map(([p, vs]) => el('PropParam', [t('ParamName', p), ...vs.map((v) => t('ValEnum', v))])),
    ])),
  ]);
}

function ctCapFlat(f: DeviceFormat, caps: CapList): SmlNode[] {
  const t = (name: string, value: string): SmlElement => el(name, [value]);
  const out: SmlNode[] = [t('CTType', f.type)];
  for (const [name, values, params] of caps) {
    out.push(t('PropName', name), ...(values ?? []).map((v) => t('ValEnum', v)));
    for (const [p, vs] of Object.entries(params ?? {})) out.push(t('ParamName', p), ...vs.map((v) => t('ValEnum', v)));
  }
  return out;
}
