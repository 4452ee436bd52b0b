// Reads a device's CTCap (DevInf 1.0/1.1 flat lists at DevInf level, 1.2 nested per DataStore)
// into field filters: which properties, how many of each, how long, which parameters it stores.
import { childElements, childText, isElement, textOf } from '../../codec/tree.js';
import type { SmlElement } from '../../codec/tree.js';

export interface PropertyCap {
  /** Most occurrences the device stores (DevInf 1.2 MaxOccur). */
  maxOccur?: number;
  /** Longest value the device stores (1.2 MaxSize, 1.1 Size), counted in UTF-8 bytes. */
  maxSize?: number;
  /** 1.2 NoTruncate: the device rejects a longer value instead of cutting it. */
  noTruncate?: boolean;
  /**
   * Parameters the device stores, upper-case name -> allowed values (upper-case); an empty list
   * allows any value. Undefined: the device said nothing about parameters (everything is kept).
   * 1.0/1.1 bare ParamNames (`<ParamName>CELL</ParamName>`) are TYPE values.
   */
  params?: Record<string, string[]>;
  /** Allowed values of the property itself (CLASS: PUBLIC, PRIVATE). */
  valEnum?: string[];
  /** DataType as sent (`chr`, `int`, `bin` …). */
  dataType?: string;
}

export interface FieldFilter {
  /** Lower-case content type (`text/x-vcard`). */
  ctType: string;
  verCt?: string;
  /** Upper-case property name -> capability; a name ending in `*` (`X-*`) is a prefix wildcard. */
  properties: Record<string, PropertyCap>;
  /**
   * vCalendar PRIORITY scale of the device (3 phones, 5 Palm, 9 Psion/desktop): from a device
   * profile, else from the PRIORITY ValEnum of its CTCap. Declares values, restricts nothing.
   */
  priorityScale?: 3 | 5 | 9;
  /**
   * Charset of the device's 8-bit data without a CHARSET parameter (device profile `charset`,
   * e.g. SHIFT_JIS for Japanese handsets); default: UTF-8 when valid, else the card's declared
   * charset, else Windows-1252.
   */
  charset?: string;
}

/** Real vCard/vCalendar parameter names; any other 1.0/1.1 ParamName is a bare TYPE value. */
const PARAM_NAMES = new Set([
  'TYPE', 'VALUE', 'ENCODING', 'CHARSET', 'LANGUAGE', 'PREF', 'MEDIATYPE', 'ALTID', 'PID', 'SORT-AS',
  'CALSCALE', 'GEO', 'TZ', 'LABEL', 'CN', 'ROLE', 'RSVP', 'STATUS', 'EXPECT', 'PARTSTAT', 'CUTYPE',
  'MEMBER', 'DELEGATED-TO', 'DELEGATED-FROM', 'SENT-BY', 'DIR', 'RELATED', 'RANGE', 'FMTTYPE', 'TZID',
  'ALTREP', 'FBTYPE', 'RELTYPE', 'X-EPOCSOUND',
]);

function num(s: string | undefined): number | undefined {
  if (s === undefined || !/^\s*\d+\s*$/.test(s)) return undefined;
  return Number(s);
}

function text(e: SmlElement): string {
  return (textOf(e) ?? '').trim();
}

function addParam(cap: PropertyCap, name: string, values: string[]): void {
  cap.params ??= {};
  const list = (cap.params[name] ??= []);
  for (const v of values) if (!list.includes(v)) list.push(v);
}

/** A ParamName with its ValEnums, as a (name, values) pair; bare 1.1 type tokens become TYPE. */
function paramEntry(name: string, values: string[]): [string, string[]] {
  const up = name.toUpperCase();
  if (values.length === 0 && !PARAM_NAMES.has(up)) return ['TYPE', [up]];
  return [up, values.map((v) => v.toUpperCase())];
}

