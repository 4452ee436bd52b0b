// Which format a device datastore gets and which fields it can store: from its DevInf (RxPref,
// Rx, CTCap), corrected by a matching device profile (config/devices). Alert and Put use it.
import { normaliseUri } from '../accounts/mappings.js';
import type { ItemKind } from '../datastores/datastore.js';
import { effectiveFilter, matchDeviceProfile, type DeviceProfile, type FieldFilter } from '../convert/filters/index.js';
import type { DatastoreSessionState, DeviceFormat, ItemTranslator } from '../sync/types.js';
import { SERVER_FORMATS, type DeviceInfo } from './devinf.js';

/** The device's preferred format the translator accepts, else the server's preferred one. */
export function chooseDeviceFormat(kind: ItemKind, tr: ItemTranslator, info: DeviceInfo | undefined, clientUri: string): DeviceFormat {
  const accepts = (f: DeviceFormat | undefined): f is DeviceFormat => !!f && tr.deviceFormats.some((t) => t.type.toLowerCase() === f.type.toLowerCase());
  const devDs = info?.datastores.find((d) => normaliseUri(d.sourceRef) === normaliseUri(clientUri));
  if (devDs) {
    if (accepts(devDs.rxPref)) return devDs.rxPref;
    const rx = devDs.rx.find(accepts);
    if (rx) return rx;
  }
  return SERVER_FORMATS[kind]!.pref;
}

/** The field filter for a device datastore: its CTCap, corrected by a matching device profile. */
export function filterFor(profiles: readonly DeviceProfile[], kind: ItemKind, info: DeviceInfo | undefined, clientUri: string, format: DeviceFormat): FieldFilter | undefined {
  if (kind === 'notes') return undefined;
  const devDs = info?.datastores.find((d) => normaliseUri(d.sourceRef) === normaliseUri(clientUri));
  const identity = { ...(info?.man ? { man: info.man } : {}), ...(info?.mod ? { mod: info.mod } : {}), ...(info?.fwV ? { fwV: info.fwV } : {}), ...(info?.swV ? { swV: info.swV } : {}) };
  const profile = matchDeviceProfile(profiles, identity);
  return effectiveFilter(devDs?.filters ?? [], profile, format.type, format.version);
}

/** Set (or clear) a datastore's field filter. */
export function applyFilter(ds: DatastoreSessionState, filter: FieldFilter | undefined): void {
  if (filter) ds.filter = filter;
  else delete ds.filter;
}
