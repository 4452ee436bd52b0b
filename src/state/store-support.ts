// Helpers shared by the state store implementations: input checks (so a bad entry is refused
// before anything is written), the compact map-entry encoding, and the device list order.
import type { DeviceKey, MapEntry, SavedAnchors } from './state-store.js';

export function checkMapEntry(e: MapEntry): void {
  if (typeof e.luid !== 'string' || typeof e.guid !== 'string' || typeof e.etag !== 'string') {
    throw new TypeError('map entry needs string luid, guid and etag');
  }
  if (e.hash !== undefined && typeof e.hash !== 'string') throw new TypeError('map entry hash must be a string');
  if (e.fields !== undefined && typeof e.fields !== 'string') throw new TypeError('map entry fields must be a string');
}

export function checkMapEntries(entries: readonly MapEntry[]): void {
  for (const e of entries) checkMapEntry(e);
}

export function checkAnchors(a: SavedAnchors): void {
  if (typeof a.client !== 'string' || typeof a.server !== 'string') throw new TypeError('anchors must be strings');
}

export function checkTtl(ttlSeconds: number): void {
  if (!(ttlSeconds > 0) || !Number.isFinite(ttlSeconds)) throw new TypeError(`bad TTL ${ttlSeconds}`);
}

/** Page size of `scanSessionFields` when the caller gives none. */
export const DEFAULT_SCAN_PAGE = 500;

export function checkPageSize(pageSize: number): void {
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new TypeError(`bad page size ${pageSize}`);
}

export function checkSessionFields(fields: ReadonlyArray<readonly [string, string]>): void {
  for (const f of fields) {
    if (!Array.isArray(f) || typeof f[0] !== 'string' || typeof f[1] !== 'string') {
      throw new TypeError('session fields must be [string, string] pairs');
    }
  }
}

export function checkStrings(values: readonly string[], what: string): void {
  if (!values.every((v) => typeof v === 'string')) throw new TypeError(`${what} must be strings`);
}

/** `[guid, etag]`, `[guid, etag, hash]` or `[guid, etag, hash, fields]`: about half the bytes of an object with field names. */
export function encodeMapValue(e: MapEntry): string {
  if (e.fields !== undefined) return JSON.stringify([e.guid, e.etag, e.hash ?? null, e.fields]);
  return JSON.stringify(e.hash === undefined ? [e.guid, e.etag] : [e.guid, e.etag, e.hash]);
}

export function decodeMapValue(luid: string, value: string): MapEntry {
  const v: unknown = JSON.parse(value);
  if (!Array.isArray(v) || typeof v[0] !== 'string' || typeof v[1] !== 'string') {
    throw new Error(`corrupt map entry for LUID ${luid}`);
  }
  const entry: MapEntry = { luid, guid: v[0], etag: v[1] };
  if (typeof v[2] === 'string') entry.hash = v[2];
  if (typeof v[3] === 'string') entry.fields = v[3];
  return entry;
}

export function compareDevices(a: DeviceKey, b: DeviceKey): number {
  return a.account < b.account ? -1 : a.account > b.account ? 1 : a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0;
}