function mergeCap(into: PropertyCap, from: PropertyCap): void {
  // Funambol repeats a Property per parameter combination (TEL;FAX;HOME, TEL;FAX;WORK): union.
  if (from.maxOccur !== undefined) into.maxOccur = Math.max(into.maxOccur ?? 0, from.maxOccur);
  if (from.maxSize !== undefined) into.maxSize = Math.max(into.maxSize ?? 0, from.maxSize);
  if (from.noTruncate) into.noTruncate = true;
  if (from.dataType !== undefined) into.dataType ??= from.dataType;
  if (from.valEnum) for (const v of from.valEnum) if (!(into.valEnum ??= []).includes(v)) into.valEnum.push(v);
  if (from.params) for (const [k, v] of Object.entries(from.params)) addParam(into, k, v);
}

function putProperty(filter: FieldFilter, name: string, cap: PropertyCap): void {
  const prev = filter.properties[name];
  if (prev) mergeCap(prev, cap);
  else filter.properties[name] = cap;
}

/** DevInf 1.2: CTCap (CTType, VerCT, FieldLevel?, Property+). Child order is not relied on. */
function parseNested(ctCap: SmlElement): FieldFilter | undefined {
  const ctType = childText(ctCap, 'CTType');
  if (!ctType) return undefined;
  const filter: FieldFilter = { ctType: ctType.toLowerCase(), properties: {} };
  const verCt = childText(ctCap, 'VerCT');
  if (verCt) filter.verCt = verCt;
  for (const prop of childElements(ctCap, 'Property')) {
    const name = childText(prop, 'PropName')?.toUpperCase();
    if (!name) continue;
    const cap: PropertyCap = {};
    const maxOccur = num(childText(prop, 'MaxOccur'));
    if (maxOccur !== undefined) cap.maxOccur = maxOccur;
    // Some 1.1-era encoders write Size inside a 1.2 Property; both mean the same.
    const maxSize = num(childText(prop, 'MaxSize') ?? childText(prop, 'Size'));
    if (maxSize !== undefined && maxSize > 0) cap.maxSize = maxSize;
    if (childElements(prop, 'NoTruncate').length > 0) cap.noTruncate = true;
    const dataType = childText(prop, 'DataType');
    if (dataType) cap.dataType = dataType;
    const vals = childElements(prop, 'ValEnum').map(text).filter((v) => v !== '');
    if (vals.length > 0) cap.valEnum = vals;
    for (const pp of childElements(prop, 'PropParam')) {
      const pn = childText(pp, 'ParamName');
      if (!pn) continue;
      const [k, v] = paramEntry(pn, childElements(pp, 'ValEnum').map(text).filter((x) => x !== ''));
      addParam(cap, k, v);
    }
    putProperty(filter, name, cap);
  }
  return filter;
}

/**
 * DevInf 1.0/1.1: one CTCap holds a flat sequence; CTType starts a content type, PropName a
 * property, ParamName a parameter. ValEnum/DataType/Size belong to the last PropName or
 * ParamName (DTD: `CTType, (PropName, (ValEnum+ | (DataType, Size?))?, DisplayName?, (ParamName,
 * (ValEnum+ | (DataType, Size?))?, DisplayName?)*)+`).
 */
function parseFlat(ctCap: SmlElement): FieldFilter[] {
  const out: FieldFilter[] = [];
  let filter: FieldFilter | undefined;
  let prop: PropertyCap | undefined;
  let param: { name: string; values: string[] } | undefined;
  const closeParam = (): void => {
    if (prop && param) {
      const [k, v] = paramEntry(param.name, param.values);
      addParam(prop, k, v);
    }
    param = undefined;
  };
  for (const c of ctCap.children) {
    if (!isElement(c)) continue;
    const v = text(c);
    switch (c.name) {
      case 'CTType':
        closeParam();
        filter = { ctType: v.toLowerCase(), properties: {} };
        out.push(filter);
        prop = undefined;
        break;
      case 'VerCT':
        if (filter && v) filter.verCt = v;
        break;
      case 'PropName':
        closeParam();
        if (!filter || v === '') {
          prop = undefined;
          break;
        }
        // A name listed twice (a Symbian vCalendar CTCap lists STATUS twice) continues the first entry.
        prop = filter.properties[v.toUpperCase()] ??= {};
        break;
      case 'ParamName':
        closeParam();
        if (prop && v !== '') param = { name: v, values: [] };
        break;
      case 'ValEnum':
        if (v === '') break;
        if (param) param.values.push(v);
        else if (prop && !(prop.valEnum ??= []).includes(v)) prop.valEnum.push(v);
        break;
      case 'DataType':
        if (!param && prop && v) prop.dataType = v;
        break;
      case 'Size':
      case 'MaxSize': {
        const n = num(v);
        if (!param && prop && n !== undefined && n > 0) prop.maxSize = n;
        break;
      }
      case 'MaxOccur': {
        const n = num(v);
        if (!param && prop && n !== undefined) prop.maxOccur = n;
        break;
      }
      case 'NoTruncate':
        if (!param && prop) prop.noTruncate = true;
        break;
      default:
        break;
    }
  }
  closeParam();
  return out;
}

