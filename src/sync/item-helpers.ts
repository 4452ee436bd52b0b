// Small pure helpers of the sync engine: item UIDs, device field digests, counts and dates.
import { createHash } from 'node:crypto';
import type { DatastoreKey } from '../state/state-store.js';
import type { DatastoreSessionState, DeviceFormat, ItemTranslator, OutgoingChange, PreparedOutgoing } from './types.js';

/** Server items are read in multiget batches of this size. */
export const FETCH_BATCH = 50;

/** Per-field digests of a device item (`MapEntry.fields`), when its translator makes them. */
export type DeviceFields = { fields?: string };

/** Field digests of an item as the device has it, for `MapEntry.fields` (none if unsupported). */
export function fieldsOf(tr: ItemTranslator, deviceData: string, format: DeviceFormat): DeviceFields {
  try {
    const fields = tr.fieldDigests?.(deviceData, format);
    return fields !== undefined ? { fields } : {};
  } catch {
    return {};
  }
}

/** The translator's one-parse `prepareOutgoing`, or the same from its `hash` and `toDevice`. */
export function prepareOutgoing(tr: ItemTranslator, serverData: string): PreparedOutgoing {
  return tr.prepareOutgoing?.(serverData) ?? { hash: tr.hash(serverData), toDevice: (to, filter) => tr.toDevice(serverData, to, filter) };
}

export function isFullSync(s: DatastoreSessionState): boolean {
  return s.mode === 'slow' || s.mode === 'refresh-from-client';
}

export function safeDate(f: () => Date | undefined): Date | undefined {
  try {
    const d = f();
    return d && !Number.isNaN(d.getTime()) ? d : undefined;
  } catch {
    return undefined;
  }
}

export function stableUid(key: DatastoreKey, luid: string): string {
  return `sgw-${createHash('sha256').update(`${key.account}\u0000${key.deviceId}\u0000${key.datastore}\u0000${luid}`).digest('hex').slice(0, 32)}`;
}

/** Insert `UID:` after the first BEGIN of the item's main component when it has none. */
export function withUid(data: string, uid: string): string {
  if (/^UID[;:]/im.test(data)) return data;
  return data.replace(/^(BEGIN:(?:VCARD|VEVENT|VTODO|VJOURNAL)\r?\n)/im, `$1UID:${uid}\r\n`);
}

/** A duplicate must not share the original's UID (CardDAV/CalDAV servers refuse that). */
export function stripUid(data: string): string {
  return data.replace(/^UID[;:].*\r?\n/gim, '');
}

export function count(changes: OutgoingChange[], op: OutgoingChange['op']): number {
  return changes.filter((c) => c.op === op).length;
}