function parseCtCap(ctCap: SmlElement): FieldFilter[] {
  if (childElements(ctCap, 'Property').length > 0) {
    const f = parseNested(ctCap);
    return f ? [f] : [];
  }
  return parseFlat(ctCap);
}

/**
 * Field filters from a DevInf (its own 1.0/1.1 CTCaps and those of every DataStore) or from one
 * 1.2 DataStore. Entries for the same content type and version are merged.
 */
export function parseCtCaps(devInfOrDataStore: SmlElement): FieldFilter[] {
  const caps = [...childElements(devInfOrDataStore, 'CTCap')];
  for (const ds of childElements(devInfOrDataStore, 'DataStore')) caps.push(...childElements(ds, 'CTCap'));
  const out: FieldFilter[] = [];
  for (const f of caps.flatMap(parseCtCap)) {
    const same = out.find((o) => o.ctType === f.ctType && o.verCt === f.verCt);
    if (!same) out.push(f);
    else for (const [name, cap] of Object.entries(f.properties)) putProperty(same, name, cap);
  }
  return out;
}

/**
 * The filters that apply to one DataStore (by SourceRef): its own 1.2 CTCaps, else the DevInf-level
 * 1.0/1.1 CTCaps of the content types it lists in Rx/Tx.
 */
export function ctCapsForDataStore(devInf: SmlElement, sourceRef: string): FieldFilter[] {
  const ds = childElements(devInf, 'DataStore').find((d) => childText(d, 'SourceRef') === sourceRef);
  if (!ds) return [];
  const own = parseCtCaps({ name: 'DataStore', children: childElements(ds, 'CTCap') });
  if (own.length > 0) return own;
  const types = new Set<string>();
  for (const tag of ['Rx-Pref', 'Rx', 'Tx-Pref', 'Tx']) {
    for (const e of childElements(ds, tag)) {
      const t = childText(e, 'CTType');
      if (t) types.add(t.toLowerCase());
    }
  }
  const global = childElements(devInf, 'CTCap').flatMap(parseCtCap);
  return global.filter((f) => types.has(f.ctType));
}

/**
 * The filter for a content type: an exact VerCT match first, then one without VerCT, then any of
 * that type (1.1 CTCaps carry no VerCT).
 */
export function selectFilter(filters: readonly FieldFilter[], ctType: string, verCt?: string): FieldFilter | undefined {
  const t = ctType.toLowerCase();
  const same = filters.filter((f) => f.ctType === t);
  return (
    (verCt !== undefined ? same.find((f) => f.verCt === verCt) : undefined) ??
    same.find((f) => f.verCt === undefined) ??
    same[0]
  );
}

/** Aliases between the contact model's names and what devices list (`X-ANNIVERSARY`). */
const ALIASES: Record<string, string[]> = { ANNIVERSARY: ['X-ANNIVERSARY'] };

/** The capability for a property name: exact name, alias, then the longest `PREFIX*` wildcard. */
export function capFor(filter: FieldFilter, name: string): PropertyCap | undefined {
  const up = name.toUpperCase();
  const exact = filter.properties[up];
  if (exact) return exact;
  for (const a of ALIASES[up] ?? []) if (filter.properties[a]) return filter.properties[a];
  let best: string | undefined;
  for (const key of Object.keys(filter.properties)) {
    if (key.endsWith('*') && up.startsWith(key.slice(0, -1)) && (best === undefined || key.length > best.length)) best = key;
  }
  return best === undefined ? undefined : filter.properties[best];
}
